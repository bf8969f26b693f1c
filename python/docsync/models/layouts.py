"""Layouts: Row, Column, GridBox, Spacer."""

from __future__ import annotations

from docsync.model import Model
from docsync.properties import Bool, Enum, Instance, Int, List, Nullable, Tuple, String
from docsync.models.widgets import SizingMode

__all__ = ["LayoutDOM", "Row", "Column", "GridBox", "Spacer"]


class LayoutDOM(Model):
    __abstract__ = True
    width = Nullable(Int())
    height = Nullable(Int())
    sizing_mode = Nullable(Enum(*SizingMode))
    visible = Bool(True)
    css_classes = List(String())


class _Box(LayoutDOM):
    __abstract__ = True
    children = List(Instance(Model))
    spacing = Int(0)

    def __init__(self, *children: Model, **kw: object) -> None:
        if children:
            if "children" in kw:
                raise TypeError("children given twice (positional and children=)")
            if len(children) == 1 and isinstance(children[0], (list, tuple)):
                children = tuple(children[0])
            kw["children"] = list(children)
        super().__init__(**kw)


class Row(_Box):
    pass


class Column(_Box):
    pass


class GridBox(LayoutDOM):
    """``children``: (model, row, column) triples."""

    children = List(Tuple(Instance(Model), Int(), Int()))
    spacing = Int(0)
    toolbar_location = Nullable(Enum("above", "below", "left", "right"), default=None)


class Spacer(LayoutDOM):
    pass
