"""figure() and its glyph methods, accessors, layouts, palettes, driving."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from docsync import driving, palettes
from docsync.document import Document
from docsync.errors import UnknownPropertyError, ValidationError
from docsync.layouts import column, gridplot, hplot, layout, row, vplot
from docsync.models import (
    BoxZoomTool, CategoricalAxis, Circle, Column, ColumnDataSource, DataRange1d, DatetimeAxis,
    FactorRange, GlyphRenderer, Grid, GridBox, HBar, HoverTool, Image, Legend, Line, LinearAxis,
    LogAxis, LogScale, MultiLine, PanTool, Patches, Plot, Quad, Range1d, Rect, ResetTool, Row,
    SaveTool, Scatter, Text, VArea, VBar, WheelZoomTool,
)
from docsync.plotting import Figure, figure


def test_figure_defaults():
    p = figure()
    assert isinstance(p, Plot) and p.__type_name__ == "Plot"
    assert isinstance(p.x_range, DataRange1d) and isinstance(p.y_range, DataRange1d)
    assert [type(a) for a in p.below] == [LinearAxis] and [type(a) for a in p.left] == [LinearAxis]
    assert len(p.grid) == 2 and p.xgrid[0].dimension == 0 and p.ygrid[0].dimension == 1
    assert p.xgrid[0].axis is p.xaxis[0] and p.xgrid[0].ticker is p.xaxis[0].ticker
    assert [type(t) for t in p.toolbar.tools] == [PanTool, WheelZoomTool, BoxZoomTool, ResetTool, SaveTool]
    assert p.width == 600 and p.height == 600


def test_figure_keywords():
    p = figure(title="T", x_range=(0, 100), y_range=["a", "b"], width=300, height=200,
               x_axis_type="log", tools="pan,hover", toolbar_location="below",
               background_fill_color="black", border_fill_color="#123456", outline_line_color=None,
               x_axis_label="time", y_axis_label="value", sizing_mode="stretch_width",
               tooltips=[("x", "@x")])
    assert p.title.text == "T"
    assert isinstance(p.x_range, Range1d) and (p.x_range.start, p.x_range.end) == (0, 100)
    assert isinstance(p.y_range, FactorRange) and p.y_range.factors == ["a", "b"]
    assert isinstance(p.xaxis[0], LogAxis) and isinstance(p.x_scale, LogScale)
    assert isinstance(p.yaxis[0], CategoricalAxis)
    assert p.xaxis.axis_label == "time" and p.yaxis[0].axis_label == "value"
    assert (p.width, p.height, p.toolbar_location, p.sizing_mode) == (300, 200, "below", "stretch_width")
    assert p.background_fill_color == "black" and p.outline_line_color is None
    hover = [t for t in p.toolbar.tools if isinstance(t, HoverTool)]
    assert len(hover) == 1 and hover[0].tooltips == [("x", "@x")]
    assert figure(tools="").toolbar.tools == []
    assert len(figure(tools=[PanTool(), "reset"]).toolbar.tools) == 2
    assert isinstance(figure(x_axis_type="datetime").xaxis[0], DatetimeAxis)
    assert figure(x_axis_type=None).xaxis == [] and len(figure(x_axis_type=None).grid) == 1
    assert isinstance(figure(x_range=Range1d(1, 2)).x_range, Range1d)
    assert figure(plot_width=100).width == 100


def test_figure_errors():
    with pytest.raises(ValueError, match="did you mean 'wheel_zoom'"):
        figure(tools="pan,wheelzoom")
    with pytest.raises(ValueError, match="axis type"):
        figure(x_axis_type="logg")
    with pytest.raises(UnknownPropertyError, match="background_fill_color"):
        figure(background_fill_colour="red")
    with pytest.raises(ValidationError):
        figure(width="wide")


def test_splattable_accessors():
    p = figure()
    p.grid.grid_line_color = None
    assert all(g.grid_line_color is None for g in p.grid)
    p.axis.major_label_text_font_size = "8px"
    assert p.xaxis[0].major_label_text_font_size == "8px" and p.yaxis[0].major_label_text_font_size == "8px"
    p.xaxis.visible = False
    assert p.xaxis[0].visible is False and p.yaxis[0].visible is True
    with pytest.raises(UnknownPropertyError):
        p.grid.grid_line_colour = "red"


def test_glyph_methods_build_sources_and_glyphs():
    p = figure()
    r = p.line([1, 2, 3], np.array([4.0, 5.0, 6.0]), color="navy", line_width=2)
    assert isinstance(r, GlyphRenderer) and isinstance(r.glyph, Line) and r in p.renderers
    assert r.data_source.data["x"] == [1, 2, 3] and r.data_source.data["y"].tolist() == [4.0, 5.0, 6.0]
    assert (r.glyph.x, r.glyph.y, r.glyph.line_color, r.glyph.line_width) == ("x", "y", "navy", 2)
    c = p.circle([1], [2], size=10, color="red", alpha=0.5)
    assert isinstance(c.glyph, Circle) and c.glyph.fill_color == "red" and c.glyph.line_alpha == 0.5
    s = p.scatter([1], [2], marker="square", fill_color=["red"])
    assert isinstance(s.glyph, Scatter) and s.glyph.marker == "square" and s.glyph.fill_color == "fill_color"
    assert s.data_source.data["fill_color"] == ["red"]
    assert p.square([1], [2]).glyph.marker == "square"
    t = p.text(x=[1], y=[2], text=["hi"], text_color=["red"], text_font_size="20pt", text_baseline="middle", text_align="center")
    assert isinstance(t.glyph, Text) and t.glyph.text == "text" and t.data_source.data["text"] == ["hi"]
    assert isinstance(p.vbar(x=[1], top=[2], width=0.5).glyph, VBar)
    assert isinstance(p.hbar(y=[1], right=[2], height=0.5).glyph, HBar)
    assert isinstance(p.quad(left=[0], right=[1], top=[1], bottom=[0]).glyph, Quad)
    assert isinstance(p.rect(x=[0], y=[0], width=1, height=1).glyph, Rect)
    ml = p.multi_line(xs=[[1, 2], [3, 4, 5]], ys=[[1, 2], [3, 4, 5]])
    assert isinstance(ml.glyph, MultiLine) and ml.data_source.data["xs"] == [[1, 2], [3, 4, 5]]
    assert isinstance(p.patches(xs=[[1, 2, 3]], ys=[[1, 2, 1]]).glyph, Patches)
    assert isinstance(p.varea(x=[1, 2], y1=[0, 0], y2=[1, 2]).glyph, VArea)
    img = p.image(image=[np.eye(3)], x=0, y=0, dw=10, dh=10, palette="Spectral11")
    assert isinstance(img.glyph, Image) and img.glyph.palette == list(palettes.Spectral11)
    assert img.data_source.data["image"][0].tolist() == np.eye(3).tolist()
    # everything builds a valid document that survives a snapshot
    d = Document()
    d.add_root(p)
    back = Document.from_snapshot(d._snapshot())
    assert len(back.get_model_by_id(p.id).renderers) == len(p.renderers)


def test_glyph_methods_with_a_source():
    src = ColumnDataSource(data={"a": [1, 2], "b": [3, 4], "c": ["red", "blue"]})
    p = figure()
    r = p.circle("a", "b", source=src, fill_color="c", size=5)
    assert r.data_source is src and (r.glyph.x, r.glyph.y, r.glyph.fill_color) == ("a", "b", "c")
    with pytest.raises(ValueError, match="does not have"):
        p.circle("a", "nope", source=src)
    r2 = p.line("x", "y", source={"x": [1], "y": [2]})
    assert r2.data_source.data == {"x": [1], "y": [2]}
    with pytest.raises(UnknownPropertyError, match="did you mean 'line_width'"):
        p.line([1], [2], line_widht=3)
    with pytest.raises(TypeError, match="given twice"):
        p.line([1], [2], x=[3])


def test_legend_label():
    p = figure()
    r1 = p.line([1], [2], legend_label="a")
    r2 = p.circle([1], [2], legend_label="a")
    r3 = p.circle([1], [2], legend_label="b")
    legends = p.legend
    assert len(legends) == 1 and isinstance(legends[0], Legend) and legends[0] in p.center
    items = legends[0].items
    assert [i.label for i in items] == ["a", "b"]
    assert items[0].renderers == [r1, r2] and items[1].renderers == [r3]
    p.legend.location = "bottom_left"
    assert legends[0].location == "bottom_left"


def test_layouts():
    a, b, c = figure(), figure(), figure()
    r = row(a, b)
    assert isinstance(r, Row) and r.children == [a, b]
    col = column([a, b], sizing_mode="stretch_both")
    assert isinstance(col, Column) and col.sizing_mode == "stretch_both"
    assert vplot is column and hplot is row
    g = gridplot([[a, b], [c, None]], width=200, toolbar_location=None)
    assert isinstance(g, GridBox) and g.children == [(a, 0, 0), (b, 0, 1), (c, 1, 0)]
    assert a.width == 200 and a.toolbar_location is None
    g2 = gridplot([a, b, c], ncols=2)
    assert g2.children == [(a, 0, 0), (b, 0, 1), (c, 1, 0)]
    lay = layout([[a, b], [c]])
    assert isinstance(lay, Column) and isinstance(lay.children[0], Row)
    with pytest.raises(ValueError):
        row(a, "b")


def test_palettes():
    assert palettes.RdYlBu3 == ("#91bfdb", "#ffffbf", "#fc8d59")
    assert palettes.Category10[10] == palettes.Category10_10 and len(palettes.Category10_10) == 10
    assert len(palettes.Viridis256) == 256 and len(palettes.Inferno256) == 256
    assert len(palettes.Spectral11) == 11 and len(palettes.Blues9) == 9
    assert palettes.viridis(3) == (palettes.Viridis256[0], palettes.Viridis256[128], palettes.Viridis256[255])


def test_driving():
    got: list = []
    f = driving.count()(got.append)
    for _ in range(3):
        f()
    assert got == [0, 1, 2]
    got.clear()
    f = driving.bounce([0, 1, 2])(got.append)
    for _ in range(7):
        f()
    assert got == [0, 1, 2, 2, 1, 0, 0]
    got.clear()
    f = driving.repeat([1, 2])(got.append)
    for _ in range(3):
        f()
    assert got == [1, 2, 1]
    got.clear()
    f = driving.linear(m=2, b=1)(got.append)
    f()
    f()
    assert got == [1, 3]
    got.clear()
    f = driving.cosine(w=0.5)(got.append)
    f()
    f()
    assert got[0] == 1.0 and abs(got[1] - np.cos(0.5)) < 1e-12
    got.clear()
    f = driving.sine(w=0.5, A=2)(got.append)
    f()
    assert got == [0.0]
    # the wrapped callback takes no arguments, as add_periodic_callback requires
    Document().add_periodic_callback(driving.cosine(w=0.03)(lambda step: None), 50)


def test_datetime_axis_auto():
    p = figure(x_range=(dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 2)))
    assert isinstance(p.xaxis[0], DatetimeAxis)
    assert p.x_range.start == 1577836800000.0


def test_figure_class_is_the_plot_wrapper():
    d = Document()
    p = figure()
    d.add_root(p)
    back = Document.from_snapshot(d._snapshot())
    p2 = back.get_model_by_id(p.id)
    assert type(p2) is Plot and type(p) is Figure  # received plots are Plots ...
    r = p2.line([1, 2], [3, 4])  # ... with the glyph API too
    assert r.document is back
    assert isinstance(p2.grid[0], Grid)
