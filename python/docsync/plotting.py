"""``figure()`` and its glyph methods, plus what the seed imports from ``bokeh.plotting``
(``curdoc``, ``show``, ``output_server``, ``vplot``, ``hplot``).

    p = figure(title="Server Plot", x_range=(0, 100), tools="pan,reset")
    r = p.line([1, 2, 3], [4, 5, 6], color="navy", line_width=2, legend_label="a line")
    r.glyph.line_alpha = 0.5          # r.glyph, r.data_source as in Bokeh
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

import numpy as np

from docsync.document import _autoadd, curdoc
from docsync.io import output_server, push, reset_output, show
from docsync.layouts import column, gridplot, hplot, layout, row, vplot
from docsync.models import (
    CategoricalAxis,
    CategoricalScale,
    ColumnDataSource,
    DataRange1d,
    DatetimeAxis,
    FactorRange,
    Grid,
    HoverTool,
    LinearAxis,
    LinearScale,
    LogAxis,
    LogScale,
    Plot,
    Range,
    Range1d,
    Tool,
)
from docsync.models.tools import TOOL_NAMES
from docsync.properties import _is_pandas_series, to_ms

__all__ = [
    "figure", "Figure", "curdoc", "show", "output_server", "push", "reset_output", "vplot",
    "hplot", "row", "column", "gridplot", "layout", "ColumnDataSource", "DEFAULT_TOOLS",
]

DEFAULT_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
def _to_range(r: Any, what: str) -> Range:
    if r is None:
        return DataRange1d()
    if isinstance(r, Range):
        return r
    if _is_pandas_series(r) or isinstance(r, np.ndarray):
        r = list(r)
    if isinstance(r, (list, tuple)):
        if r and all(isinstance(v, str) for v in r):
            return FactorRange(factors=list(r))
        if len(r) == 2:
            return Range1d(start=r[0], end=r[1])
    raise ValueError(f"{what} must be a Range, a (start, end) pair or a list of factors, got {r!r}")


def _axis_class(axis_type: str | None, rng: Range, given: Any) -> type | None:
    if axis_type is None:
        return None
    if axis_type == "auto":
        if isinstance(rng, FactorRange):
            return CategoricalAxis
        if isinstance(given, (list, tuple)) and any(to_ms(v) is not None for v in given):
            return DatetimeAxis
        return LinearAxis
    try:
        return {"linear": LinearAxis, "log": LogAxis, "datetime": DatetimeAxis, "mercator": LinearAxis}[axis_type]
    except KeyError:
        raise ValueError(f"axis type must be 'linear', 'log', 'datetime', 'auto' or None, got {axis_type!r}") from None


def _scale(axis_class: type | None, rng: Range) -> Any:
    if isinstance(rng, FactorRange):
        return CategoricalScale()
    if axis_class is LogAxis:
        return LogScale()
    return LinearScale()


def _tools(tools: Any) -> list[Tool]:
    if tools is None or tools == "":
        return []
    items: Sequence[Any]
    if isinstance(tools, str):
        items = [t.strip() for t in tools.replace(" ", ",").split(",") if t.strip()]
    elif isinstance(tools, (list, tuple)):
        items = tools
    else:
        raise ValueError(f"tools must be a comma-separated str or a list, got {tools!r}")
    out: list[Tool] = []
    for t in items:
        if isinstance(t, Tool):
            out.append(t)
        elif isinstance(t, str):
            make = TOOL_NAMES.get(t)
            if make is None:
                close = difflib.get_close_matches(t, list(TOOL_NAMES), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(TOOL_NAMES)})"
                raise ValueError(f"unknown tool {t!r}{hint}")
            out.append(make())
        else:
            raise ValueError(f"a tool is a name or a Tool instance, got {t!r}")
    return out


class Figure(Plot):
    """A Plot with axes, grids, tools and glyph methods (what ``figure()`` returns). Its
    engine type is ``Plot``."""

    __type_name__ = "Plot"

    def __init__(self, *args: Any, **kw: Any) -> None:
        if args:
            raise TypeError("figure() takes keyword arguments only")
        if "plot_width" in kw:
            kw["width"] = kw.pop("plot_width")
        if "plot_height" in kw:
            kw["height"] = kw.pop("plot_height")
        title = kw.pop("title", None)
        x_range_arg = kw.pop("x_range", None)
        y_range_arg = kw.pop("y_range", None)
        x_axis_type = kw.pop("x_axis_type", "auto")
        y_axis_type = kw.pop("y_axis_type", "auto")
        x_axis_location = kw.pop("x_axis_location", "below")
        y_axis_location = kw.pop("y_axis_location", "left")
        x_axis_label = kw.pop("x_axis_label", None)
        y_axis_label = kw.pop("y_axis_label", None)
        tools = kw.pop("tools", DEFAULT_TOOLS)
        tooltips = kw.pop("tooltips", None)
        toolbar_kw = {k: kw.pop(k) for k in ("active_drag", "active_scroll", "active_tap") if k in kw}
        for k in ("x_minor_ticks", "y_minor_ticks", "match_aspect", "aspect_scale", "output_backend", "webgl"):
            kw.pop(k, None)
        super().__init__(**kw)
        if title is not None:
            self.title = title
        self.x_range = _to_range(x_range_arg, "x_range")
        self.y_range = _to_range(y_range_arg, "y_range")
        for dim, rng, given, axis_type, location, label in (
            (0, self.x_range, x_range_arg, x_axis_type, x_axis_location, x_axis_label),
            (1, self.y_range, y_range_arg, y_axis_type, y_axis_location, y_axis_label),
        ):
            axis_cls = _axis_class(axis_type, rng, given)
            scale = _scale(axis_cls, rng)
            if dim == 0:
                self.x_scale = scale
            else:
                self.y_scale = scale
            if axis_cls is None:
                continue
            axis = axis_cls()
            if label is not None:
                axis.axis_label = label
            if location is not None:
                self.add_layout(axis, location)
            self.add_layout(Grid(dimension=dim, axis=axis, ticker=axis.ticker), "center")
        tool_list = _tools(tools)
        if tooltips is not None:
            hover = next((t for t in tool_list if isinstance(t, HoverTool)), None)
            if hover is None:
                hover = HoverTool()
                tool_list.append(hover)
            hover.tooltips = tooltips
        self.toolbar.tools = tool_list
        for k, v in toolbar_kw.items():
            if isinstance(v, str) and v != "auto":
                v = next((t for t in tool_list if type(t) is type(TOOL_NAMES[v]())), v) if v in TOOL_NAMES else v
            setattr(self.toolbar, k, v)
        _autoadd(self)


def figure(**kwargs: Any) -> Figure:
    """A new plot with axes, grids and tools, ready for glyph methods. Keyword args:
    ``title``, ``x_range``/``y_range`` (a Range, a (start, end) pair, or a list of
    factors), ``width``/``height``, ``x_axis_type``/``y_axis_type`` ("linear", "log",
    "datetime", "auto", None), ``x_axis_label``/``y_axis_label``, ``tools`` (a str like
    "pan,wheel_zoom" or a list), ``tooltips``, ``toolbar_location``, and any Plot
    property (``background_fill_color``, ``sizing_mode``, ...)."""
    return Figure(**kwargs)

