"""Plot and what it draws around its glyphs: Title, Grid, Legend, GlyphRenderer."""

from __future__ import annotations

from typing import Any

from docsync.model import Model
from docsync.models.axes import Axis, Ticker
from docsync.models.glyphs import Glyph
from docsync.models.layouts import LayoutDOM
from docsync.models.renderers import Renderer
from docsync.models.ranges import DataRange1d, LinearScale, Range, Scale
from docsync.models.sources import ColumnDataSource, DataSource
from docsync.models.tools import Tool, Toolbar
from docsync.properties import (
    Bool, Color, Either, Enum, Float, Instance, Int, List, Nullable, Override, String,
)

__all__ = ["Plot", "Title", "Grid", "Legend", "LegendItem", "Renderer", "GlyphRenderer", "Annotation"]

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
    label_text_font_size = String("13px")
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
    band_fill_color = Nullable(Color(), default=None)
    band_fill_alpha = Float(0.0)
    level = Override(default="underlay")


def _default_title() -> Title:
    return Title()


class Plot(LayoutDOM):
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
