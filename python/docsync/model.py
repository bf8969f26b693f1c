"""The Model base class: declared typed properties, schema registration, callbacks.

A model not yet in a document keeps its values in a Python dict (``_values``); once it is
reachable from a root of a :class:`docsync.document.Document`, its values move into the
Rust engine and every read and write goes there (docs/architecture.md, "Python model
layer").
"""

from __future__ import annotations

import copy
import difflib
import inspect
import itertools
import os
import secrets
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from docsync import _core
from docsync.errors import DocsyncError, UnknownModelError, UnknownPropertyError
from docsync.properties import (
    MISSING,
    Any_,
    Dict,
    Instance,
    Invalid,
    List,
    Nullable,
    Override,
    Property,
    String,
)

if TYPE_CHECKING:
    from docsync.document import Document
    from docsync.events import Event

__all__ = ["Model", "model_class", "make_id", "DocumentOwnershipError", "collect_models"]


class DocumentOwnershipError(DocsyncError, RuntimeError):
    """A model that belongs to one document was put into another one."""


# ---------------------------------------------------------------------------------------
# ids: a per-process random prefix plus a counter, so documents built by different
# processes (a pushing client, the server, forked server processes) never collide.

_id_lock = threading.Lock()
_id_prefix = secrets.token_hex(4)
_id_counter = itertools.count(1000)


def _reset_ids_after_fork() -> None:
    global _id_prefix, _id_counter
    _id_prefix = secrets.token_hex(4)
    _id_counter = itertools.count(1000)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_ids_after_fork)


def make_id() -> str:
    """A new globally unique model id, e.g. ``"p3f9a01c2-1042"``."""
    # itertools.count is atomic under the GIL; the lock covers free-threaded builds.
    with _id_lock:
        n = next(_id_counter)
    return f"p{_id_prefix}-{n}"


# ---------------------------------------------------------------------------------------
# type registry

_classes: dict[str, type["Model"]] = {}  # concrete types by engine type name
_all_classes: dict[str, type["Model"]] = {}  # every class by class name (themes)


