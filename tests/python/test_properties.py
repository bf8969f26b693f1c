"""Every property type accepts what it should and rejects the rest, with messages that
name the model, the property, the expected type and the value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from docsync import _core
from docsync.errors import UnknownPropertyError, ValidationError
from docsync.model import Model, _classes
from docsync.models import (
    Button, Circle, ColumnDataSource, CustomJS, DataTable, GlyphRenderer, HoverTool, Line,
    Plot, Range1d, RangeSlider, Scatter, Select, Slider, Text, Title, Toggle,
)
from docsync.properties import (
    Any_, Bool, Color, ColorSpec, Datetime, Dict, Either, Enum, Float, Instance, Int, List,
    Nullable, NumberSpec, String, StringSpec, Tuple, is_color, value,
)


class Holder(Model):
    b = Bool(False)
    i = Int(0)
    f = Float(0.0)
    s = String("")
    c = Color("black")
    e = Enum("left", "center", "right")
    n = Nullable(Int())
    ei = Either(Int(), String(), default=0)
    li = List(Int())
    d = Dict(String, Float)
    t = Tuple(Float(), String(), default=(0.0, ""))
    inst = Nullable(Instance(Button))
    when = Datetime(0.0)
    a = Any_()
    num = NumberSpec(None)
    col = ColorSpec("red")
    txt = StringSpec("text")


ACCEPT = [
    ("b", True, True), ("b", np.bool_(False), False),
    ("i", 3, 3), ("i", np.int64(7), 7),
    ("f", 1.5, 1.5), ("f", 2, 2), ("f", np.float32(0.5), 0.5),
    ("s", "x", "x"),
    ("c", "red", "red"), ("c", "#fff", "#fff"), ("c", "#A0b1c2", "#A0b1c2"), ("c", "#a0b1c2ff", "#a0b1c2ff"),
    ("c", (1, 2, 3), (1, 2, 3)), ("c", (1, 2, 3, 0.5), (1, 2, 3, 0.5)), ("c", "rgb(1, 2, 3)", "rgb(1, 2, 3)"),
    ("e", "center", "center"),
    ("n", None, None), ("n", 4, 4),
    ("ei", 5, 5), ("ei", "five", "five"),
    ("li", [1, 2], [1, 2]), ("li", np.array([1, 2]), [1, 2]), ("li", (3,), [3]),
    ("d", {"a": 1.0}, {"a": 1.0}),
    ("t", (1.0, "x"), (1.0, "x")), ("t", [2, "y"], (2, "y")),
    ("inst", None, None),
    ("when", 5.0, 5.0), ("when", dt.datetime(1970, 1, 1, 0, 0, 1), 1000.0), ("when", dt.date(1970, 1, 2), 86400000.0),
    ("when", np.datetime64("1970-01-01T00:00:02"), 2000.0),
    ("a", {"k": [1, "x", None]}, {"k": [1, "x", None]}),
    ("num", 3, 3), ("num", "xcol", "xcol"), ("num", {"field": "y"}, "y"), ("num", value(2.0), 2.0),
    ("col", "blue", "blue"), ("col", "colors", "colors"), ("col", None, None),
    ("txt", "label", "label"),
]

REJECT = [
    ("b", 1), ("b", "true"), ("b", None),
    ("i", 1.5), ("i", "1"), ("i", True), ("i", None),
    ("f", "1.0"), ("f", None), ("f", True), ("f", [1.0]),
    ("s", 1), ("s", None), ("s", b"x"),
    ("c", "notacolor"), ("c", (1, 2)), ("c", (300, 0, 0)), ("c", (1, 2, 3, 2.0)), ("c", 5), ("c", "#ggg"),
    ("e", "middle"), ("e", 1), ("e", None),
    ("n", "x"), ("n", 1.5),
    ("ei", 1.5), ("ei", None),
    ("li", [1, "x"]), ("li", "12"), ("li", 1), ("li", [1.5]),
    ("d", {1: 1.0}), ("d", {"a": "x"}), ("d", [("a", 1.0)]),
    ("t", (1.0,)), ("t", (1.0, 2.0)), ("t", "ab"),
    ("inst", Slider()), ("inst", "button"),
    ("when", "2020-01-01"), ("when", None),
    ("num", [1, 2]), ("num", {"nope": 1}), ("num", True),
    ("col", 5), ("col", (1, 2)),
]


@pytest.mark.parametrize("attr, given, expected", ACCEPT)
def test_accepts_detached_and_attached(doc, attr, given, expected):
    h = Holder()
    setattr(h, attr, given)
    assert getattr(h, attr) == expected
    doc.add_root(h)
    setattr(h, attr, given)
    assert getattr(h, attr) == expected
    # the engine holds it, and a snapshot copy reads it back the same
    copy = doc.from_snapshot(doc._snapshot())
    assert getattr(copy.get_model_by_id(h.id), attr) == expected


@pytest.mark.parametrize("attr, given", REJECT)
def test_rejects_with_a_precise_message(doc, attr, given):
    h = Holder()
    before = getattr(h, attr)
    with pytest.raises(ValidationError) as info:
        setattr(h, attr, given)
    msg = str(info.value)
    assert f"Holder.{attr}" in msg and "expected" in msg and type(given).__name__ in msg
    assert getattr(h, attr) == before  # unchanged
    doc.add_root(h)
    with pytest.raises(ValidationError):
        setattr(h, attr, given)
    assert getattr(h, attr) == before


def test_validation_error_is_a_value_error_and_names_the_value():
    with pytest.raises(ValueError, match=r"Slider\.value .*expected float, got 'abc'"):
        Slider(value="abc")


def test_enum_and_color_errors_suggest_a_close_value():
    with pytest.raises(ValidationError, match="did you mean 'center'"):
        Title(align="centre")
    with pytest.raises(ValidationError, match="did you mean 'red'"):
        Plot(background_fill_color="rde")


def test_unknown_property_suggests_the_closest_name():
    b = Button()
    with pytest.raises(UnknownPropertyError, match="did you mean 'label'") as info:
        b.lable = "x"
    assert isinstance(info.value, AttributeError)
    with pytest.raises(UnknownPropertyError, match="'label'"):
        Button(lable="x")
    with pytest.raises(AttributeError, match="did you mean 'label'"):
        b.labl  # noqa: B018
    with pytest.raises(UnknownPropertyError):
        b.on_change("lable", lambda attr, old, new: None)


def test_is_color():
    assert is_color("firebrick") and is_color("#123") and is_color((0, 0, 0))
    assert not is_color("x") and not is_color((0, 0)) and not is_color("#12")


def test_list_items_are_named_in_errors():
    with pytest.raises(ValidationError, match="item 1"):
        Select(options=["a", 2])


def test_widget_values():
    assert RangeSlider(value=(1, 2)).value == (1, 2)
    with pytest.raises(ValidationError):
        RangeSlider(value=(1, 2, 3))
    with pytest.raises(ValidationError):
        Toggle(active="yes")
    HoverTool(tooltips=[("x", "@x")])
    HoverTool(tooltips="<b>@x</b>")
    with pytest.raises(ValidationError):
        HoverTool(tooltips=[("x",)])


def test_data_specs():
    c = Circle(x="a", y=1, fill_color="navy", line_color="colcol", radius=None)
    assert (c.x, c.y, c.fill_color, c.line_color) == ("a", 1, "navy", "colcol")
    t = Text(text=value("hello"))
    assert t.text == "hello"
    s = Scatter(marker="square")
    with pytest.raises(ValidationError, match="marker"):
        Scatter(marker="squares")
    assert s.marker == "square"


def test_instance_checks_the_class():
    r = GlyphRenderer(glyph=Line())
    with pytest.raises(ValidationError, match="GlyphRenderer.glyph"):
        r.glyph = Button()
    with pytest.raises(ValidationError, match="data_source"):
        r.data_source = Range1d()
    assert isinstance(r.data_source, ColumnDataSource)


def test_every_class_is_registered_with_the_engine():
    registered = set(_core.registered_types())
    assert set(_classes) <= registered
    for name in ("Plot", "Button", "ColumnDataSource", "CustomJS", "DataTable", "GridBox"):
        assert name in registered


def test_spec_strings():
    assert Float().spec == "float" and Int().spec == "int" and Bool().spec == "bool"
    assert String().spec == "str" and Color().spec == "color"
    assert Enum("a", "b").spec == "enum(a|b)"
    assert Nullable(Int()).spec == "nullable(int)"
    assert Either(Int(), String()).spec == "either(int|str)"
    assert List(Float()).spec == "list(float)"
    assert Dict(String, Int).spec == "map(int)"
    assert Tuple(Float(), Float()).spec == "tuple(float,float)"
    assert Instance(Button).spec == "ref(Button)"
    assert NumberSpec().spec.startswith("either(")
    # a model factory default registers as nullable with a None default (the engine has
    # no model to use as a default)
    sel = ColumnDataSource._props["selected"]
    assert sel.engine_spec == "nullable(ref(Selection))" and sel.engine_default() is None


def test_client_writable_flags():
    assert Slider._props["value"].client and not Slider._props["title"].client
    assert not CustomJS._props["code"].client and Toggle._props["active"].client
    assert Range1d._props["start"].client and ColumnDataSource._props["selected"].client is False
    assert not DataTable._props["source"].client
