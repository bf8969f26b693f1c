"""Layout functions: ``row``, ``column``, ``gridplot``, ``layout``; ``vplot``/``hplot``
are the seed's (Bokeh 0.11's) names for ``column``/``row``."""

from __future__ import annotations

from typing import Any, Sequence

from docsync.model import Model
from docsync.models.layouts import Column, GridBox, Row, Spacer
from docsync.models.plots import Plot

__all__ = ["row", "column", "gridplot", "layout", "vplot", "hplot", "Row", "Column", "GridBox", "Spacer"]


def _children(children: Sequence[Any], what: str) -> list[Model]:
    if len(children) == 1 and isinstance(children[0], (list, tuple)):
        children = children[0]
    out = []
    for c in children:
        if not isinstance(c, Model):
            raise ValueError(f"{what}() takes models (plots, widgets, layouts), got {c!r}")
        out.append(c)
    return out


def row(*children: Any, **kw: Any) -> Row:
    """Lay children out side by side: ``row(a, b)`` or ``row([a, b], sizing_mode=...)``."""
    return Row(children=_children(children, "row"), **kw)


def column(*children: Any, **kw: Any) -> Column:
    """Lay children out top to bottom."""
    return Column(children=_children(children, "column"), **kw)


vplot = column
hplot = row


def gridplot(children: Sequence[Any], *, ncols: int | None = None, toolbar_location: str | None = "above",
             merge_tools: bool = True, sizing_mode: str | None = None, width: int | None = None,
             height: int | None = None, **kw: Any) -> GridBox:
    """Plots in a grid: ``gridplot([[p1, p2], [p3, None]])`` or ``gridplot([p1, p2, p3],
    ncols=2)``. ``None`` leaves a cell empty; ``width``/``height`` apply to every plot;
    ``toolbar_location=None`` hides every plot's toolbar."""
    if ncols is not None:
        flat = list(children)
        rows = [flat[i:i + ncols] for i in range(0, len(flat), ncols)]
    else:
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in children]
    items = []
    for r, row_items in enumerate(rows):
        for c, item in enumerate(row_items):
            if item is None:
                continue
            if not isinstance(item, Model):
                raise ValueError(f"gridplot cells are models or None, got {item!r}")
            if isinstance(item, Plot):
                if width is not None:
                    item.width = width
                if height is not None:
                    item.height = height
                if toolbar_location is None:
                    item.toolbar_location = None
            items.append((item, r, c))
    return GridBox(children=items, sizing_mode=sizing_mode, toolbar_location=toolbar_location, **kw)


def layout(*children: Any, sizing_mode: str | None = None, **kw: Any) -> Model:
    """Nested lists -> rows of columns: ``layout([[a, b], [c]])``."""
    if len(children) == 1 and isinstance(children[0], (list, tuple)):
        children = tuple(children[0])

    def build(item: Any, depth: int) -> Model:
        if isinstance(item, Model):
            return item
        if isinstance(item, (list, tuple)):
            built = [build(i, depth + 1) for i in item]
            return (Row if depth % 2 else Column)(children=built, sizing_mode=sizing_mode)
        raise ValueError(f"layout() takes models and (nested) lists of models, got {item!r}")

    return Column(children=[build(c, 1) for c in children], sizing_mode=sizing_mode, **kw)
