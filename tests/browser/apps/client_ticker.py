"""Browser test app: a TextInput the person types into while a periodic callback keeps
changing other widgets (a Div, a Slider, a Select) from Python."""
from docsync.layouts import column
from docsync.models import Div, Select, Slider, TextInput
from docsync.plotting import curdoc

doc = curdoc()
state = {"ticks": 0}

text = TextInput(title="Type here", value="", name="typing")
echo = Div(text="echo: ", name="echo")
ticks = Div(text="ticks: 0", name="ticks")
level = Slider(title="Level", start=0, end=1000, value=0, step=1, name="level")
pick = Select(title="Pick", value="a", options=["a", "b", "c"], name="pick")


def tick() -> None:
    state["ticks"] += 1
    n = state["ticks"]
    ticks.text = f"ticks: {n}"
    level.value = n % 1000
    pick.value = "abc"[n % 3]


text.on_change("value", lambda attr, old, new: setattr(echo, "text", f"echo: {new}"))
doc.add_periodic_callback(tick, 100)
doc.add_root(column(text, echo, ticks, level, pick))
doc.title = "client ticker"
