"""A million points: 1,000,000 float32 points sent once as raw binary; pan and zoom recount in numpy."""
import numpy as np

from docsync.layouts import column, row
from docsync.models import ColumnDataSource, Div, Range1d
from docsync.plotting import curdoc, figure

N = 1_000_000
doc = curdoc()
rng = np.random.default_rng(42)

# Five Gaussian clusters; float32 halves the bytes on the wire (8 MB for x and y together).
centers = np.array([[-2.0, -1.0], [1.5, 2.0], [3.0, -2.0], [0.0, 0.5], [-3.0, 2.5]])
scales = np.array([0.6, 0.4, 0.8, 1.2, 0.3])
cluster = rng.integers(0, len(centers), N)
xy = (centers[cluster] + rng.normal(size=(N, 2)) * scales[cluster, None]).astype(np.float32)
x, y = xy[:, 0].copy(), xy[:, 1].copy()

source = ColumnDataSource(data=dict(x=x, y=y))
x_range, y_range = Range1d(-6, 6), Range1d(-5, 5)

plot = figure(title=f"{N:,} points — drag to pan, scroll to zoom", width=750, height=600,
              x_range=x_range, y_range=y_range, tools="pan,wheel_zoom,box_zoom,reset,save")
plot.scatter("x", "y", source=source, size=1, color="navy", alpha=0.05, marker="square")

# A histogram of the x values of the points in view, recomputed on the server.
BINS = 60
hist_source = ColumnDataSource(data=dict(left=np.zeros(BINS), right=np.zeros(BINS),
                                         top=np.zeros(BINS)))
hist = figure(title="x histogram of the points in view", width=450, height=300, tools="")
hist.quad(left="left", right="right", top="top", bottom=0, source=hist_source,
          fill_color="steelblue", line_color="white")
readout = Div(text="", width=450)


def recount(attr=None, old=None, new=None):
    x0, x1 = sorted((x_range.start, x_range.end))
    y0, y1 = sorted((y_range.start, y_range.end))
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    visible = x[inside]
    counts, edges = np.histogram(visible, bins=BINS, range=(x0, x1))
    hist_source.data = dict(left=edges[:-1], right=edges[1:], top=counts.astype(np.float64))
    readout.text = (f"<b>{inside.sum():,}</b> of {N:,} points in view "
                    f"(x {x0:.2f} … {x1:.2f}, y {y0:.2f} … {y1:.2f})")


for rng_ in (x_range, y_range):
    rng_.on_change("start", recount)
    rng_.on_change("end", recount)
recount()

doc.add_root(row(plot, column(readout, hist)))
doc.title = "A million points"
