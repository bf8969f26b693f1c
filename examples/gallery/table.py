"""Linked table: select rows in a DataTable and they light up in the scatter; tap a point to select its row."""
import numpy as np

from docsync.layouts import column, row
from docsync.models import ColumnDataSource, DataTable, Div, NumberFormatter, StringFormatter, TableColumn
from docsync.plotting import curdoc, figure

doc = curdoc()
rng = np.random.default_rng(7)
N = 200
ELEMENTS = ["Fe", "Cu", "Zn", "Ni", "Co", "Mn", "Cr", "Ti"]

# One source behind both views: the table and the scatter share its selection.
source = ColumnDataSource(data=dict(
    name=[f"sample-{i:03d}" for i in range(N)],
    element=[ELEMENTS[i % len(ELEMENTS)] for i in range(N)],
    density=np.round(rng.uniform(2.0, 9.0, N), 2),
    hardness=np.round(rng.uniform(1.0, 8.0, N), 2),
))
highlight = ColumnDataSource(data=dict(density=[], hardness=[], name=[]))

table = DataTable(source=source, width=420, height=520, sortable=True, selectable=True,
                  columns=[TableColumn(field="name", title="Sample"),
                           TableColumn(field="element", title="Element",
                                       formatter=StringFormatter(font_style="bold")),
                           TableColumn(field="density", title="Density",
                                       formatter=NumberFormatter(format="0.00", text_align="right")),
                           TableColumn(field="hardness", title="Hardness",
                                       formatter=NumberFormatter(format="0.00", text_align="right"))])

plot = figure(title="Density vs hardness (tap a point to select it)", width=560, height=520,
              tools="pan,wheel_zoom,box_zoom,reset,save")
plot.xaxis.axis_label = "density (g/cm³)"
plot.yaxis.axis_label = "hardness (Mohs)"
plot.scatter("density", "hardness", source=source, size=8, color="gray", alpha=0.5,
             marker="circle")
plot.scatter("density", "hardness", source=highlight, size=14, fill_color="orange",
             line_color="black", marker="circle")
plot.text("density", "hardness", text="name", source=highlight, text_font_size="11px",
          x_offset=8, y_offset=-4, text_color="black")
summary = Div(text="Select rows in the table (click, shift-click) or tap points in the plot.")


def on_selection(attr, old, new):
    """Table selection → highlighted points and a summary, computed in Python."""
    indices = list(new)
    data = source.data
    density = np.asarray(data["density"])[indices]
    hardness = np.asarray(data["hardness"])[indices]
    highlight.data = dict(density=density, hardness=hardness,
                          name=[data["name"][i] for i in indices])
    if indices:
        summary.text = (f"<b>{len(indices)}</b> selected · mean density "
                        f"<b>{density.mean():.2f}</b> · mean hardness <b>{hardness.mean():.2f}</b>")
    else:
        summary.text = "Nothing selected."


def on_tap(event):
    """Plot tap → select the nearest sample (the table follows the same selection)."""
    data = source.data
    dx = (np.asarray(data["density"]) - event.x) / 7.0
    dy = (np.asarray(data["hardness"]) - event.y) / 7.0
    source.selected.indices = [int(np.argmin(dx * dx + dy * dy))]


source.selected.on_change("indices", on_selection)
plot.on_event("tap", on_tap)

doc.add_root(column(summary, row(table, plot)))
doc.title = "Linked table"
