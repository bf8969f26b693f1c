"""UI events sent by the browser (``msg`` events of the protocol), as Python objects.

``model.on_event("button_click", cb)`` or ``model.on_event(ButtonClick, cb)``; the
callback gets one of these (or nothing, if it takes no arguments).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docsync.model import Model

__all__ = [
    "Event", "ModelEvent", "ButtonClick", "MenuItemClick", "PointEvent", "Tap", "DoubleTap",
    "Reset", "PanEnd", "MouseWheel", "SelectionGeometry", "event_class", "make_event",
]

_events: dict[str, type["Event"]] = {}


class Event:
    """Base class of UI events. ``event_name`` is the protocol's ``msg`` name."""

    event_name: str = ""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.event_name:
            _events[cls.event_name] = cls

    def __init__(self, model: "Model | None" = None, data: Any = None) -> None:
        self.model = model
        self.data = data if data is not None else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, data={self.data!r})"


class ModelEvent(Event):
    """An event about one model (``event.model``)."""


class ButtonClick(ModelEvent):
    event_name = "button_click"


class MenuItemClick(ModelEvent):
    event_name = "menu_item_click"

    @property
    def item(self) -> Any:
        return self.data.get("item") if isinstance(self.data, dict) else self.data


class PointEvent(ModelEvent):
    """An event at a point of a plot: ``x``, ``y`` (data units), ``sx``, ``sy`` (pixels)."""

    def _get(self, key: str) -> Any:
        return self.data.get(key) if isinstance(self.data, dict) else None

    @property
    def x(self) -> Any:
        return self._get("x")

    @property
    def y(self) -> Any:
        return self._get("y")

    @property
    def sx(self) -> Any:
        return self._get("sx")

    @property
    def sy(self) -> Any:
        return self._get("sy")


class Tap(PointEvent):
    event_name = "tap"


class DoubleTap(PointEvent):
    event_name = "double_tap"


class PanEnd(PointEvent):
    event_name = "pan_end"


class MouseWheel(PointEvent):
    event_name = "mouse_wheel"

    @property
    def delta(self) -> Any:
        return self._get("delta")


class Reset(ModelEvent):
    event_name = "reset"


class SelectionGeometry(ModelEvent):
    event_name = "selection_geometry"


class GenericEvent(ModelEvent):
    """A ``msg`` event with a name no class claims (custom messages)."""


def event_class(name: str) -> type[Event]:
    """The class for an event name; a ValueError suggesting the closest known name."""
    try:
        return _events[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_events), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(_events))})"
        raise ValueError(f"unknown event {name!r}{hint}") from None


def make_event(name: str, model: "Model | None", data: Any) -> Event:
    cls = _events.get(name)
    if cls is None:
        ev = GenericEvent(model, data)
        ev.event_name = name
        return ev
    return cls(model, data)
