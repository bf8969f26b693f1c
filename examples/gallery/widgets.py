"""Widgets tour: every widget in docsync.models, each one changing the plot beside it."""
import numpy as np

from docsync.layouts import column, row
from docsync.models import (Button, CheckboxGroup, ColumnDataSource, CustomJS, DataTable, Div,
                            Paragraph, PreText, RadioGroup, RangeSlider, Select, Slider,
                            TableColumn, TextInput, Toggle)
from docsync.plotting import curdoc, figure

doc = curdoc()
x = np.linspace(0, 10, 400)
rng = np.random.default_rng(1)
state = dict(phase=0.0)

curve = ColumnDataSource(data=dict(x=x, y=np.sin(x)))
samples = ColumnDataSource(data=dict(x=x[::40], y=np.sin(x[::40])))

plot = figure(title="A sine wave", width=700, height=420, x_range=(0, 10), y_range=(-3, 3))
line = plot.line("x", "y", source=curve, line_width=3, color="navy")
points = plot.scatter("x", "y", source=samples, size=10, color="firebrick", marker="circle")
band = plot.line("x", "y", source=ColumnDataSource(data=dict(x=[0, 10], y=[0, 0])),
                 color="gray", line_dash="dotted")

# ---- the widgets --------------------------------------------------------------------------
title = TextInput(title="Plot title (TextInput)", value="A sine wave")
freq = Slider(title="Frequency (Slider)", start=0.1, end=5, value=1, step=0.1)
amp = Slider(title="Amplitude (Slider)", start=0, end=3, value=1, step=0.05)
window = RangeSlider(title="Visible x (RangeSlider → CustomJS)", start=0, end=10, value=(0, 10),
                     step=0.1)
color = Select(title="Line color (Select)", value="navy",
               options=["navy", "firebrick", "seagreen", "darkorange", "purple"])
dash = RadioGroup(labels=["solid", "dashed", "dotted"], active=0)
shown = CheckboxGroup(labels=["curve", "samples", "zero line"], active=[0, 1, 2])
thick = Toggle(label="Thick line (Toggle)", active=True, button_type="primary")
shuffle = Button(label="Random phase (Button)", button_type="success")

heading = Div(text="<h3>Widgets tour</h3><p>Every control below changes the plot; "
                   "the callbacks run in Python on the server.</p>")
note = Paragraph(text="Line style (RadioGroup) and layers (CheckboxGroup):")
stats = PreText(text="", width=260)
table = DataTable(source=samples, width=260, height=280,
                  columns=[TableColumn(field="x", title="x"), TableColumn(field="y", title="y")])


def recompute():
    y = amp.value * np.sin(freq.value * x + state["phase"])
    curve.data = dict(x=x, y=y)
    xs = x[::40]
    samples.data = dict(x=xs, y=amp.value * np.sin(freq.value * xs + state["phase"]))
    stats.text = (f"frequency {freq.value:5.2f}\namplitude {amp.value:5.2f}\n"
                  f"phase     {state['phase']:5.2f}\nmax y     {y.max():5.2f}\n"
                  f"min y     {y.min():5.2f}")


def on_phase():
    state["phase"] = float(rng.uniform(0, 2 * np.pi))
    recompute()


title.on_change("value", lambda attr, old, new: setattr(plot.title, "text", new))
freq.on_change("value", lambda attr, old, new: recompute())
amp.on_change("value", lambda attr, old, new: recompute())
shuffle.on_click(on_phase)


def on_color(attr, old, new):
    line.glyph.line_color = new


def on_dash(attr, old, new):
    line.glyph.line_dash = ["solid", "dashed", "dotted"][new or 0]


def on_shown(attr, old, new):
    for i, renderer in enumerate([line, points, band]):
        renderer.visible = i in new


def on_thick(attr, old, new):
    line.glyph.line_width = 3 if new else 1
    thick.label = "Thick line (Toggle)" if new else "Thin line (Toggle)"


# The range slider acts in the browser, with no round trip: CustomJS sets the x range,
# whose start/end are client-writable, so the server's copy follows too.
window.js_on_change("value", CustomJS(args=dict(xr=plot.x_range), code="""
    xr.start = cb_obj.value[0];
    xr.end = cb_obj.value[1];
"""))
color.on_change("value", on_color)
dash.on_change("active", on_dash)
shown.on_change("active", on_shown)
thick.on_change("active", on_thick)

recompute()
controls = column(title, freq, amp, window, color, note, dash, shown, thick, shuffle, width=300)
doc.add_root(column(heading, row(controls, plot, column(stats, table))))
doc.title = "Widgets tour"
