"""A live session: one Document, its connections, its sequence of changes.

Threading model
---------------
* The **I/O loop thread** reads frames and decides what they mean.
* Every piece of work that touches the Document (app code, client patches, callbacks,
  timers, snapshots) runs as a job of the session's
  :class:`~docsync.server.executor.SerialQueue`, in a worker thread, one job at a time,
  in submission order.
* After each job the session flushes the Document once: the coalesced events become one
  ``patch`` message with the next sequence number, encoded once, appended to the bounded
  log, and written **by that worker thread** to every connection whose state is older than
  that number (the same bytes to each; connection transports are thread-safe, see
  :mod:`docsync.server.writer`). No hop through the I/O loop: an update costs one thread
  wake-up, the one that ran the callback.
* The connection set, each connection's ``synced_seq`` and ``delivered_seq`` are guarded
  by the session's lock, so a delivery and a connection joining or leaving never
  interleave.

A connection joins at a known number: a new one gets a snapshot taken inside a job (so it
is consistent with the numbering), a resuming one gets the logged messages after its
acknowledged number, or a snapshot when the log no longer holds them.

Connections are duck-typed (see :class:`docsync.server.protocol.ServerConnection`):
``send(bytes)``, ``close(code, reason)``, ``synced_seq``, ``client_id``, ``closed``.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from tornado.ioloop import IOLoop

from docsync import _core
from docsync.document import _curdoc, set_curdoc
from docsync.errors import DocsyncError
from docsync.server.executor import SerialQueue, TimerHandle, run_awaitable
from docsync.server.metrics import Metrics

if TYPE_CHECKING:
    from docsync.server.contexts import SessionContext

__all__ = [
    "PatchLog",
    "DocumentHandle",
    "SessionScheduler",
    "ServerSession",
    "current_session_context",
    "error_code",
]

log = logging.getLogger("docsync.server")

def current_session_context() -> "SessionContext | None":
    """The session context of the app code or callback running in this thread: its
    session's, as ``curdoc().session_context`` (None outside a session). The server sets
    curdoc() around all of a session's code, so this needs no state of its own."""
    return getattr(_curdoc.get(), "session_context", None)


def _no_changes() -> None:
    return None


# the session's Tally counters (ServerSession.tally), in order
_CALLBACKS, _CALLBACK_SECONDS, _PATCHES, _ENCODE_SECONDS, _MESSAGES_OUT, _BYTES_OUT = range(6)


_ERROR_CODES: list[tuple[str, str]] = [
    ("LimitError", "limit"),
    ("DecodeError", "decode"),
    ("ReadOnlyPropertyError", "read_only"),
    ("UnknownModelError", "unknown_model"),
    ("UnknownPropertyError", "unknown_property"),
    ("ValidationError", "validation"),
    ("ColumnError", "column"),
    ("PatchError", "patch"),
    ("ProtocolError", "protocol"),
    ("EncodeError", "encode"),
    ("SchemaError", "schema"),
]


def error_code(exc: BaseException) -> str:
    """The protocol ``error`` code for an exception (its class, never a traceback)."""
    names = {c.__name__ for c in type(exc).__mro__}
    for name, code in _ERROR_CODES:
        if name in names:
            return code
    return "internal"


