"""Glyphs: what a GlyphRenderer draws for each row of its data source.

Coordinates and visuals are data specs (a value, or a column name; docs/catalogue.md).
"""

from __future__ import annotations

from docsync.model import Model
from docsync.properties import (
    AlphaSpec, Color, ColorSpec, DataSpec, Enum, Float, Instance, List, Nullable, NumberSpec,
    Either, String, StringSpec,
)

__all__ = [
    "Glyph", "Line", "Scatter", "Circle", "Text", "VBar", "HBar", "Quad", "Rect", "MultiLine",
    "Patches", "VArea", "Image", "ColorMapper", "LinearColorMapper", "LogColorMapper",
    "MarkerType", "LineProps", "FillProps", "TextProps",
]

MarkerType = (
    "asterisk", "circle", "circle_cross", "circle_x", "cross", "dash", "diamond", "hex",
    "inverted_triangle", "plus", "square", "square_cross", "square_x", "star", "triangle", "x", "y",
)
LineDash = ("solid", "dashed", "dotted", "dotdash", "dashdot")
FontStyle = ("normal", "italic", "bold", "bold_italic")
TextAlign = ("left", "right", "center")
TextBaseline = ("top", "middle", "bottom", "alphabetic", "hanging", "ideographic")


class LineProps:
    line_color = ColorSpec("black")
    line_width = NumberSpec(1.0)
    line_alpha = AlphaSpec(1.0)
    line_dash = Either(Enum(*LineDash), List(Float()), default=list)
    line_cap = Enum("butt", "round", "square")
    line_join = Enum("bevel", "miter", "round", default="bevel")


class FillProps:
    fill_color = ColorSpec("gray")
    fill_alpha = AlphaSpec(1.0)


class TextProps:
    text_color = ColorSpec("#444444")
    text_font = String("helvetica")
    text_font_size = String("16px")
    text_font_style = Enum(*FontStyle)
    text_align = Enum(*TextAlign)
    text_baseline = Enum(*TextBaseline, default="bottom")
    text_alpha = AlphaSpec(1.0)


class Glyph(Model):
    __abstract__ = True
    #: positional arguments of the glyph methods (p.line(x, y))
    _args: tuple[str, ...] = ()


class XYGlyph(Glyph):
    __abstract__ = True
    x = NumberSpec(None, help="x coordinates (a column name or a value)")
    y = NumberSpec(None)
    _args: tuple[str, ...] = ("x", "y")


class Line(XYGlyph, LineProps):
    pass


class Scatter(XYGlyph, LineProps, FillProps):
    size = NumberSpec(4.0, help="screen pixels")
    angle = NumberSpec(0.0)
    marker = Enum(*MarkerType, default="circle")


class Circle(XYGlyph, LineProps, FillProps):
    radius = NumberSpec(None, help="data units; when None, size (screen pixels) is used")
    size = NumberSpec(4.0)
    angle = NumberSpec(0.0)


class Text(XYGlyph, TextProps):
    text = StringSpec("text", help="a column name, or value('...') for constant text")
    angle = NumberSpec(0.0)
    x_offset = NumberSpec(0.0)
    y_offset = NumberSpec(0.0)
    _args = ("x", "y", "text")


class VBar(Glyph, LineProps, FillProps):
    x = NumberSpec(None)
    width = NumberSpec(1.0)
    top = NumberSpec(None)
    bottom = NumberSpec(0.0)
    _args = ("x", "width", "top", "bottom")


class HBar(Glyph, LineProps, FillProps):
    y = NumberSpec(None)
    height = NumberSpec(1.0)
    right = NumberSpec(None)
    left = NumberSpec(0.0)
    _args = ("y", "height", "right", "left")


class Quad(Glyph, LineProps, FillProps):
    left = NumberSpec(None)
    right = NumberSpec(None)
    top = NumberSpec(None)
    bottom = NumberSpec(None)
    _args = ("left", "right", "top", "bottom")


class Rect(XYGlyph, LineProps, FillProps):
    width = NumberSpec(None)
    height = NumberSpec(None)
    width_units = Enum("data", "screen")
    height_units = Enum("data", "screen")
    angle = NumberSpec(0.0)
    _args = ("x", "y", "width", "height", "angle")


class MultiLine(Glyph, LineProps):
    xs = NumberSpec(None, help="a column of lists/arrays")
    ys = NumberSpec(None)
    _args = ("xs", "ys")


class Patches(Glyph, LineProps, FillProps):
    xs = NumberSpec(None)
    ys = NumberSpec(None)
    _args = ("xs", "ys")


class VArea(Glyph, FillProps):
    x = NumberSpec(None)
    y1 = NumberSpec(None)
    y2 = NumberSpec(None)
    _args = ("x", "y1", "y2")


class ColorMapper(Model):
    __abstract__ = True
    palette = List(Color())
    nan_color = Color("gray")


class LinearColorMapper(ColorMapper):
    low = Nullable(Float())
    high = Nullable(Float())
    low_color = Nullable(Color())
    high_color = Nullable(Color())


class LogColorMapper(LinearColorMapper):
    pass


class Image(XYGlyph):
    image = NumberSpec(None, help="a column of 2-d arrays")
    dw = NumberSpec(None)
    dh = NumberSpec(None)
    palette = Nullable(List(Color()))
    color_mapper = Nullable(Instance(ColorMapper))
    global_alpha = Float(1.0)
    _args = ("image", "x", "y", "dw", "dh")


_ = DataSpec
