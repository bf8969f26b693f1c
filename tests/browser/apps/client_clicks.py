"""Browser test app: a button whose Python callback changes a Div and a Slider, and a
slider whose on_change callback is slow (250 ms) and counts its calls (so a drag shows how
many changes reached Python)."""
import time

from docsync.layouts import column
from docsync.models import Button, Div, Slider
from docsync.plotting import curdoc

state = {"clicks": 0, "calls": 0}

button = Button(label="Click me", button_type="primary", name="click-button")
clicks = Div(text="clicks: 0", name="clicks")
moved = Slider(title="Moved by Python", start=0, end=10, value=0, step=1, name="moved")

drag = Slider(title="Drag me", start=0, end=1000, value=0, step=1, width=500, name="drag")
calls = Div(text="calls: 0 value: 0", name="calls")


def on_click() -> None:
    state["clicks"] += 1
    clicks.text = f"clicks: {state['clicks']}"
    moved.value = min(10, state["clicks"] * 2)


def on_drag(attr, old, new) -> None:
    state["calls"] += 1
    time.sleep(0.25)  # a callback doing real work: changes pile up in the page meanwhile
    calls.text = f"calls: {state['calls']} value: {new:g}"


button.on_click(on_click)
drag.on_change("value", on_drag)

curdoc().add_root(column(button, clicks, moved, drag, calls))
curdoc().title = "client clicks"