class PatchLog:
    """The last encoded ``patch`` messages of a session, bounded by count and bytes.

    Each entry remembers the client change it came from (``(client_id, client_seq)``),
    so a resuming client gets ``ok`` for its own changes instead of their echo.
    Thread-safe: appended by the session's worker, read and trimmed on the loop."""

    def __init__(self, max_messages: int = 1000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: collections.deque[tuple[int, bytes, tuple[str, int] | None]] = collections.deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.first_missing = 0  # highest seq no longer in the log (0: nothing dropped)

    def append(self, seq: int, message: bytes, origin: tuple[str, int] | None = None) -> None:
        with self._lock:
            self._items.append((seq, message, origin))
            self._bytes += len(message)
            while self._items and (len(self._items) > self.max_messages or self._bytes > self.max_bytes):
                self._drop_first()

    def _drop_first(self) -> None:
        s, m, _ = self._items.popleft()
        self._bytes -= len(m)
        self.first_missing = s

    def trim(self, upto: int) -> None:
        """Forget messages with seq <= upto (every client has them)."""
        with self._lock:
            while self._items and self._items[0][0] <= upto:
                self._drop_first()

    def entries(self, after: int, upto: int) -> list[tuple[int, bytes, tuple[str, int] | None]] | None:
        """(seq, message, origin) with after < seq <= upto, or None when some are gone."""
        with self._lock:
            if after < self.first_missing:
                return None
            out = [e for e in self._items if after < e[0] <= upto]
        if len(out) != upto - after:
            return None
        return out

    def since(self, after: int, upto: int) -> list[bytes] | None:
        """Messages with after < seq <= upto, or None when some are no longer held."""
        entries = self.entries(after, upto)
        return None if entries is None else [m for _, m, _ in entries]

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes


class DocumentHandle:
    """The few Document operations a session needs, over either the Python Document
    (``docsync.document.Document``: ``_flush``, ``_apply_patch``, ``_attach_scheduler``)
    or a bare engine ``docsync._core.Document``."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.is_engine = isinstance(doc, _core.Document)
        #: The coalesced Patch of every change since the last flush, or None.
        self.flush: Callable[[], Any] = doc.flush if self.is_engine else getattr(doc, "_flush", _no_changes)

    @property
    def engine(self) -> Any:
        if self.is_engine:
            return self.doc
        for name in ("_engine", "_core", "_doc", "_state", "core"):
            e = getattr(self.doc, name, None)
            if isinstance(e, _core.Document):
                return e
        raise AttributeError("the Python Document does not expose its engine document")

    def apply_client(self, patch: Any, enforce_writable: bool = True) -> Any:
        if self.is_engine:
            return self.doc.apply(patch, client=enforce_writable)
        return self.doc._apply_patch(patch, client=enforce_writable)

    def snapshot_message(self, seq: int) -> bytes:
        return self.engine.snapshot_message(seq)

    def load_snapshot(self, data: bytes) -> None:
        if not self.is_engine:
            for name in ("_load_snapshot", "_replace_with_snapshot"):
                fn = getattr(self.doc, name, None)
                if fn is not None:
                    fn(data)
                    return
        self.engine.load_snapshot(data)

    def copy_engine(self) -> Any:
        return self.engine.copy()

    def attach_scheduler(self, scheduler: "SessionScheduler") -> None:
        fn = getattr(self.doc, "_attach_scheduler", None)
        if fn is not None:
            fn(scheduler)

    def as_curdoc(self) -> ContextManager[Any]:
        """``curdoc()`` is this document inside the block (a bare engine has no curdoc)."""
        if self.is_engine:
            return contextlib.nullcontext()
        return set_curdoc(self.doc)


class SessionScheduler:
    """Implements the Document's scheduler interface (``add(cb)`` / ``remove(cb)``) with the
    timers of the session's queue (:meth:`SerialQueue.call_every`,
    :meth:`SerialQueue.call_later`): a due callback runs as a job of the session, in the
    worker thread that woke for it, with no hop through the I/O loop.

    ``cb`` is a SessionCallback: ``.kind`` in {"periodic", "timeout", "next_tick"},
    ``.period_ms`` / ``.timeout_ms``, ``.run()``. A periodic callback whose previous run
    has not finished is skipped (runs never pile up). ``add`` and ``remove`` may be called
    from any thread."""

    def __init__(self, session: "ServerSession") -> None:
        self._session = session
        self._handles: dict[int, TimerHandle | None] = {}  # active callbacks (by id)
        self._lock = threading.Lock()
        self._closed = False

    def add(self, callback: Any) -> None:
        key = id(callback)
        with self._lock:
            if self._closed:
                return
            self._handles[key] = None
        kind = getattr(callback, "kind", "next_tick")
        queue = self._session.queue
        if kind == "next_tick":
            queue.submit(functools.partial(self._run_once, callback))
            return
        if kind == "periodic":
            period = max(1.0, float(getattr(callback, "period_ms", 0) or 0)) / 1000.0
            # straight to the session (no frame of ours in between, every tick): a removed
            # callback's timer is cancelled by remove(), and the callback checks .removed
            run = functools.partial(self._session._run_callback, callback.run, kind, True, True)
            handle = queue.call_every(period, run)
        else:  # timeout
            delay = max(0.0, float(getattr(callback, "timeout_ms", 0) or 0)) / 1000.0
            handle = queue.call_later(delay, functools.partial(self._run_once, callback))
        with self._lock:
            if key in self._handles:
                self._handles[key] = handle
                return
        handle.cancel()  # removed meanwhile

    def remove(self, callback: Any) -> None:
        with self._lock:
            handle = self._handles.pop(id(callback), None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        """Stop every timer (the session is being destroyed)."""
        with self._lock:
            self._closed = True
            handles = [h for h in self._handles.values() if h is not None]
            self._handles.clear()
        for h in handles:
            h.cancel()

    def __len__(self) -> int:
        return len(self._handles)

    def _run_once(self, cb: Any) -> None:
        """A timeout or next-tick callback: forgotten as it runs (unless removed before)."""
        with self._lock:
            if self._handles.pop(id(cb), False) is False:
                return
        self._session._run_callback(cb.run, getattr(cb, "kind", "callback"), sets_curdoc=True)


class ServerSession:
    """One live session. See the module docstring for the threading model."""

    def __init__(
        self,
        session_id: str,
        document: Any,
        context: "SessionContext",
        loop: IOLoop,
        metrics: Metrics | None = None,
        log_max_messages: int = 1000,
        log_max_bytes: int = 64 * 1024 * 1024,
        app_name: str = "",
    ) -> None:
        self.id = session_id
        self.document = document
        self.handle = DocumentHandle(document)
        self.context = context
        self.loop = loop
        self.metrics = metrics or Metrics()
        self.app_name = app_name
        self.queue = SerialQueue()
        self.log = PatchLog(log_max_messages, log_max_bytes)
        self.scheduler = SessionScheduler(self)
        self.handle.attach_scheduler(self.scheduler)
        self.module: Any = None  # the app module of this session (released on destroy)
        self.seq = 0  # last assigned change number (worker side)
        self._lock = threading.RLock()  # guards what follows, up to the figures
        self.delivered_seq = 0  # last number written to connections
        self.connections: set[Any] = set()
        self._client_applied: dict[str, tuple[int, int]] = {}  # client_id -> (client seq, session seq)
        self._client_acks: dict[str, int] = {}
        # per-session figures for /metrics (count_in / count_out)
        self.messages_in = 0
        self.bytes_in = 0
        self.created = time.monotonic()
        # the per-update counters, written without a lock: by this session's jobs (one at
        # a time) or under self._lock (messages and bytes out); retired in release()
        m = self.metrics
        self.tally = m.tally(
            m.key("docsync_callbacks_total", app=app_name),
            m.key("docsync_callback_seconds_total", app=app_name),
            m.key("docsync_patches_encoded_total"),
            m.key("docsync_encode_seconds_total"),
            m.key("docsync_messages_out_total"),
            m.key("docsync_bytes_out_total"),
        )
        self.last_detached = time.monotonic()
        self.destroyed = False
        # True for sessions of the empty app (pushed documents): see Application.accepts_push
        self.clients_own_document = False
        self.on_unused: Callable[[], None] | None = None  # see AppSessions.on_unused
        with contextlib.suppress(Exception):
            setattr(document, "session_context", context)

    @property
    def messages_out(self) -> int:
        return int(self.tally.values[_MESSAGES_OUT])

    @property
    def bytes_out(self) -> int:
        return int(self.tally.values[_BYTES_OUT])

    # ------------------------------------------------------------------ worker side
    def _entered(self) -> ContextManager[Any]:
        """This session's document as curdoc(), and so its context as
        :func:`current_session_context` (``with self._entered():``)."""
        return self.handle.as_curdoc()

    def run_in_document(self, fn: Callable[[], Any], what: str = "app code", publish: bool = True) -> Any:
        """Run ``fn`` with curdoc() set to this session's document, then flush (and
        send the changes, unless ``publish`` is false: the app code that builds a new
        session's document is not a change anybody needs, the snapshot has it).
        Exceptions are logged with their traceback and swallowed (the session lives on).
        Must be called from a job of this session's queue."""
        return self._run_callback(fn, what, publish)

    def _run_callback(self, fn: Callable[[], Any], what: str, publish: bool = True, sets_curdoc: bool = False) -> Any:
        """Run ``fn`` in this session (``sets_curdoc``: ``fn`` is a Document callback's
        ``run``, which sets curdoc and takes the document lock itself)."""
        if self.destroyed:
            return None
        t0 = time.perf_counter()
        result = None
        try:
            if sets_curdoc:  # a Document callback's run: it sets curdoc, also for its awaitable
                result = fn()
                if result is not None and inspect.isawaitable(result):
                    result = run_awaitable(result)
            else:
                with self.handle.as_curdoc():  # app code: curdoc set, also while awaited
                    result = fn()
                    if result is not None and inspect.isawaitable(result):
                        result = run_awaitable(result)
        except Exception:
            self.metrics.inc("docsync_callback_errors_total", app=self.app_name)
            log.exception("error in %s of session %s (app %s)", what, self.id, self.app_name or "/")
        finally:
            tally = self.tally.values
            tally[_CALLBACKS] += 1
            tally[_CALLBACK_SECONDS] += time.perf_counter() - t0
        if publish:
            self._flush_and_publish()
        else:
            with contextlib.suppress(Exception):
                self.handle.flush()
        return result

    def _flush_and_publish(self) -> None:
        t0 = time.perf_counter()
        try:
            patch = self.handle.flush()
        except Exception:
            log.exception("flush failed in session %s", self.id)
            return
        if patch is None or patch.is_empty():
            return
        self._publish(patch, t0)

    def _publish(self, patch: Any, t0: float, exclude: Any = None, ok: tuple[Any, int] | None = None) -> int:
        """Number ``patch``, encode it once, log it and write it to every connection that
        does not have it (job only); ``exclude`` (the client it came from) gets ``ok``
        instead. One function, not three: this runs on every update, with cold caches."""
        self.seq += 1
        seq = self.seq
        message = patch.to_message(seq)
        tally = self.tally.values
        tally[_PATCHES] += 1
        tally[_ENCODE_SECONDS] += time.perf_counter() - t0
        self.log.append(seq, message, (ok[0].client_id, ok[1]) if ok is not None else None)
        with self._lock:
            self.delivered_seq = max(self.delivered_seq, seq)
            sent = 0
            for conn in self.connections:
                if conn.synced_seq >= seq:
                    continue
                conn.synced_seq = seq
                if conn is exclude or conn.closed:
                    continue
                conn.transport.send(message)  # the same bytes to every connection
                sent += 1
            if sent:
                tally[_MESSAGES_OUT] += sent
                tally[_BYTES_OUT] += sent * len(message)
            if ok is not None:
                conn, client_seq = ok
                conn.send(_core.encode_message("ok", seq=seq, ack=client_seq))
        return seq

    def _snapshot(self) -> tuple[int, bytes]:
        """Flush anything pending, then snapshot at the current number (job only)."""
        self._flush_and_publish()
        t0 = time.perf_counter()
        data = self.handle.snapshot_message(self.seq)
        self.tally.values[_ENCODE_SECONDS] += time.perf_counter() - t0
        return self.seq, data

    def _join(self, conn: Any, seq: int, messages: list[bytes], has: int) -> None:
        """``conn`` holds the state at change ``has``; send it ``messages`` (up to
        ``seq``) and from then on every change."""
        with self._lock:
            if conn.closed or self.destroyed:
                return
            for m in messages:
                conn.send(m)
            conn.synced_seq = seq
            self.connections.add(conn)
            self._client_acks[conn.client_id] = has  # the log keeps what it has not acknowledged

    def _snapshot_and_join(self, conn: Any) -> int:
        """Snapshot and join ``conn`` in the same job: no change can be published in
        between, so the connection gets every change after its snapshot exactly once."""
        seq, data = self._snapshot()
        self._join(conn, seq, [data], seq)
        return seq

    # ------------------------------------------------------------------ any thread
    def count_out(self, messages: int, nbytes: int) -> None:
        with self._lock:
            tally = self.tally.values
            tally[_MESSAGES_OUT] += messages
            tally[_BYTES_OUT] += nbytes

    def count_in(self, nbytes: int) -> None:
        with self._lock:
            self.messages_in += 1
            self.bytes_in += nbytes

    def connection_list(self) -> list[Any]:
        with self._lock:
            return list(self.connections)

    # ------------------------------------------------------------------ loop side

    async def attach(self, conn: Any) -> int:
        """Send a snapshot to ``conn`` and start sending it changes. Returns its seq."""
        return await self.queue.run(lambda: self._snapshot_and_join(conn))  # type: ignore[no-any-return]

    async def resume(self, conn: Any, after: int) -> str:
        """Replay changes after ``after`` from the log ("replay"), or send a snapshot
        when the log no longer holds them ("resync")."""
        with self._lock:  # no delivery between reading the log and joining
            upto = self.delivered_seq
            entries = self.log.entries(after, upto) if 0 <= after <= upto else None
            if entries is not None:
                messages = [
                    _core.encode_message("ok", seq=seq, ack=origin[1])
                    if origin is not None and origin[0] == conn.client_id
                    else message  # its own change: an ok (it may never have seen it), not an echo
                    for seq, message, origin in entries
                ]
                self._join(conn, upto, messages, after)
        if entries is None:
            self.metrics.inc("docsync_resumes_total", outcome="resync")
            await self.attach(conn)
            return "resync"
        self.metrics.inc("docsync_resumes_total", outcome="replay")
        return "replay"

    async def push(self, conn: Any, snapshot: bytes) -> int:
        """Replace the document with a pushed snapshot; other connections get the
        difference as one patch; ``conn`` gets a snapshot."""

        def job() -> int:
            self._flush_and_publish()
            before = self.handle.copy_engine()
            with self._entered():
                self.handle.load_snapshot(snapshot)
            with contextlib.suppress(Exception):
                self.handle.flush()  # loading is not a change to send as events
            t0 = time.perf_counter()
            patch = _core.diff(before, self.handle.engine)
            if patch is not None and not patch.is_empty():
                self._publish(patch, t0)
            return self._snapshot_and_join(conn)

        return await self.queue.run(job)  # type: ignore[no-any-return]

    def detach(self, conn: Any) -> None:
        with self._lock:
            self.connections.discard(conn)
            self.last_detached = time.monotonic()
            unused = not self.connections
        if unused and self.on_unused is not None:
            self.on_unused()

    def ack(self, conn: Any, n: int) -> None:
        with self._lock:
            if n > conn.synced_seq or n < 0:
                return
            self._client_acks[conn.client_id] = n
            if len(self._client_acks) > 1000:  # forget the oldest clients
                for k in list(self._client_acks)[:100]:
                    del self._client_acks[k]
            oldest = min(self._client_acks.values())
        self.log.trim(oldest)

    def submit_client_patch(self, conn: Any, client_seq: int, patch: Any) -> None:
        """Apply a client patch in order with the session's other work; answers ``ok``
        (with the change number) or ``error`` (nothing changed)."""
        client_id = conn.client_id

        def job() -> None:
            if self.destroyed:
                return
            last = self._client_applied.get(client_id)
            if last is not None and client_seq <= last[0]:
                conn.send(_core.encode_message("ok", seq=last[1], ack=client_seq))
                return
            t0 = time.perf_counter()
            try:
                with self._entered():
                    self.handle.apply_client(patch, enforce_writable=not self.clients_own_document)
            except DocsyncError as e:
                self.metrics.inc("docsync_client_errors_total", code=error_code(e))
                payload = {"code": error_code(e), "message": str(e)}
                conn.send(_core.encode_message("error", ack=client_seq, payload=payload))
                self._flush_and_publish()  # nothing changed, but be safe
                return
            except Exception:
                # an on_change callback raised after the patch was applied: log it, the
                # change itself stands
                self.metrics.inc("docsync_callback_errors_total", app=self.app_name)
                log.exception("error in a callback run by a client change in session %s", self.id)
            finally:
                self.tally.values[_CALLBACK_SECONDS] += time.perf_counter() - t0
            t1 = time.perf_counter()
            if _has_state_events(patch) or self.clients_own_document:
                # (in a pushed session the Python client that owns the document runs
                # the on_click callbacks, so UI events go to the other connections too)
                seq = self._publish(patch, t1, exclude=conn, ok=(conn, client_seq))
            else:  # UI events only: nothing for the other connections
                seq = self.seq
                conn.send(_core.encode_message("ok", seq=seq, ack=client_seq))
            self._client_applied[client_id] = (client_seq, seq)
            self._flush_and_publish()

        self.queue.submit(job)

    def submit_ping(self, conn: Any, client_seq: int | None) -> None:
        """``pong`` after everything queued before it (a real round trip)."""
        self.queue.submit(lambda: conn.send(_core.encode_message("pong", ack=client_seq)))

    # ------------------------------------------------------------------ destroy
    def release(self) -> None:
        """Drop the document, callbacks and module (job of the queue, or after it)."""
        self.destroyed = True
        self.scheduler.close()
        mod = self.module
        self.module = None
        if mod is not None:
            import sys

            name = getattr(mod, "__name__", None)
            if name and sys.modules.get(name) is mod:
                del sys.modules[name]
            with contextlib.suppress(Exception):
                mod.__dict__.clear()
        with contextlib.suppress(Exception):
            setattr(self.document, "session_context", None)
        # Not Document._attach_scheduler(None): release() may run on the I/O loop while a
        # stuck callback holds the document's lock. The closed scheduler ignores the
        # document's calls, and the garbage collector takes the cycle.
        self.document = None
        self.handle = DocumentHandle(None)
        self._client_applied.clear()
        self.metrics.retire(self.tally)


def _has_state_events(patch: Any) -> bool:
    try:
        return any(e.get("k") != "msg" for e in patch.events())
    except Exception:
        return True
