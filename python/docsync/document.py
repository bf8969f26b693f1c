"""The Python Document: roots, title, theme, callbacks, curdoc.

State lives in the Rust engine (``docsync._core.Document``); this class keeps the Python
wrappers of the models (created lazily for models that arrived in a patch or snapshot),
their callbacks, and the session callbacks, and runs ``on_change`` / ``on_event``
callbacks for changes applied from a browser.

What a server or client session calls (docs/architecture.md):

* ``_flush() -> Patch | None`` after every callback and tick;
* ``_apply_patch(patch, client=True) -> list[Change]`` for a patch from a browser (fires
  the Python callbacks);
* ``_load_snapshot(bytes)`` / ``Document.from_snapshot(bytes)`` for pushed documents;
* ``_attach_scheduler(scheduler)`` with ``scheduler.add(cb)`` / ``scheduler.remove(cb)``
  taking :class:`SessionCallback` objects;
* ``set_curdoc(doc)``, a context manager, around app code and callbacks.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

from docsync import _core
from docsync.errors import ColumnError
from docsync.model import DocumentOwnershipError, Model, _arity, _matches, _selector, model_class, values_equal
from docsync.properties import MISSING

if TYPE_CHECKING:
    from docsync.events import Event

__all__ = ["Document", "SessionCallback", "Theme", "curdoc", "set_curdoc", "without_document_lock"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------
# curdoc

_curdoc: contextvars.ContextVar["Document | None"] = contextvars.ContextVar("docsync_curdoc", default=None)
_default_doc: "Document | None" = None
_default_lock = threading.Lock()


def curdoc() -> "Document":
    """The current document: the session's document while a server runs app code or a
    callback (see :func:`set_curdoc`), else a process-wide default document."""
    doc = _curdoc.get()
    if doc is not None:
        return doc
    global _default_doc
    if _default_doc is None:
        with _default_lock:
            if _default_doc is None:
                _default_doc = Document()
    return _default_doc


class set_curdoc:  # noqa: N801 (used like a function: ``with set_curdoc(doc):``)
    """Make ``doc`` what :func:`curdoc` returns inside the ``with`` block (this thread /
    task only). A class, not a generator: it runs around every callback, usually with
    cold caches, where a generator-based context manager costs several times more."""

    __slots__ = ("doc", "_token")

    def __init__(self, doc: "Document") -> None:
        self.doc = doc

    def __enter__(self) -> "Document":
        self._token = _curdoc.set(self.doc)
        return self.doc

    def __exit__(self, *exc: object) -> None:
        _curdoc.reset(self._token)


def _autoadd(model: "Model") -> None:
    """Bokeh 0.11's autoadd: a ``figure()`` made outside a served app (no ``set_curdoc``)
    becomes a root of the default document, as the seed's push_session script expects.
    It is added lazily (at the next flush, snapshot or ``roots``) and only if by then it
    is still in no document, so putting it in a layout or another document wins."""
    if _curdoc.get() is None:
        pending = curdoc()._pending_roots
        # weak: a figure that went into another document (or was dropped) must not be
        # kept alive by the process-wide default document
        pending[:] = [r for r in pending if (m := r()) is not None and m._doc is None]
        pending.append(weakref.ref(model))


def _reset_default_curdoc() -> None:
    """For tests and io.reset_output(): forget the default document."""
    global _default_doc
    _default_doc = None


# ---------------------------------------------------------------------------------------
# session callbacks


def without_document_lock(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run this (async) callback without holding the document's lock, as Bokeh's
    decorator of the same name: for callbacks that wait on slow work. Changes to the
    document must then go through ``doc.add_next_tick_callback``."""
    func.nolock = True  # type: ignore[attr-defined]
    return func



