"""Fourier series: a waveform rebuilt from N harmonics, recomputed in numpy as the sliders move."""
import numpy as np

from docsync.layouts import column, row
from docsync.models import ColumnDataSource, Div, Select, Slider
from docsync.plotting import curdoc, figure

doc = curdoc()
x = np.linspace(-2 * np.pi, 2 * np.pi, 2000)


def target(kind: str, t: np.ndarray) -> np.ndarray:
    """The exact waveform (period 2π, amplitude 1)."""
    phase = np.mod(t, 2 * np.pi)
    if kind == "square":
        return np.where(phase < np.pi, 1.0, -1.0)
    if kind == "sawtooth":
        return phase / np.pi - 1.0
    return 1.0 - 2.0 * np.abs(phase / np.pi - 1.0)          # triangle


def series(kind: str, t: np.ndarray, n: int) -> np.ndarray:
    """Partial Fourier sum with n terms (vectorised over harmonics)."""
    k = np.arange(1, n + 1)[:, None]
    if kind == "square":
        odd = 2 * k - 1
        return (4 / np.pi) * np.sum(np.sin(odd * t) / odd, axis=0)
    if kind == "sawtooth":
        return -(2 / np.pi) * np.sum(np.sin(k * t) / k, axis=0)
    odd = 2 * k - 1
    return -(8 / np.pi ** 2) * np.sum(np.cos(odd * t) / odd ** 2, axis=0)


exact = ColumnDataSource(data=dict(x=x, y=target("square", x)))
approx = ColumnDataSource(data=dict(x=x, y=series("square", x, 5)))

plot = figure(title="Fourier series", width=800, height=420, y_range=(-2.5, 2.5))
plot.line("x", "y", source=exact, color="gray", line_width=2, line_dash="dashed")
plot.line("x", "y", source=approx, color="navy", line_width=3)

kind = Select(title="Waveform", value="square", options=["square", "sawtooth", "triangle"])
harmonics = Slider(title="Harmonics", start=1, end=60, value=5, step=1, format="0")
amplitude = Slider(title="Amplitude", start=0.1, end=2.0, value=1.0, step=0.05)
frequency = Slider(title="Frequency", start=0.25, end=4.0, value=1.0, step=0.25)
offset = Slider(title="Offset", start=-1.0, end=1.0, value=0.0, step=0.05)
info = Div(text="")


def update(attr=None, old=None, new=None):
    t = frequency.value * x
    a, b = amplitude.value, offset.value
    y_exact = a * target(kind.value, t) + b
    y = a * series(kind.value, t, int(harmonics.value)) + b
    exact.data = dict(x=x, y=y_exact)
    approx.data = dict(x=x, y=y)
    error = float(np.sqrt(np.mean((y - y_exact) ** 2)))
    info.text = (f"{int(harmonics.value)} harmonics of a {kind.value} wave · "
                 f"RMS error <b>{error:.3f}</b> · 2,000 points recomputed per change")


for widget in (harmonics, amplitude, frequency, offset):
    widget.on_change("value", update)
kind.on_change("value", update)
update()

doc.add_root(row(column(kind, harmonics, amplitude, frequency, offset, info, width=300), plot))
doc.title = "Fourier series"
