"""``figure()`` and its glyph methods, plus what the seed imports from ``bokeh.plotting``
(``curdoc``, ``show``, ``output_server``, ``vplot``, ``hplot``).

    p = figure(title="Server Plot", x_range=(0, 100), tools="pan,reset")
    r = p.line([1, 2, 3], [4, 5, 6], color="navy", line_width=2, legend_label="a line")
    r.glyph.line_alpha = 0.5          # r.glyph, r.data_source as in Bokeh
"""

from __future__ import annotations

import datetime as _dt
import difflib
import numbers
from typing import Any, Sequence

import numpy as np

from docsync.document import _autoadd, curdoc
from docsync.errors import UnknownPropertyError
from docsync.io import output_server, push, reset_output, show
from docsync.layouts import column, gridplot, hplot, layout, row, vplot
from docsync.models import (
    BasicTicker,
    CategoricalAxis,
    CategoricalScale,
    Circle,
    ColumnDataSource,
    DataRange1d,
    DatetimeAxis,
    FactorRange,
    Glyph,
    GlyphRenderer,
    Grid,
    HBar,
    HoverTool,
    Image,
    Legend,
    LegendItem,
    Line,
    LinearAxis,
    LinearColorMapper,
    LinearScale,
    LogAxis,
    LogScale,
    MultiLine,
    Patches,
    Plot,
    Quad,
    Range,
    Range1d,
    Rect,
    Scatter,
    Text,
    Tool,
    VArea,
    VBar,
)
from docsync.models.tools import TOOL_NAMES
from docsync.properties import ColorSpec, DataSpec, _color_tuple_ok, _is_dataframe, _is_pandas_series, to_ms

__all__ = [
    "figure", "Figure", "curdoc", "show", "output_server", "push", "reset_output", "vplot",
    "hplot", "row", "column", "gridplot", "layout", "ColumnDataSource", "DEFAULT_TOOLS",
]

DEFAULT_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
_DEFAULT_COLOR = "#1f77b4"
_IGNORED_PREFIXES = ("hover_", "selection_", "nonselection_", "muted_")


