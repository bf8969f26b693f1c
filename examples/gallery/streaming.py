"""Live dashboard: three sources streamed every 200 ms with rollover, on linked datetime axes."""
import time

import numpy as np

from docsync.layouts import column, row
from docsync.models import Button, ColumnDataSource, Div, Slider
from docsync.plotting import curdoc, figure

ROLLOVER = 600          # rows kept per source: the browser and the server both keep only these
PERIOD_MS = 200         # one stream per source per tick; all three travel in one message

rng = np.random.default_rng()


def now() -> np.ndarray:
    """The current time as a one-row datetime64[ms] column (sent as 8 raw bytes)."""
    return np.array([time.time_ns() // 1_000_000], dtype="datetime64[ms]")


# ---- three data sources, all starting empty -------------------------------------------
prices = ColumnDataSource(data=dict(time=np.array([], dtype="datetime64[ms]"),
                                    price=np.array([]), average=np.array([])))
volume = ColumnDataSource(data=dict(time=np.array([], dtype="datetime64[ms]"),
                                    volume=np.array([]), color=[]))
trades = ColumnDataSource(data=dict(time=np.array([], dtype="datetime64[ms]"),
                                    price=np.array([]), size=np.array([])))

# ---- plots: the lower plot shares the upper plot's x range -----------------------------
price_plot = figure(title="Price (random walk) and 20-tick average", height=320, width=900,
                    x_axis_type="datetime", tools="pan,wheel_zoom,box_zoom,reset,save",
                    toolbar_location="above", min_border_left=60)
price_plot.x_range.follow = "end"
price_plot.x_range.follow_interval = ROLLOVER * PERIOD_MS
price_plot.line(x="time", y="price", source=prices, color="navy", line_width=2)
price_plot.line(x="time", y="average", source=prices, color="orange", line_width=2,
                line_dash="dashed")
price_plot.scatter(x="time", y="price", size="size", source=trades, color="firebrick",
                   alpha=0.6, marker="circle")

volume_plot = figure(title="Volume", height=200, width=900, x_axis_type="datetime",
                     x_range=price_plot.x_range, tools="", min_border_left=60)
volume_plot.vbar(x="time", top="volume", width=PERIOD_MS * 0.8, source=volume,
                 fill_color="color", line_color=None)

# ---- controls and a status line ---------------------------------------------------------
volatility = Slider(title="Volatility", start=0.01, end=2.0, value=0.3, step=0.01)
pause = Button(label="Pause", button_type="warning")
status = Div(text="")

doc = curdoc()   # captured once: callbacks use this session's document directly
state = dict(price=100.0, ticks=0, rows=0, callback=None, window=[])


def tick():
    """Append one row to every source (and a trade now and then); rollover keeps them bounded."""
    t = now()
    state["price"] += rng.normal(0.0, volatility.value)
    window = state["window"]
    window.append(state["price"])
    del window[:-20]
    prices.stream(dict(time=t, price=np.array([state["price"]]),
                       average=np.array([float(np.mean(window))])), rollover=ROLLOVER)
    up = len(window) < 2 or window[-1] >= window[-2]
    volume.stream(dict(time=t, volume=np.array([rng.gamma(2.0, 50.0)]),
                       color=["seagreen" if up else "crimson"]), rollover=ROLLOVER)
    if rng.random() < 0.15:
        trades.stream(dict(time=t, price=np.array([state["price"]]),
                           size=np.array([rng.uniform(5, 20)])), rollover=ROLLOVER // 4)
    state["ticks"] += 1
    status.text = (f"<b>{state['ticks']}</b> ticks streamed · last price "
                   f"<b>{state['price']:.2f}</b> · {len(prices.data['time'])} rows kept")


def toggle_pause():
    if state["callback"] is None:
        state["callback"] = doc.add_periodic_callback(tick, PERIOD_MS)
        pause.label, pause.button_type = "Pause", "warning"
    else:
        doc.remove_periodic_callback(state["callback"])
        state["callback"] = None
        pause.label, pause.button_type = "Resume", "success"


pause.on_click(toggle_pause)
state["callback"] = doc.add_periodic_callback(tick, PERIOD_MS)

doc.add_root(column(row(volatility, pause), status, price_plot, volume_plot))
doc.title = "Streaming dashboard"
