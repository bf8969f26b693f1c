"""Plot and what it draws around its glyphs: Title, Grid, Legend, GlyphRenderer."""

from __future__ import annotations

from typing import Any, Callable

from docsync.model import Model
from docsync.models.axes import Axis, Ticker
import difflib

import numpy as np

from docsync.errors import UnknownPropertyError
from docsync.models.glyphs import (
    Circle, Glyph, HBar, Image, Line, MultiLine, Patches, Quad, Rect, Scatter, Text, VArea, VBar,
)
from docsync.models.layouts import LayoutDOM
from docsync.models.renderers import Renderer
from docsync.models.ranges import DataRange1d, LinearScale, Range, Scale
from docsync.models.sources import ColumnDataSource, DataSource
from docsync.models.tools import Tool, Toolbar
from docsync.properties import ColorSpec, DataSpec, _color_tuple_ok, _is_dataframe, _is_pandas_series
from docsync.properties import (
    Bool, Color, Either, Enum, Float, Instance, Int, List, Nullable, Override, String,
)

__all__ = ["GlyphAPI", "Plot", "Title", "Grid", "Legend", "LegendItem", "Renderer", "GlyphRenderer", "Annotation"]

Location = ("above", "below", "left", "right")


class GlyphRenderer(Renderer):
    """Draws ``glyph`` for every row of ``data_source``."""

    data_source = Instance(DataSource, default=lambda: ColumnDataSource())
    glyph = Instance(Glyph)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)


class Annotation(Renderer):
    __abstract__ = True
    level = Override(default="annotation")


class Title(Annotation):
    text = String("")
    align = Enum("left", "center", "right")
    text_font_size = String("13px")
    text_color = Nullable(Color(), default="#444444")
    text_font_style = Enum("normal", "italic", "bold", "bold_italic", default="bold")
    background_fill_color = Nullable(Color(), default=None)


class LegendItem(Model):
    label = Nullable(String())
    renderers = List(Instance(GlyphRenderer))
    visible = Bool(True)


class Legend(Annotation):
    items = List(Instance(LegendItem))
    location = Either(
        Enum("top_left", "top_center", "top_right", "center_left", "center", "center_right",
             "bottom_left", "bottom_center", "bottom_right"),
        List(Float()), default="top_right")
    orientation = Enum("vertical", "horizontal")
    title = Nullable(String())
    background_fill_color = Nullable(Color(), default="#ffffff")
    background_fill_alpha = Float(0.95)
    border_line_color = Nullable(Color(), default="#e5e5e5")
    border_line_alpha = Float(0.5)
    label_text_font_size = String("13px")
    label_text_font = String("helvetica")
    label_text_font_style = Enum("normal", "italic", "bold", "bold_italic")
    label_text_color = Nullable(Color(), default="#444444")
    label_text_alpha = Float(1.0)
    label_standoff = Int(5)
    glyph_width = Int(20)
    glyph_height = Int(20)
    padding = Int(10)
    click_policy = Enum("none", "hide", "mute")


class Grid(Renderer):
    dimension = Int(0, help="0 = x, 1 = y")
    axis = Nullable(Instance(Axis))
    ticker = Nullable(Instance(Ticker))
    grid_line_color = Nullable(Color(), default="#e5e5e5")
    grid_line_alpha = Float(1.0)
    grid_line_width = Float(1.0)
    grid_line_dash = Either(Enum("solid", "dashed", "dotted", "dotdash", "dashdot"), List(Float()), default=list)
    minor_grid_line_color = Nullable(Color(), default=None)
    minor_grid_line_alpha = Float(1.0)
    minor_grid_line_width = Float(1.0)
    minor_grid_line_dash = Either(Enum("solid", "dashed", "dotted", "dotdash", "dashdot"), List(Float()), default=list)
    band_fill_color = Nullable(Color(), default=None)
    band_fill_alpha = Float(0.0)
    level = Override(default="underlay")


_DEFAULT_COLOR = "#1f77b4"
_IGNORED_PREFIXES = ("hover_", "selection_", "nonselection_", "muted_")


def _is_column_value(v: Any, prop: Any) -> bool:
    """A glyph argument that becomes a column of the renderer's source."""
    if isinstance(v, tuple) and isinstance(prop, ColorSpec) and _color_tuple_ok(v):
        return False
    return isinstance(v, (list, tuple, np.ndarray, range)) or _is_pandas_series(v)


class GlyphAPI:
    """The glyph methods of a plot (``p.line(...)``, ``p.circle(...)``, ...): each adds a
    GlyphRenderer, putting list/array arguments into a new ColumnDataSource."""

    # provided by Plot (annotations only: no class attributes)
    renderers: Any
    center: Any
    legend: Any
    add_layout: Callable[..., None]

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