class SessionCallback:
    """A periodic, timeout or next-tick callback registered on a document.

    The scheduler (server session or client session) calls :meth:`run` when it is due.
    ``run()`` returns None, or an awaitable the scheduler must await (async callbacks).
    A periodic callback whose previous run has not finished is skipped, so calls never
    pile up.
    """

    def __init__(self, doc: "Document", callback: Callable[[], Any], kind: str, *, period_ms: float | None = None, timeout_ms: float | None = None) -> None:
        self.document = doc
        self.callback = callback
        self.kind = kind
        self.period_ms = period_ms
        self.timeout_ms = timeout_ms
        self._run_lock = threading.Lock()
        self._nolock = bool(getattr(callback, "nolock", False))  # @without_document_lock
        self.removed = False

    @property
    def id(self) -> int:
        return id(self)

    @property
    def running(self) -> bool:
        """True while a run (or an async run's awaitable) is in progress."""
        return self._run_lock.locked()

    def run(self) -> Any:
        if self.removed:
            return None
        # a run still in progress (an async callback, or another thread) makes this one a
        # no-op: calls never pile up
        if not self._run_lock.acquire(blocking=False):
            return None
        doc = self.document
        if self.kind != "periodic":
            doc._forget_callback(self)
        result: Any = None
        # curdoc() is ``doc`` while it runs (set_curdoc's two lines, inline: this runs on
        # every tick of every session, with cold caches, where each call counts)
        token = _curdoc.set(doc)
        try:
            if self._nolock:
                result = self.callback()
            else:
                with doc._lock:
                    result = self.callback()
        finally:
            _curdoc.reset(token)
            pending = result is not None and inspect.isawaitable(result)
            if not pending:
                self._run_lock.release()
        if pending:
            return self._finish(result)
        return None

    async def _finish(self, awaitable: Any) -> None:
        try:
            with set_curdoc(self.document):
                await awaitable
        finally:
            self._run_lock.release()

    def __repr__(self) -> str:
        when = f"{self.period_ms} ms" if self.kind == "periodic" else f"{self.timeout_ms} ms" if self.kind == "timeout" else "next tick"
        return f"<SessionCallback {self.kind} {when} {getattr(self.callback, '__qualname__', self.callback)!r}>"


# ---------------------------------------------------------------------------------------
# theme


class Theme:
    """Default property values per model type: ``Theme(json={"attrs": {"Plot": {...}}})``
    or ``Theme(filename="theme.yaml")`` (Bokeh's format; a bare ``{Type: {...}}`` dict
    is accepted too)."""

    def __init__(self, filename: str | None = None, json: dict[str, Any] | None = None) -> None:
        if filename is not None:
            import yaml

            with open(filename, encoding="utf-8") as f:
                json = yaml.safe_load(f) or {}
        json = json or {}
        attrs = json.get("attrs", json) if isinstance(json, dict) else None
        if not isinstance(attrs, dict):
            raise ValueError("a theme is a dict {'attrs': {TypeName: {prop: value}}}")
        from docsync.model import _all_classes, _classes

        given: dict[type, dict[str, Any]] = {}
        for type_name, values in attrs.items():
            if type_name == "figure":
                type_name = "Plot"
            cls = _all_classes.get(type_name)  # type: ignore[assignment]
            if cls is None:
                log.warning("theme: ignoring unknown model type %r", type_name)
                continue
            cls = _classes.get(cls.__type_name__, cls)  # Figure -> Plot
            checked = {}
            for prop_name, v in (values or {}).items():
                prop = cls._props.get(prop_name)
                if prop is None:
                    raise cls.__new__(cls)._unknown(prop_name)
                checked[prop_name] = prop.to_engine(prop.validate(v))
            given[cls] = checked
        # a theme for a base class (Axis) applies to its subclasses (LinearAxis), as in Bokeh
        self.attrs: dict[str, dict[str, Any]] = {}
        for type_name, cls in _classes.items():
            merged: dict[str, Any] = {}
            for base in reversed(cls.__mro__):
                merged.update(given.get(base, {}))
            if merged:
                self.attrs[type_name] = merged


# ---------------------------------------------------------------------------------------