def model_class(type_name: str) -> type["Model"]:
    """The Python class for an engine type name (e.g. ``"Plot"`` -> ``Figure``)."""
    try:
        return _classes[type_name]
    except KeyError:
        close = difflib.get_close_matches(type_name, list(_classes), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownModelError(f"unknown model type {type_name!r}{hint}") from None


def _register_with_engine(cls: type["Model"]) -> None:
    register = getattr(_core, "register_type", None)
    if register is None:  # an engine build without schemas (early development)
        return
    props = [(name, p.engine_spec, p.engine_default(), p.client) for name, p in cls._props.items()]
    register(cls.__type_name__, props)


class MetaModel(type):
    """Collects the class's properties (own and inherited, ``Override`` applied) and
    registers its schema with the engine under the class name (``__type_name__``)."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> "MetaModel":
        overrides = {k: v for k, v in ns.items() if isinstance(v, Override)}
        for k in overrides:
            del ns[k]
        cls = super().__new__(mcls, name, bases, ns, **kw)
        props: dict[str, Property] = {}
        for base in reversed(cls.__mro__):
            for k, v in vars(base).items():
                if isinstance(v, Property):
                    props[k] = v
        for k, ov in overrides.items():
            if k not in props:
                raise TypeError(f"{name}: Override of unknown property {k!r}")
            prop = copy.copy(props[k])
            prop._default = ov.default
            prop.name = k
            setattr(cls, k, prop)
            props[k] = prop
        # "name" first, then the rest in declaration order (the MRO walk gives this)
        cls._props = props  # type: ignore[attr-defined]
        cls._ref_props = tuple(p for p in props.values() if p.has_refs)  # type: ignore[attr-defined]
        cls._factory_props = tuple(p for p in props.values() if p.default_is_factory)  # type: ignore[attr-defined]
        _all_classes[name] = cls  # type: ignore[assignment]
        type_name = ns.get("__type_name__", name)
        cls.__type_name__ = type_name  # type: ignore[attr-defined]
        # a subclass that keeps its base's engine type (``Figure`` is a ``Plot`` with a
        # friendlier constructor) is neither registered again nor used for wrappers
        if not ns.get("__abstract__", False) and type_name == name:
            _classes[type_name] = cls  # type: ignore[assignment]
            _register_with_engine(cls)  # type: ignore[arg-type]
        return cls


def _arity(cb: Callable[..., Any], counts: tuple[int, ...], what: str, expected: str) -> int:
    """The first positional-argument count in ``counts`` that ``cb`` accepts, or a
    TypeError naming the expected signature."""
    if not callable(cb):
        raise TypeError(f"{what} callback must be callable, got {cb!r}")
    try:
        sig = inspect.signature(cb)
    except (TypeError, ValueError):  # builtins without a signature: trust the caller
        return counts[0]
    for n in counts:
        try:
            sig.bind(*range(n))
            return n
        except TypeError:
            continue
    name = getattr(cb, "__qualname__", repr(cb))
    raise TypeError(f"{what} callback {name}{sig} has the wrong signature: it must accept {expected}")


class Model(metaclass=MetaModel):
    """Base class of every docsync model."""

    __abstract__ = True
    __type_name__ = "Model"

    _props: dict[str, Property]
    _ref_props: tuple[Property, ...]
    _factory_props: tuple[Property, ...]

    name = Nullable(String(), help="An arbitrary name, for select() and debugging.")
    tags = List(Any_(), help="Arbitrary values for the user (e.g. for select()).")
    js_property_callbacks = Dict(String, List(Instance("CustomJS")), help='"change:prop" -> CustomJS callbacks.')
    js_event_callbacks = Dict(String, List(Instance("CustomJS")), help="event name -> CustomJS callbacks.")
    subscribed_events = List(String(), help="UI events Python listens to (the browser sends only these).")

    def __init__(self, **kwargs: Any) -> None:
        d = self.__dict__
        d["_id"] = kwargs.pop("id", None) or make_id()
        d["_doc"] = None
        d["_values"] = {}
        d["_callbacks"] = {}
        d["_event_callbacks"] = {}
        for prop in self._factory_props:
            if prop.name not in kwargs:
                d["_values"][prop.name] = prop.default_value()
        for k, v in kwargs.items():
            setattr(self, k, v)

    @classmethod
    def _wrapper(cls, id: str, doc: "Document") -> "Model":
        """A Python object for a model that exists only in the engine (from a patch or a
        snapshot)."""
        self = cls.__new__(cls)
        d = self.__dict__
        d["_id"] = id
        d["_doc"] = doc
        d["_values"] = None
        d["_callbacks"] = {}
        d["_event_callbacks"] = {}
        return self

    # -- attributes --------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        prop = self._props.get(name)
        if prop is not None:
            # fast path: an attached model, a value whose type needs no conversion, no
            # Python callbacks (the engine validates again and records the event; its
            # own lock makes the single call atomic)
            doc = self._doc
            if doc is not None and type(value) in prop.fast and name not in self._callbacks:
                doc._engine.set(self._id, name, value)
                return
            self._set_property(prop, value)
        elif name.startswith("_") or isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
        else:
            raise self._unknown(name)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails
        if name.startswith("__") or name in ("_id", "_doc", "_values", "_callbacks", "_event_callbacks"):
            raise AttributeError(name)
        raise self._unknown(name)

    def _unknown(self, name: str) -> UnknownPropertyError:
        cls = type(self)
        close = difflib.get_close_matches(name, list(self._props), n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return UnknownPropertyError(f"{cls.__name__} has no property {name!r}{hint}")

    def _set_property(self, prop: Property, value: Any) -> None:
        try:
            value = prop.check(value)
        except Invalid as e:
            raise prop.error(value, self, e.detail) from None
        name = prop.name
        doc = self._doc
        cbs = self._callbacks.get(name)
        if doc is None:
            values = self._values
            if cbs:
                old = values.get(name, MISSING)
                if old is MISSING:
                    old = prop.default_value()
            # a detached model may refer to models of a document (a new renderer over an
            # existing source); it can then join only that document (checked on attach)
            values[name] = value
            if cbs and not values_equal(old, value):
                self._fire_change(name, old, value)
            return
        ev = value if prop.plain else prop.to_engine(value)
        with doc._lock:
            if prop.has_refs:
                doc._attach_models(prop.models_in(value), self, name)
                doc._refs_changed = True
            old = doc._engine.set(self._id, name, ev)
        if cbs:
            if not prop.plain:
                old = prop.from_engine(old, doc)
            # as in Bokeh, setting the current value again fires nothing (so two widgets
            # that follow each other do not ping-pong forever)
            if not values_equal(old, value):
                self._fire_change(name, old, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._props))

    # -- identity ----------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The model's globally unique id."""
        return self._id  # type: ignore[no-any-return]

    @property
    def document(self) -> "Document | None":
        """The document this model belongs to, or None."""
        return self._doc

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r})"

    @classmethod
    def properties(cls) -> list[str]:
        """Names of the class's properties."""
        return list(cls._props)

    def properties_with_values(self, include_defaults: bool = True) -> dict[str, Any]:
        """Property name -> current value (only non-default ones with include_defaults=False)."""
        if include_defaults:
            return {k: getattr(self, k) for k in self._props}
        doc = self._doc
        if doc is None:
            return {k: getattr(self, k) for k in self._values}
        return {k: getattr(self, k) for k in doc._engine.props(self._id)}

    def update(self, **kwargs: Any) -> None:
        """Set several properties."""
        for k, v in kwargs.items():
            setattr(self, k, v)

    # -- references and select ---------------------------------------------------------
    def references(self) -> set["Model"]:
        """Every model reachable from this one (itself included)."""
        return set(collect_models([self]))

    def select(self, selector: Any = None, **kw: Any) -> list["Model"]:
        """Models reachable from this one matching a selector: a dict such as
        ``{"type": Button}``, ``{"name": "x"}``, ``{"tags": ...}``, a class, a name, or
        keyword arguments."""
        sel = _selector(selector, kw)
        return [m for m in collect_models([self]) if _matches(m, sel)]

    def select_one(self, selector: Any = None, **kw: Any) -> "Model | None":
        """The one model matching; None if none; ValueError if several."""
        found = self.select(selector, **kw)
        if len(found) > 1:
            raise ValueError(f"found more than one model matching {selector or kw}: {found}")
        return found[0] if found else None

    # -- Python callbacks ----------------------------------------------------------------
    def on_change(self, attr: str, *callbacks: Callable[[str, Any, Any], Any]) -> None:
        """Run ``callback(attr, old, new)`` whenever ``attr`` changes (from Python or from
        a browser)."""
        if attr not in self._props:
            raise self._unknown(attr)
        if not callbacks:
            raise ValueError("on_change takes an attribute name and at least one callback")
        for cb in callbacks:
            _arity(cb, (3,), f"on_change({attr!r})", "(attr, old, new)")
        lst = self._callbacks.setdefault(attr, [])
        for cb in callbacks:
            if cb not in lst:
                lst.append(cb)

    def remove_on_change(self, attr: str, *callbacks: Callable[..., Any]) -> None:
        lst = self._callbacks.get(attr, [])
        for cb in callbacks:
            if cb in lst:
                lst.remove(cb)

    def trigger(self, attr: str, old: Any, new: Any) -> None:
        """Fire ``attr``'s on_change callbacks with (attr, old, new), and make sure the
        current value of ``attr`` is recorded for the browser (the seed's button example
        calls ``ds.trigger('data', ds.data, ds.data)`` after appending to columns)."""
        doc = self._doc
        if doc is not None:
            doc._sync_property(self, attr)
        self._fire_change(attr, old, new)

    def _fire_change(self, attr: str, old: Any, new: Any) -> None:
        for cb in list(self._callbacks.get(attr, ())):
            cb(attr, old, new)

    def on_event(self, event: "str | type[Event]", *callbacks: Callable[..., Any]) -> None:
        """Run ``callback(event)`` (or ``callback()``) when the browser sends ``event``
        (``"button_click"``, ``ButtonClick``, ``"tap"``, ...)."""
        name = event if isinstance(event, str) else getattr(event, "event_name", None)
        if not isinstance(name, str):
            raise TypeError(f"on_event expects an event name or class, got {event!r}")
        from docsync.events import event_class

        event_class(name)  # unknown names raise with a suggestion
        lst = self._event_callbacks.setdefault(name, [])
        for cb in callbacks:
            n = _arity(cb, (1, 0), f"on_event({name!r})", "(event) or ()")
            lst.append((cb, n))
        if name not in self.subscribed_events:
            self.subscribed_events = [*self.subscribed_events, name]

    def _trigger_event(self, event: "Event") -> None:
        """Run the Python handlers of ``event`` (what a browser UI event does)."""
        for cb, n in list(self._event_callbacks.get(event.event_name, ())):
            if n == 1:
                cb(event)
            else:
                cb()

    # -- browser callbacks ----------------------------------------------------------------
    def js_on_change(self, event: str, *callbacks: Any) -> None:
        """Run CustomJS callbacks in the browser when a property changes (``"value"`` or
        ``"change:value"``) or an event fires."""
        if not callbacks:
            raise ValueError("js_on_change takes an event and at least one CustomJS callback")
        if event in self._props:
            event = f"change:{event}"
        if event.startswith("change:"):
            prop = event[len("change:"):]
            if prop not in self._props:
                raise self._unknown(prop)
            current = dict(self.js_property_callbacks)
            lst = list(current.get(event, []))
            lst.extend(cb for cb in callbacks if cb not in lst)
            current[event] = lst
            self.js_property_callbacks = current
        else:
            from docsync.events import _events

            if event not in _events:
                raise self._unknown(event)
            self.js_on_event(event, *callbacks)

    def js_on_event(self, event: "str | type[Event]", *callbacks: Any) -> None:
        """Run CustomJS callbacks in the browser when a UI event fires."""
        name = event if isinstance(event, str) else event.event_name
        current = dict(self.js_event_callbacks)
        lst = list(current.get(name, []))
        lst.extend(cb for cb in callbacks if cb not in lst)
        current[name] = lst
        self.js_event_callbacks = current

    def js_link(self, attr: str, other: "Model", other_attr: str) -> None:
        """Link ``attr`` of this model to ``other_attr`` of ``other``, in the browser."""
        from docsync.models.callbacks import CustomJS

        self.js_on_change(attr, CustomJS(args={"other": other}, code=f"other.{other_attr} = cb_obj.{attr}"))