def _is_column_value(v: Any, prop: Any) -> bool:
    """A glyph argument that becomes a column of the renderer's source."""
    if isinstance(v, tuple) and isinstance(prop, ColorSpec) and _color_tuple_ok(v):
        return False
    return isinstance(v, (list, tuple, np.ndarray, range)) or _is_pandas_series(v)


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

    # -- the glyph API -----------------------------------------------------------------
    def _glyph(self, cls: type[Glyph], args: tuple[Any, ...], kw: dict[str, Any], extra: dict[str, Any] | None = None) -> GlyphRenderer:
        props = cls._props
        if len(args) > len(cls._args):
            raise TypeError(f"{cls.__name__} takes at most {len(cls._args)} positional arguments ({', '.join(cls._args)}), got {len(args)}")
        for name, v in zip(cls._args, args):
            if name in kw:
                raise TypeError(f"{name} given twice (positionally and as a keyword)")
            kw[name] = v
        for k, v in (extra or {}).items():
            kw.setdefault(k, v)
        source = kw.pop("source", None)
        legend_label = kw.pop("legend_label", None)
        legend = kw.pop("legend", None)
        if legend is not None and legend_label is None and isinstance(legend, str):
            legend_label = legend
        renderer_kw = {k: kw.pop(k) for k in ("name", "visible", "level") if k in kw}
        for k in [k for k in kw if k.startswith(_IGNORED_PREFIXES)]:
            del kw[k]  # selection/hover/muted variants are not drawn by docsync
        kw.pop("view", None)
        color = kw.pop("color", None)
        alpha = kw.pop("alpha", None)
        if color is not None:
            for p in ("line_color", "fill_color", "text_color"):
                if p in props:
                    kw.setdefault(p, color)
        if alpha is not None:
            for p in ("line_alpha", "fill_alpha", "text_alpha"):
                if p in props:
                    kw.setdefault(p, alpha)
        if cls is not Text and cls is not Image:
            for p in ("line_color", "fill_color"):
                if p in props:
                    kw.setdefault(p, _DEFAULT_COLOR)

        user_source = source is not None
        if source is None:
            source = ColumnDataSource()
        elif isinstance(source, dict) or _is_dataframe(source):
            source = ColumnDataSource(data=source)
        elif not isinstance(source, ColumnDataSource):
            raise ValueError(f"source must be a ColumnDataSource, a dict or a DataFrame, got {source!r}")

        glyph_kw: dict[str, Any] = {}
        for k, v in kw.items():
            prop = props.get(k)
            if prop is None:
                close = difflib.get_close_matches(k, list(props) + ["color", "alpha", "source", "legend_label"], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UnknownPropertyError(f"{cls.__name__} glyph has no property {k!r}{hint}")
            if isinstance(prop, DataSpec) and _is_column_value(v, prop):
                name = k
                if user_source and name in source.data:
                    n = 1
                    while f"{k}_{n}" in source.data:
                        n += 1
                    name = f"{k}_{n}"
                if k == "image" and isinstance(v, np.ndarray) and v.ndim == 2:
                    v = [v]
                source.data[name] = v
                glyph_kw[k] = {"field": name}
            else:
                if (
                    user_source
                    and isinstance(prop, DataSpec)
                    and isinstance(v, str)
                    and not prop.str_is_value(v)
                    and v not in source.data
                ):
                    raise ValueError(
                        f"{cls.__name__}.{k}={v!r} names a column that the source does not have "
                        f"(its columns: {sorted(source.data)})"
                    )
                glyph_kw[k] = v
        glyph = cls(**glyph_kw)
        renderer = GlyphRenderer(data_source=source, glyph=glyph, **renderer_kw)
        self.renderers.append(renderer)
        if legend_label is not None:
            self._add_legend_item(str(legend_label), renderer)
        return renderer

    def _add_legend_item(self, label: str, renderer: GlyphRenderer) -> None:
        legends = self.legend
        if legends:
            lg = legends[0]
        else:
            lg = Legend()
            self.add_layout(lg, "center")
        for item in lg.items:
            if item.label == label:
                item.renderers.append(renderer)
                return
        lg.items.append(LegendItem(label=label, renderers=[renderer]))

    def line(self, *args: Any, **kw: Any) -> GlyphRenderer:
        """Lines through (x, y)."""
        return self._glyph(Line, args, kw)

    def scatter(self, *args: Any, **kw: Any) -> GlyphRenderer:
        """Markers at (x, y); ``marker="square"`` etc., ``size`` in pixels."""
        return self._glyph(Scatter, args, kw)

    def circle(self, *args: Any, **kw: Any) -> GlyphRenderer:
        """Circles at (x, y): ``radius`` in data units, else ``size`` in pixels."""
        return self._glyph(Circle, args, kw)

    def text(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(Text, args, kw)

    def vbar(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(VBar, args, kw)

    def hbar(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(HBar, args, kw)

    def quad(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(Quad, args, kw)

    def rect(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(Rect, args, kw)

    def multi_line(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(MultiLine, args, kw)

    def patches(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(Patches, args, kw)

    def varea(self, *args: Any, **kw: Any) -> GlyphRenderer:
        return self._glyph(VArea, args, kw)

    def image(self, *args: Any, **kw: Any) -> GlyphRenderer:
        """2-d arrays drawn through a palette: ``p.image(image=[a], x=0, y=0, dw=10,
        dh=10, palette="Spectral11")``."""
        palette = kw.get("palette")
        if isinstance(palette, str):
            from docsync import palettes

            try:
                kw["palette"] = list(getattr(palettes, palette))
            except AttributeError:
                raise ValueError(f"unknown palette {palette!r}") from None
        if kw.get("palette") is None and kw.get("color_mapper") is None:
            from docsync.palettes import Greys9

            kw["palette"] = list(Greys9)
        return self._glyph(Image, args, kw)

    def _marker(self, marker: str, args: tuple[Any, ...], kw: dict[str, Any]) -> GlyphRenderer:
        kw.setdefault("marker", marker)
        return self._glyph(Scatter, args, kw)

    def square(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("square", a, kw)

    def triangle(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("triangle", a, kw)

    def inverted_triangle(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("inverted_triangle", a, kw)

    def diamond(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("diamond", a, kw)

    def cross(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("cross", a, kw)

    def x(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("x", a, kw)

    def asterisk(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("asterisk", a, kw)

    def star(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("star", a, kw)

    def hex(self, *a: Any, **kw: Any) -> GlyphRenderer:
        return self._marker("hex", a, kw)


def figure(**kwargs: Any) -> Figure:
    """A new plot with axes, grids and tools, ready for glyph methods. Keyword args:
    ``title``, ``x_range``/``y_range`` (a Range, a (start, end) pair, or a list of
    factors), ``width``/``height``, ``x_axis_type``/``y_axis_type`` ("linear", "log",
    "datetime", "auto", None), ``x_axis_label``/``y_axis_label``, ``tools`` (a str like
    "pan,wheel_zoom" or a list), ``tooltips``, ``toolbar_location``, and any Plot
    property (``background_fill_color``, ``sizing_mode``, ...)."""
    return Figure(**kwargs)


_unused = (BasicTicker, LinearColorMapper, numbers, _dt)
