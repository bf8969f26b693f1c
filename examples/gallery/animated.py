"""Animated line: the seed's push_session animation as a server app (a periodic callback every 50 ms)."""
import numpy as np
from numpy import pi

from docsync.driving import cosine
from docsync.plotting import figure, curdoc

x = np.linspace(0, 4*pi, 80)
y = np.sin(x)

p = figure(title="Animated line")
r1 = p.line([0, 4*pi], [-1, 1], color="firebrick")
r2 = p.line(x, y, color="navy", line_width=4)


@cosine(w=0.03)
def update(step):
    # one new column and one property per tick: both travel in a single patch
    r2.data_source.data["y"] = y * step
    r2.glyph.line_alpha = 1 - 0.8 * abs(step)


curdoc().add_periodic_callback(update, 50)
curdoc().add_root(p)
curdoc().title = "Animated line"