def _default_title() -> Title:
    return Title()


class Plot(LayoutDOM, GlyphAPI):
    """A plot: ranges, scales, renderers, axes and annotations around them, a toolbar."""

    width = Nullable(Int(), default=600)
    height = Nullable(Int(), default=600)
    title = Nullable(Instance(Title, convert=lambda v: Title(text=v) if isinstance(v, str) else v), default=_default_title)
    x_range = Instance(Range, default=lambda: DataRange1d())
    y_range = Instance(Range, default=lambda: DataRange1d())
    x_scale = Instance(Scale, default=lambda: LinearScale())
    y_scale = Instance(Scale, default=lambda: LinearScale())
    renderers = List(Instance(Renderer))
    left = List(Instance(Renderer))
    right = List(Instance(Renderer))
    above = List(Instance(Renderer))
    below = List(Instance(Renderer))
    center = List(Instance(Renderer))
    toolbar = Instance(Toolbar, default=lambda: Toolbar())
    toolbar_location = Nullable(Enum(*Location), default="right")
    title_location = Nullable(Enum(*Location), default="above")
    background_fill_color = Nullable(Color(), default="#ffffff")
    background_fill_alpha = Float(1.0)
    border_fill_color = Nullable(Color(), default="#ffffff")
    border_fill_alpha = Float(1.0)
    outline_line_color = Nullable(Color(), default="#e5e5e5")
    outline_line_width = Float(1.0)
    outline_line_alpha = Float(1.0)
    min_border = Nullable(Int(), default=5)
    min_border_left = Nullable(Int())
    min_border_right = Nullable(Int())
    min_border_top = Nullable(Int())
    min_border_bottom = Nullable(Int())

    # -- Bokeh conveniences ------------------------------------------------------------
    def add_layout(self, obj: Renderer, place: str = "center") -> None:
        """Add an axis, legend, title or grid on one side (or in the center)."""
        if place not in ("left", "right", "above", "below", "center"):
            raise ValueError(f"place must be one of left, right, above, below, center; got {place!r}")
        getattr(self, place).append(obj)

    def add_tools(self, *tools: Tool) -> None:
        for t in tools:
            if not isinstance(t, Tool):
                raise ValueError(f"add_tools takes Tool instances, got {t!r}")
        self.toolbar.tools.extend(tools)

    @property
    def tools(self) -> list[Tool]:
        return list(self.toolbar.tools)

    def add_glyph(self, source_or_glyph: Any, glyph: Glyph | None = None, **kw: Any) -> GlyphRenderer:
        """Add a GlyphRenderer for ``glyph`` over ``source`` (a new empty source if only
        a glyph is given)."""
        if glyph is None:
            source, glyph = ColumnDataSource(), source_or_glyph
        else:
            source = source_or_glyph
        r = GlyphRenderer(data_source=source, glyph=glyph, **kw)
        self.renderers.append(r)
        return r

    def _objects(self, places: tuple[str, ...], cls: type) -> "SplattableList":
        out: list[Any] = []
        for place in places:
            out.extend(o for o in getattr(self, place) if isinstance(o, cls))
        return SplattableList(out)

    @property
    def xaxis(self) -> "SplattableList":
        """The x axes (below and above), as a splattable list."""
        return self._objects(("below", "above"), Axis)

    @property
    def yaxis(self) -> "SplattableList":
        return self._objects(("left", "right"), Axis)

    @property
    def axis(self) -> "SplattableList":
        return SplattableList([*self.xaxis, *self.yaxis])

    @property
    def grid(self) -> "SplattableList":
        return self._objects(("center", "below", "above", "left", "right", "renderers"), Grid)

    @property
    def xgrid(self) -> "SplattableList":
        return SplattableList([g for g in self.grid if g.dimension == 0])

    @property
    def ygrid(self) -> "SplattableList":
        return SplattableList([g for g in self.grid if g.dimension == 1])

    @property
    def legend(self) -> "SplattableList":
        return self._objects(("center", "below", "above", "left", "right"), Legend)


class SplattableList(list):  # type: ignore[type-arg]
    """A list whose attribute assignments apply to every member:
    ``p.grid.grid_line_color = None`` (as in Bokeh)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not len(self):
            raise AttributeError(f"cannot set {name!r}: the list is empty")
        for obj in self:
            setattr(obj, name, value)

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_") or name in dir(list):
            return list.__getattribute__(self, name)
        if len(self) == 1:
            return getattr(self[0], name)
        return SplattableList(getattr(obj, name) for obj in self)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return SplattableList(obj(*args, **kw) for obj in self)
