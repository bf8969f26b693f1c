"""The seed's animated push_session script: the document lives in this process and is synced
to a running `docsync serve`; the periodic callback runs here and every change is pushed.

Start a server first (`docsync serve`), then run `python examples/client/animated_push.py`.
"""
import numpy as np
from numpy import pi

from docsync.client import push_session
from docsync.driving import cosine
from docsync.plotting import figure, curdoc

x = np.linspace(0, 4*pi, 80)
y = np.sin(x)

p = figure()
r1 = p.line([0, 4*pi], [-1, 1], color="firebrick")
r2 = p.line(x, y, color="navy", line_width=4)

# open a session to keep our local document in sync with server
session = push_session(curdoc())

@cosine(w=0.03)
def update(step):
    r2.data_source.data["y"] = y * step
    r2.glyph.line_alpha = 1 - 0.8 * abs(step)

curdoc().add_periodic_callback(update, 50)

session.show() # open the document in a browser

session.loop_until_closed() # run forever
