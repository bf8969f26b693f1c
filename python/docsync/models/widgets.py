"""Widgets. Values a user changes in the page are client-writable (``client=True``)."""

from __future__ import annotations

from typing import Any, Callable

from docsync.model import Model, _arity
from docsync.properties import (
    Bool, Either, Enum, Float, Instance, Int, List, Nullable, String, Tuple, Datetime,
)

__all__ = [
    "Widget", "AbstractButton", "Button", "Toggle", "Slider", "RangeSlider", "TextInput",
    "Select", "CheckboxGroup", "RadioGroup", "Div", "Paragraph", "PreText", "DataTable",
    "TableColumn", "CellFormatter", "StringFormatter", "NumberFormatter", "DateFormatter",
    "ButtonType", "SizingMode",
]

SizingMode = ("fixed", "stretch_width", "stretch_height", "stretch_both", "scale_width", "scale_height", "scale_both")
ButtonType = ("default", "primary", "success", "warning", "danger", "light")


class Widget(Model):
    __abstract__ = True
    disabled = Bool(False)
    visible = Bool(True)
    width = Nullable(Int())
    height = Nullable(Int())
    sizing_mode = Nullable(Enum(*SizingMode))
    css_classes = List(String())
    margin = Nullable(Either(Int(), Tuple(Int(), Int(), Int(), Int())), default=5)


class AbstractButton(Widget):
    __abstract__ = True
    label = String("Button")
    button_type = Enum(*ButtonType)


class Button(AbstractButton):
    """A push button; ``on_click(cb)`` runs ``cb()`` or ``cb(event)`` on each click."""

    def on_click(self, handler: Callable[..., Any]) -> None:
        self.on_event("button_click", handler)

    def js_on_click(self, handler: Any) -> None:
        self.js_on_event("button_click", handler)


class Toggle(AbstractButton):
    """A two-state button; ``active`` follows the page. ``on_click(cb)`` runs
    ``cb(active)`` (Bokeh's Toggle API)."""

    label = String("Toggle")
    active = Bool(False, client=True)

    def on_click(self, handler: Callable[[bool], Any]) -> None:
        _arity(handler, (1,), "Toggle.on_click", "(active)")
        self.on_change("active", lambda attr, old, new: handler(new))


class Slider(Widget):
    start = Float(0.0)
    end = Float(1.0)
    value = Float(0.0, client=True)
    value_throttled = Float(0.0, client=True)
    step = Float(1.0)
    title = Nullable(String(), default="")
    format = String("0[.]00")
    show_value = Bool(True)
    orientation = Enum("horizontal", "vertical")
    bar_color = String("#e6e6e6")


class RangeSlider(Widget):
    start = Float(0.0)
    end = Float(1.0)
    value = Tuple(Float(), Float(), default=(0.0, 1.0), client=True)
    value_throttled = Tuple(Float(), Float(), default=(0.0, 1.0), client=True)
    step = Float(1.0)
    title = Nullable(String(), default="")
    format = String("0[.]00")
    show_value = Bool(True)
    orientation = Enum("horizontal", "vertical")


class TextInput(Widget):
    value = String("", client=True)
    value_input = String("", client=True)
    title = String("")
    placeholder = String("")
    max_length = Nullable(Int())


class Select(Widget):
    options = List(Either(String(), Tuple(String(), String())))
    value = String("", client=True)
    title = String("")


class CheckboxGroup(Widget):
    labels = List(String())
    active = List(Int(), client=True)
    inline = Bool(False)

    def on_click(self, handler: Callable[[list[int]], Any]) -> None:
        """``handler(active)`` when the checked boxes change (Bokeh 0.11's API)."""
        _arity(handler, (1,), "CheckboxGroup.on_click", "(active)")
        self.on_change("active", lambda attr, old, new: handler(new))


class RadioGroup(Widget):
    labels = List(String())
    active = Nullable(Int(), client=True)
    inline = Bool(False)

    def on_click(self, handler: Callable[[int | None], Any]) -> None:
        _arity(handler, (1,), "RadioGroup.on_click", "(active)")
        self.on_change("active", lambda attr, old, new: handler(new))


class Div(Widget):
    """HTML text (rendered as HTML)."""

    text = String("")
    render_as_text = Bool(False)


class Paragraph(Widget):
    text = String("")


class PreText(Paragraph):
    pass


class CellFormatter(Model):
    __abstract__ = True


class StringFormatter(CellFormatter):
    font_style = Enum("normal", "italic", "bold", "bold_italic")
    text_align = Enum("left", "center", "right")


class NumberFormatter(StringFormatter):
    format = String("0,0")


class DateFormatter(StringFormatter):
    format = String("ISO-8601")


class TableColumn(Model):
    field = String("")
    title = Nullable(String())
    width = Int(300)
    formatter = Instance(CellFormatter, default=lambda: StringFormatter())
    sortable = Bool(True)


class DataTable(Widget):
    source = Instance("ColumnDataSource", default=lambda: _new_cds())
    columns = List(Instance(TableColumn))
    height = Nullable(Int(), default=400)
    sortable = Bool(True)
    selectable = Either(Bool(), Enum("checkbox"), default=True)
    index_position = Nullable(Int(), default=0)
    index_header = String("#")
    editable = Bool(False)


def _new_cds() -> Model:
    from docsync.models.sources import ColumnDataSource

    return ColumnDataSource()


_ = Datetime