class Document:
    """A document: the models reachable from its roots, a title, a theme, callbacks."""

    def __init__(self, *, title: str | None = None, _engine: Any = None) -> None:
        self._engine = _engine if _engine is not None else _core.Document()
        self._models: dict[str, Model] = {}
        self._lock = threading.RLock()
        self._session_callbacks: list[SessionCallback] = []
        self._scheduler: Any = None
        self._held = False
        self._theme: Theme | None = None
        self._column_stash: dict[str, dict[str, Any]] = {}
        # a reference-holding property changed since the last flush: models may have
        # become unreachable (collected at the flush, so the browser drops them too)
        self._refs_changed = False
        self._pending_roots: list[weakref.ref[Model]] = []
        self._destroyed_callbacks: list[Callable[[Any], Any]] = []
        #: set by the server for a session's document (Bokeh's ``session_context``:
        #: ``.id``, ``.request.arguments``, ...); None elsewhere
        self.session_context: Any = None
        self._change_callbacks: list[Callable[[Any], Any]] = []
        self._message_callbacks: dict[str, list[Callable[..., Any]]] = {}
        if title is not None:
            self.title = title

    # -- title, roots ----------------------------------------------------------------
    @property
    def title(self) -> str:
        return self._engine.title  # type: ignore[no-any-return]

    @title.setter
    def title(self, title: str) -> None:
        if not isinstance(title, str):
            raise TypeError(f"Document.title must be a str, got {title!r}")
        with self._lock:
            self._engine.set_title(title)

    @property
    def roots(self) -> list[Model]:
        self._add_pending_roots()
        return [self._resolve(i) for i in self._engine.roots()]

    def _add_pending_roots(self) -> None:
        if not self._pending_roots:
            return
        with self._lock:
            pending, self._pending_roots = self._pending_roots, []
            for ref in pending:
                m = ref()
                if m is not None and m._doc is None:
                    self.add_root(m)

    def add_root(self, model: Model) -> None:
        """Add a root model; it and every model it references join the document."""
        if not isinstance(model, Model):
            raise TypeError(f"add_root expects a model, got {model!r}")
        with self._lock:
            if model._doc is not None and model._doc is not self:
                raise DocumentOwnershipError(f"{model!r} already belongs to another document; remove it there first")
            if model._id in self._engine.roots():
                return
            self._attach_models([model], None, None)
            self._engine.add_root(model._id)

    def remove_root(self, model: Model) -> None:
        """Remove a root; models no longer reachable leave the document and get their
        values back as plain Python values (they can be added elsewhere)."""
        with self._lock:
            released = self._engine.remove_root(model._id)
            self._detach(released)

    def clear(self) -> None:
        """Remove every root."""
        with self._lock:
            for rid in list(self._engine.roots()):
                self._detach(self._engine.remove_root(rid))

    # -- models -----------------------------------------------------------------------
    def get_model_by_id(self, id: str) -> Model | None:
        """The model with this id (a Python wrapper is created on first use), or None."""
        m = self._models.get(id)
        if m is not None:
            return m
        if not self._engine.has_model(id):
            return None
        return self._resolve(id)

    def _resolve(self, id: str) -> Model:
        m = self._models.get(id)
        if m is None:
            type_name = self._engine.model_type(id)
            m = model_class(type_name)._wrapper(id, self)
            self._models[id] = m
        return m

    @property
    def models(self) -> list[Model]:
        return [self._resolve(i) for i in self._engine.model_ids()]

    def select(self, selector: Any = None, **kw: Any) -> list[Model]:
        """Models of this document matching a selector (see ``Model.select``)."""
        sel = _selector(selector, kw)
        return [m for m in self.models if _matches(m, sel)]

    def select_one(self, selector: Any = None, **kw: Any) -> Model | None:
        found = self.select(selector, **kw)
        if len(found) > 1:
            raise ValueError(f"found more than one model matching {selector or kw}: {found}")
        return found[0] if found else None

    def _attach_models(self, models: Iterable[Model], owner: Model | None, prop_name: str | None) -> None:
        """Move detached models (and everything they reach) into the engine."""
        todo: list[Model] = []
        seen: set[str] = set()

        def visit(m: Model) -> None:
            if m._doc is self or m._id in seen:
                return
            if m._doc is not None:
                where = f" (set as {type(owner).__name__}.{prop_name})" if owner is not None else ""
                raise DocumentOwnershipError(
                    f"{m!r}{where} belongs to another document; a model can be in one document only"
                )
            seen.add(m._id)
            values = m._values
            for prop in m._ref_props:
                v = values.get(prop.name, MISSING)
                if v is MISSING or v is None:
                    continue
                for child in prop.models_in(v):
                    visit(child)
            todo.append(m)

        for m in models:
            visit(m)
        if not todo:
            return
        engine = self._engine
        for m in todo:
            props = {}
            for name, v in m._values.items():
                prop = m._props[name]
                props[name] = v if prop.plain else prop.to_engine(v)
            engine.add_model(m._id, m.__type_name__, props)
        for m in todo:
            m.__dict__["_doc"] = self
            m.__dict__["_values"] = None
            self._models[m._id] = m

    def _detach(self, ids: Iterable[str]) -> None:
        """Models released by the engine: give their wrappers plain values back."""
        taken = []
        for i in ids:
            try:
                type_name, props = self._engine.take_model(i)
            except Exception:  # already gone
                type_name, props = None, {}
            m = self._models.get(i)
            if m is None and type_name is not None:
                m = model_class(type_name)._wrapper(i, self)
                self._models[i] = m
            if m is not None:
                taken.append((m, props))
        for m, props in taken:
            values = {}
            for name, v in props.items():
                prop = m._props.get(name)
                if prop is None:
                    continue
                values[name] = v if prop.plain else prop.from_engine(v, self)
            stash = self._column_stash.pop(m._id, None)
            if stash and "data" in values:
                values["data"] = {**values["data"], **stash}
            m.__dict__["_values"] = values
        for m, _ in taken:
            m.__dict__["_doc"] = None
            self._models.pop(m._id, None)

    def _sync_property(self, model: Model, attr: str) -> None:
        """Make sure the current value of ``attr`` is recorded (``Model.trigger``)."""
        if model._id in self._column_stash:
            with self._lock:
                self._write_stash(model, force=True)

    # -- column writes that make lengths unequal for a while --------------------------
    def _set_column(self, model: Model, prop: str, name: str, value: Any) -> None:
        with self._lock:
            stash = self._column_stash.get(model._id)
            if stash is None:
                try:
                    self._engine.set_column(model._id, prop, name, value)
                    return
                except ColumnError:
                    # e.g. ds.data['x'].append(v) before y is appended (the seed's button
                    # app): keep it here until the columns agree again
                    stash = self._column_stash[model._id] = {}
            stash[name] = value
            self._write_stash(model)

    def _write_stash(self, model: Model, force: bool = False) -> None:
        stash = self._column_stash.get(model._id)
        if not stash:
            return
        engine = self._engine
        names = engine.column_names(model._id, "data")
        lengths = {len(v) for v in stash.values()}
        if len(lengths) != 1:
            if force:
                log.warning("%r: columns have unequal lengths %s; not sent yet", model, {k: len(v) for k, v in stash.items()})
            return
        (n,) = lengths
        if set(names) <= set(stash):
            engine.set(model._id, "data", {**{k: stash[k] for k in names}, **stash})
        elif engine.column_len(model._id, "data") == n:
            for k, v in stash.items():
                engine.set_column(model._id, "data", k, v)
        else:
            if force:
                log.warning("%r: columns %s have %d rows, the others %d; not sent yet", model, sorted(stash), n, engine.column_len(model._id, "data"))
            return
        del self._column_stash[model._id]

    # -- theme -------------------------------------------------------------------------
    @property
    def theme(self) -> Theme | None:
        return self._theme

    @theme.setter
    def theme(self, theme: "Theme | dict[str, Any] | str | None") -> None:
        if theme is None:
            theme = Theme(json={})
        elif isinstance(theme, dict):
            theme = Theme(json=theme)
        elif isinstance(theme, str):
            theme = Theme(filename=theme)
        elif not isinstance(theme, Theme):
            raise TypeError(f"a theme is a Theme, a dict or a theme.yaml path, got {theme!r}")
        with self._lock:
            self._engine.set_theme(theme.attrs)
        self._theme = theme

    # -- hold --------------------------------------------------------------------------
    def hold(self, policy: str = "combine") -> None:
        """Keep changes back (they still coalesce) until :meth:`unhold`."""
        if policy not in ("combine", "collect"):
            raise ValueError(f"hold policy must be 'combine' or 'collect', got {policy!r}")
        self._held = True

    def unhold(self) -> None:
        """Release held changes (sent with the next flush)."""
        if not self._held:
            return
        self._held = False
        if self._scheduler is not None:
            self.add_next_tick_callback(lambda: None)  # let the session flush soon

    # -- session callbacks -------------------------------------------------------------
    def _add_callback(self, cb: SessionCallback) -> SessionCallback:
        with self._lock:
            self._session_callbacks.append(cb)
            scheduler = self._scheduler
        if scheduler is not None:
            scheduler.add(cb)
        return cb

    def _forget_callback(self, cb: SessionCallback) -> None:
        with self._lock:
            if cb in self._session_callbacks:
                self._session_callbacks.remove(cb)

    def _remove_callback(self, cb: "SessionCallback | Callable[[], Any]", kind: str) -> None:
        if not isinstance(cb, SessionCallback):
            # Bokeh 0.11 style: remove_periodic_callback(update) with the function itself
            with self._lock:
                found = [c for c in self._session_callbacks if c.kind == kind and c.callback == cb]
            if not found:
                raise ValueError(f"{cb!r} is not a {kind} callback of this document")
            cb = found[0]
        if cb.kind != kind:
            raise ValueError(f"{cb!r} is not a {kind} callback of this document")
        with self._lock:
            present = cb in self._session_callbacks
            if present:
                self._session_callbacks.remove(cb)
            scheduler = self._scheduler
        if not present and not cb.removed:
            raise ValueError(f"{cb!r} is not registered on this document (already removed?)")
        cb.removed = True
        if scheduler is not None:
            scheduler.remove(cb)

    def add_periodic_callback(self, callback: Callable[[], Any], period_milliseconds: float) -> SessionCallback:
        """Run ``callback()`` every ``period_milliseconds``; a run that is still going
        (e.g. an async callback) makes the next one wait."""
        _arity(callback, (0,), "add_periodic_callback", "no arguments")
        if period_milliseconds <= 0:
            raise ValueError("period_milliseconds must be positive")
        return self._add_callback(SessionCallback(self, callback, "periodic", period_ms=period_milliseconds))

    def add_timeout_callback(self, callback: Callable[[], Any], timeout_milliseconds: float) -> SessionCallback:
        """Run ``callback()`` once after ``timeout_milliseconds``."""
        _arity(callback, (0,), "add_timeout_callback", "no arguments")
        return self._add_callback(SessionCallback(self, callback, "timeout", timeout_ms=timeout_milliseconds))

    def add_next_tick_callback(self, callback: Callable[[], Any]) -> SessionCallback:
        """Run ``callback()`` on the session's next tick. Thread-safe: the way to change
        the document from another thread."""
        _arity(callback, (0,), "add_next_tick_callback", "no arguments")
        return self._add_callback(SessionCallback(self, callback, "next_tick", timeout_ms=0))

    def remove_periodic_callback(self, callback: "SessionCallback | Callable[[], Any]") -> None:
        self._remove_callback(callback, "periodic")

    def remove_timeout_callback(self, callback: "SessionCallback | Callable[[], Any]") -> None:
        self._remove_callback(callback, "timeout")

    def remove_next_tick_callback(self, callback: "SessionCallback | Callable[[], Any]") -> None:
        self._remove_callback(callback, "next_tick")

    @property
    def session_callbacks(self) -> list[SessionCallback]:
        with self._lock:
            return list(self._session_callbacks)

    def _attach_scheduler(self, scheduler: Any) -> None:
        """Hand every registered callback (and later ones) to ``scheduler``
        (``add(cb)`` / ``remove(cb)``). ``None`` detaches."""
        with self._lock:
            old = self._scheduler
            self._scheduler = scheduler
            cbs = list(self._session_callbacks)
        if old is not None and old is not scheduler:
            for cb in cbs:
                old.remove(cb)
        if scheduler is not None:
            for cb in cbs:
                scheduler.add(cb)

    # -- document-level events ---------------------------------------------------------
    def on_message(self, name: str, callback: Callable[..., Any]) -> None:
        """Run ``callback(data)`` for ``msg`` events that target no model."""
        self._message_callbacks.setdefault(name, []).append(callback)

    def on_change(self, callback: Callable[[Any], Any]) -> None:
        """Run ``callback(change)`` for every change applied from a patch (a
        ``docsync.core.Change``)."""
        _arity(callback, (1,), "Document.on_change", "(change)")
        self._change_callbacks.append(callback)

    def on_session_destroyed(self, *callbacks: Callable[[Any], Any]) -> None:
        """Run ``callback(session_context)`` when the session of this document ends."""
        for cb in callbacks:
            _arity(cb, (1,), "on_session_destroyed", "(session_context)")
            self._destroyed_callbacks.append(cb)

    def _destroy(self, session_context: Any = None) -> None:
        """Called by the server when the session ends: runs on_session_destroyed
        callbacks (errors are logged), forgets session callbacks and the scheduler."""
        ctx = session_context if session_context is not None else self.session_context
        for cb in list(self._destroyed_callbacks):
            try:
                with set_curdoc(self):
                    cb(ctx)
            except Exception:
                log.exception("error in an on_session_destroyed callback")
        self._destroyed_callbacks.clear()
        self._attach_scheduler(None)
        with self._lock:
            for session_cb in self._session_callbacks:
                session_cb.removed = True
            self._session_callbacks.clear()

    # -- engine hooks for sessions -------------------------------------------------------
    def _flush(self) -> Any:
        """The coalesced Patch of every change since the last flush, or None (also None
        while held)."""
        with self._lock:
            if self._held:
                return None
            if self._pending_roots:
                self._add_pending_roots()
            if self._column_stash:
                for mid in list(self._column_stash):
                    m = self._models.get(mid)
                    if m is not None:
                        self._write_stash(m, force=True)
            if self._refs_changed:
                self._refs_changed = False
                self._detach(self._engine.collect())
            return self._engine.flush()

    def _apply_patch(self, patch: Any, client: bool = True) -> list[Any]:
        """Apply a patch atomically, then run the Python callbacks of what changed."""
        with self._lock:
            changes = self._engine.apply(patch, client)
            self._dispatch(changes)
        return changes  # type: ignore[no-any-return]

    def _load_snapshot(self, data: bytes) -> list[Any]:
        """Replace the whole state by a snapshot (resync / pushed document)."""
        with self._lock:
            changes = self._engine.load_snapshot(data)
            stale = [i for i in self._models if not self._engine.has_model(i)]
            for i in stale:
                m = self._models.pop(i)
                m.__dict__["_doc"] = None
                m.__dict__["_values"] = {}
            self._dispatch(changes)
        return changes  # type: ignore[no-any-return]

    def _dispatch(self, changes: Iterable[Any]) -> None:
        from docsync.events import make_event

        for ch in changes:
            kind = ch.kind
            try:
                if kind == "set":
                    m = self._models.get(ch.id)
                    if m is not None and m._callbacks.get(ch.prop):
                        prop = m._props[ch.prop]
                        old = ch.old if prop.plain else prop.from_engine(ch.old, self)
                        new = ch.new if prop.plain else prop.from_engine(ch.new, self)
                        if not values_equal(old, new):
                            m._fire_change(ch.prop, old, new)
                elif kind in ("data", "stream", "patch"):
                    m = self._models.get(ch.id)
                    if m is not None and m._callbacks.get(ch.prop):
                        m._fire_change(ch.prop, ch.old, getattr(m, ch.prop))
                elif kind == "msg":
                    if ch.id is None:
                        for cb in list(self._message_callbacks.get(ch.name, ())):
                            cb(ch.new)
                    else:
                        m = self._models.get(ch.id)
                        if m is not None and m._event_callbacks.get(ch.name):
                            m._trigger_event(make_event(ch.name, m, ch.new))
                elif kind == "del":
                    m = self._models.pop(ch.id, None)
                    if m is not None:
                        m.__dict__["_doc"] = None
                        m.__dict__["_values"] = {}
                for cb in self._change_callbacks:
                    cb(ch)
            except Exception:
                log.exception("error in a callback for %s change of %s", kind, ch.id)

    def _trigger_event(self, model: Model, event_name: str, data: Any = None) -> None:
        """Simulate a browser UI event on ``model`` (runs its Python handlers)."""
        from docsync.events import make_event

        model._trigger_event(make_event(event_name, model, data))

    def send_message(self, model: Model | None, name: str, data: Any = None) -> None:
        """Send a custom ``msg`` event to the browser."""
        with self._lock:
            self._engine.send_message(None if model is None else model._id, name, data)

    # -- snapshots and JSON ------------------------------------------------------------
    def _snapshot(self) -> bytes:
        with self._lock:
            self._add_pending_roots()
            return self._engine.snapshot()  # type: ignore[no-any-return]

    @classmethod
    def from_snapshot(cls, data: bytes) -> "Document":
        return cls(_engine=_core.Document.from_snapshot(data))

    def to_json(self) -> dict[str, Any]:
        """The snapshot as a JSON-compatible dict (what ``docsync json APP`` prints):
        references become ``{"ref": id}``, typed arrays
        ``{"__ndarray__": [...], "dtype": ..., "shape": [...]}``."""
        return _to_json(_core.decode(self._snapshot()))

    def to_json_string(self, indent: int | None = None) -> str:
        import json

        return json.dumps(self.to_json(), indent=indent, allow_nan=True)

    @classmethod
    def from_json(cls, data: "dict[str, Any] | str") -> "Document":
        """The document of a :meth:`to_json` result (dict or JSON string)."""
        if isinstance(data, str):
            import json

            data = json.loads(data)
        return cls.from_snapshot(_core.encode(_from_json(data)))

    def __repr__(self) -> str:
        return f"<Document title={self.title!r} roots={len(self._engine.roots())}>"