# ---------------------------------------------------------------------------------------


def values_equal(a: Any, b: Any) -> bool:
    """Equality for change detection: numpy arrays by content, models by identity."""
    if a is b:
        return True
    try:
        import numpy as np

        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
        if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return False
        return bool(a == b)
    except Exception:
        return False


def collect_models(roots: Iterable[Model]) -> Iterator[Model]:
    """Every model reachable from ``roots`` (each once), depth first."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        m = stack.pop()
        if m._id in seen:
            continue
        seen.add(m._id)
        yield m
        for prop in m._ref_props:
            value = prop.__get__(m, type(m))
            if value is None:
                continue
            stack.extend(c for c in prop.models_in(value) if c._id not in seen)


def _selector(selector: Any, kw: dict[str, Any]) -> dict[str, Any]:
    if selector is None:
        sel: dict[str, Any] = {}
    elif isinstance(selector, dict):
        sel = dict(selector)
    elif isinstance(selector, type):
        sel = {"type": selector}
    elif isinstance(selector, str):
        sel = {"name": selector}
    else:
        raise TypeError(f"a selector is a dict, a model class or a name, got {selector!r}")
    sel.update(kw)
    return sel


def _matches(m: Model, sel: dict[str, Any]) -> bool:
    for key, want in sel.items():
        if key == "type":
            if isinstance(want, str):
                if not any(c.__name__ == want or getattr(c, "__type_name__", None) == want for c in type(m).__mro__):
                    return False
            elif not isinstance(m, want):
                return False
        elif key == "id":
            if m._id != want:
                return False
        elif key == "tags":
            tags = m.tags
            wants = want if isinstance(want, (list, tuple, set)) else [want]
            if not any(t in tags for t in wants):
                return False
        else:
            if key not in m._props:
                return False
            if getattr(m, key) != want:
                return False
    return True
