"""Shared session: open /shared?docsync-session-id=shared in several tabs — one stream, everyone's edits."""
import time

import numpy as np

from docsync.layouts import column, row
from docsync.models import Button, ColumnDataSource, Div, Slider, TextInput
from docsync.plotting import curdoc, figure

# Every tab that opens the same session id is connected to this one document: the periodic
# callback below runs once per session (not once per tab), and a change made in one tab is
# applied on the server and sent to every other tab of the session (never echoed back).
doc = curdoc()
rng = np.random.default_rng()

signal = ColumnDataSource(data=dict(t=np.array([], dtype="datetime64[ms]"), value=np.array([])),
                          name="signal")
marks = ColumnDataSource(data=dict(x=[], y=[], label=[]))
limit = ColumnDataSource(data=dict(x=[0.0, 1.0], y=[1.0, 1.0]))

plot = figure(title="One stream, seen by every tab of the session", width=800, height=380,
              x_axis_type="datetime", tools="pan,wheel_zoom,reset")
plot.line("t", "value", source=signal, line_width=2, color="navy")
plot.line("x", "y", source=limit, color="firebrick", line_dash="dashed", line_width=2)
plot.scatter("x", "y", source=marks, size=14, color="orange", line_color="black",
             marker="star")
plot.text("x", "y", text="label", source=marks, x_offset=10, text_font_size="12px")

note = TextInput(title="Shared note (type here, watch the other tabs)", value="", width=380)
threshold = Slider(title="Alarm level (dashed line)", start=-3, end=3, value=1, step=0.1,
                   width=380)
clear = Button(label="Clear marks", button_type="danger")
board = Div(text="", width=800)
context = getattr(doc, "session_context", None)     # None under `docsync json`
session_id = context.id if context is not None else "?"
howto = Div(text=f"<p>This tab is in session <code>{session_id}</code>. Open "
                 "<a href='?docsync-session-id=shared' target='_blank'>"
                 "<code>/shared?docsync-session-id=shared</code></a> in two tabs: both see the "
                 "same stream, and a note, a slider move, a tap on the plot (it drops a mark) "
                 "or a click on <i>Clear marks</i> in one tab shows up in the other.</p>",
            width=800)

ROLLOVER = 300
state = dict(value=0.0, alarms=0, times=[])


def tick():
    state["value"] = 0.95 * state["value"] + rng.normal(0.0, 0.35)
    now = time.time_ns() // 1_000_000          # ms since the epoch
    signal.stream(dict(t=np.array([now], dtype="datetime64[ms]"),
                       value=np.array([state["value"]])), rollover=ROLLOVER)
    times = state["times"]
    times.append(now)
    del times[:-ROLLOVER]
    limit.data = dict(x=[times[0], now], y=[threshold.value, threshold.value])
    if state["value"] > threshold.value:
        state["alarms"] += 1
    refresh_board()


def refresh_board():
    board.text = (f"Note: <b>{note.value or '—'}</b> · alarm level {threshold.value:.1f} · "
                  f"{state['alarms']} ticks above it · {len(marks.data['x'])} marks")


def on_tap(event):
    data = marks.data
    marks.stream(dict(x=[event.x], y=[event.y], label=[f"#{len(data['x']) + 1}"]))
    refresh_board()


def on_clear():
    marks.data = dict(x=[], y=[], label=[])
    refresh_board()


note.on_change("value", lambda attr, old, new: refresh_board())
threshold.on_change("value", lambda attr, old, new: refresh_board())
plot.on_event("tap", on_tap)
clear.on_click(on_clear)
doc.add_periodic_callback(tick, 250)
refresh_board()

doc.add_root(column(howto, row(note, threshold, clear), board, plot))
doc.title = "Shared session"