def _to_json(v: Any) -> Any:
    if isinstance(v, _core.Ref):
        return {"ref": v.id}
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "M":
            return {"__ndarray__": v.astype(np.int64).tolist(), "dtype": "datetime64[ms]", "shape": list(v.shape)}
        return {"__ndarray__": v.tolist(), "dtype": v.dtype.name, "shape": list(v.shape)}
    if isinstance(v, dict):
        return {k: _to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    if isinstance(v, bytes):
        import base64

        return {"__bytes__": base64.b64encode(v).decode()}
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, dict):
        if len(v) == 1 and "ref" in v and isinstance(v["ref"], str):
            return _core.Ref(v["ref"])
        if "__ndarray__" in v:
            arr = np.array(v["__ndarray__"], dtype=np.int64 if v["dtype"].startswith("datetime64") else v["dtype"])
            if v["dtype"].startswith("datetime64"):
                arr = arr.astype("datetime64[ms]")
            return arr.reshape(v["shape"])
        if len(v) == 1 and "__bytes__" in v:
            import base64

            return base64.b64decode(v["__bytes__"])
        return {k: _from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    return v


# Every model type must be registered with the engine before a snapshot or patch naming
# it arrives (a pulled session, a pushed document): importing the Document imports the
# catalogue.
from docsync import models as _models  # noqa: E402,F401
