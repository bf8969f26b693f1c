"""`ClientSession`: a local Document kept in sync with a session on a docsync server.

How it is built (see also ``docs/protocol.md``):

* **I/O** runs on an asyncio loop: the caller's loop for the async API
  (:meth:`ClientSession.connect_async`), else a private background loop thread shared by
  every synchronous session of the process (``_loop.py``). The loop only moves bytes.
* **The document** is worked on by one thread per session (``_worker.py``): server patches
  are applied there (firing local ``on_change`` / ``on_click`` callbacks), the
  document's periodic / timeout / next-tick callbacks run there, and after every job — and
  every few milliseconds when idle, for changes made by other threads — local changes
  are flushed into one coalesced client ``patch`` message.
* **Sessions survive the network**: every server change carries a sequence number; the
  session acknowledges them and, after a dropped connection, reconnects with
  ``hello(resume=<last seq>)`` (replay, or a snapshot that is applied as a diff, so model
  objects and callbacks stay in place). Client patches stay queued until the server's
  ``ok`` / ``error`` and are retried after a reconnect (the server drops duplicates).
  A session the server no longer has raises :class:`~docsync.errors.SessionExpiredError`.
* **Conflicts** are server-authoritative: incoming ``set``\\ s of a property with a local
  change in flight are ignored (the local change reaches the server later and wins).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import inspect
import itertools
import logging
import socket
import threading
import time
import uuid
import weakref
import webbrowser
from typing import Any, Callable, Iterator

from docsync import _core
from docsync.errors import ConnectionRefusedByServer, DocsyncError, ProtocolError, SessionExpiredError

from . import _urls
from ._loop import background_loop, in_loop_thread, run_sync
from ._worker import DocumentThread, Timer

__all__ = [
    "ClientSession",
    "push_session",
    "pull_session",
    "push_session_async",
    "pull_session_async",
    "show_session",
]

log = logging.getLogger("docsync.client")

DEFAULT_MAX_MESSAGE_SIZE = 20 * 1024 * 1024
# Acks only let the server trim its log (resuming does not depend on them) and each one
# wakes the server's I/O loop, so they are rare: one 5 s after the first unacknowledged
# change, or at once after 256 changes or 4 MiB of them (as docsync.js does).
_ACK_EVERY = 256
_ACK_BYTES = 4 * 1024 * 1024
_ACK_DELAY = 5.0
_BACKOFF = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


# ---------------------------------------------------------------------------------------
# The Python Document, as the client uses it (docs/architecture.md, "Python model layer")


def _engine_document(doc: Any) -> Any:
    """The ``_core.Document`` behind a Python ``Document``."""
    if isinstance(doc, _core.Document):
        return doc
    for name in ("_engine", "_core", "_doc", "core"):
        inner = getattr(doc, name, None)
        if isinstance(inner, _core.Document):
            return inner
    raise TypeError(f"expected a docsync Document, got {type(doc).__name__}")


def _new_document() -> Any:
    from docsync.document import Document

    return Document()


@contextlib.contextmanager
def _as_curdoc(doc: Any) -> Iterator[None]:
    """``curdoc()`` is the session's document while its callbacks run."""
    try:
        from docsync.document import set_curdoc
    except ImportError:  # pragma: no cover - the model layer always has it
        yield
        return
    with set_curdoc(doc):
        yield


class _Scheduler:
    """Runs a Document's SessionCallbacks on the session's document thread."""

    def __init__(self, session: "ClientSession") -> None:
        self._session = session
        self._timers: dict[int, Timer] = {}
        self._lock = threading.Lock()

    def add(self, callback: Any) -> None:
        worker = self._session._worker
        if worker is None:  # not started (or already gone): nothing runs callbacks
            return
        kind = getattr(callback, "kind", None)
        key = id(callback)
        if kind == "periodic":
            period = max(float(callback.period_ms), 1.0) / 1000.0

            def tick(due: float = time.monotonic() + period) -> None:
                with self._lock:
                    if key not in self._timers:
                        return
                self._session._run_callback(callback)
                # fixed rate; a run that overran skips the missed ticks instead of bursting
                nxt = due + period
                now = time.monotonic()
                if nxt <= now:
                    nxt = now + period - ((now - due) % period)
                with self._lock:
                    if key in self._timers:
                        self._timers[key] = worker.call_at(nxt, lambda: tick(nxt))

            with self._lock:
                self._timers[key] = worker.call_at(time.monotonic() + period, tick)
        elif kind == "timeout":
            delay = max(float(callback.timeout_ms), 0.0) / 1000.0

            def fire() -> None:
                with self._lock:
                    if self._timers.pop(key, None) is None:
                        return
                self._session._run_callback(callback)

            with self._lock:
                self._timers[key] = worker.call_later(delay, fire)
        elif kind == "next_tick":

            def fire_now() -> None:
                with self._lock:
                    if self._timers.pop(key, None) is None:
                        return
                self._session._run_callback(callback)

            with self._lock:
                self._timers[key] = worker.call_later(0.0, fire_now)
        else:
            raise ValueError(f"unknown session callback kind {kind!r}")

    def remove(self, callback: Any) -> None:
        with self._lock:
            timer = self._timers.pop(id(callback), None)
        if timer is not None:
            timer.cancel()

    def clear(self) -> None:
        with self._lock:
            timers = list(self._timers.values())
            self._timers.clear()
        for t in timers:
            t.cancel()


# ---------------------------------------------------------------------------------------


class _Refused(Exception):
    """Internal: a connection attempt failed for good (not worth retrying)."""

    def __init__(self, error: DocsyncError) -> None:
        super().__init__(str(error))
        self.error = error


class ClientSession:
    """A connection to one session on a docsync server, with a local copy of its
    document kept in sync both ways.

    Create one with :func:`push_session` / :func:`pull_session` (blocking; usable from
    any thread, also inside Jupyter or a running asyncio loop) or with
    ``await ClientSession.connect_async(...)`` (runs on the caller's event loop).
    """

    def __init__(
        self,
        session_id: str | None = None,
        url: str = "default",
        app_path: str | None = None,
        *,
        document: Any = None,
        push: bool = False,
        connect_timeout: float = 5.0,
        handshake_timeout: float = 15.0,
        reconnect_timeout: float = 30.0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        ping_interval: float | None = 10.0,
    ) -> None:
        """Prepare a session (not connected yet: use :func:`push_session`,
        :func:`pull_session` or :meth:`connect_async`)."""
        self._app_url, in_url = _urls.split_session_id(_urls.app_url(url, app_path))
        if session_id is None:
            session_id = in_url  # a page URL pasted as url: join that session
        self._id, self._token = _urls.session_id_and_token(session_id)
        self._ws_url = _urls.websocket_url(self._app_url, self._token)
        self._document = document
        self._push = push
        self._connect_timeout = connect_timeout
        self._handshake_timeout = handshake_timeout
        self._reconnect_timeout = reconnect_timeout
        self._max_message_size = max_message_size
        self._ping_interval = ping_interval
        self._client_id = uuid.uuid4().hex

        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: DocumentThread | None = None
        self._scheduler = _Scheduler(self)
        self._ws: Any = None
        self._read_task: asyncio.Task[None] | None = None
        self._ready = False  # handshake done on the current connection

        self._lock = threading.Lock()  # guards the fields below (worker ↔ loop)
        self._counter = itertools.count(1)  # client message numbers (patch, info, ping)
        self._unacked: dict[int, tuple[bytes, Any]] = {}  # msg number -> (bytes, Patch)
        self._inflight: dict[tuple[str, str], int] = {}  # (model id, prop) -> msg number
        self._last_seq: int | None = None  # last server change received
        self._acked_seq: int | None = None  # last change we acknowledged
        self._unacked_bytes = 0  # bytes of the changes received since then
        self._ack_handle: asyncio.TimerHandle | None = None
        self._requests: dict[int, asyncio.Future[Any]] = {}
        self._drained: asyncio.Event | None = None  # set when _unacked is empty

        self._closed = threading.Event()
        self._closing = False
        self._want_resync = False
        self._hold_reconnect_until = 0.0  # test hook (_drop_connection)
        self._reconnects = 0  # successful reconnections (for tests and debugging)
        self._error: BaseException | None = None
        self._state = "new"

    # -- public properties -----------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id (shared by every browser and client on this session)."""
        return self._id

    @property
    def document(self) -> Any:
        """The local Document kept in sync with the server's."""
        return self._document

    @property
    def connected(self) -> bool:
        """True while the WebSocket is open and the session is in sync (False while
        reconnecting and after close)."""
        return self._ready and self._ws is not None and not self._closed.is_set()

    @property
    def state(self) -> str:
        """"connecting", "connected", "reconnecting", "closed" or "failed"."""
        return self._state

    @property
    def url(self) -> str:
        """The app's URL (``http://host:port/app``)."""
        return self._app_url

    @property
    def websocket_url(self) -> str:
        return self._ws_url

    @property
    def page_url(self) -> str:
        """The session's page: ``<app url>?docsync-session-id=<id>``."""
        return _urls.page_url(self._app_url, self._id)

    @property
    def error(self) -> BaseException | None:
        """Why the session ended, if it ended because of an error."""
        return self._error

    def __repr__(self) -> str:
        return f"<ClientSession id={self._id!r} url={self._app_url!r} {self._state}>"

    # -- connecting ------------------------------------------------------------------

    @classmethod
    async def connect_async(
        cls,
        session_id: str | None = None,
        url: str = "default",
        app_path: str | None = None,
        document: Any = None,
        **options: Any,
    ) -> "ClientSession":
        """Connect on the running event loop. With ``document`` the local document is
        pushed (as :func:`push_session`), else the server's is pulled."""
        session = cls(session_id, url, app_path, document=document, push=document is not None, **options)
        await session._start(asyncio.get_running_loop())
        return session

    async def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._drained = asyncio.Event()
        self._drained.set()
        self._state = "connecting"
        self._worker = DocumentThread(
            f"docsync-client-doc-{self._id[:8]}", after_each=self._flush_local, idle=self._idle_flush
        )
        try:
            if self._document is None:
                self._document = await self._on_worker(_new_document)
            push_value = None
            if self._push:
                push_value = await self._on_worker(self._snapshot_for_push)
            try:
                await self._open(resume=None, push=push_value)
            except _Refused as e:  # (a first connection is never retried: fail promptly)
                raise e.error from None
            # the document's callbacks run on this session from now on
            await self._on_worker(lambda: self._document._attach_scheduler(self._scheduler))
        except BaseException as e:
            self._state = "failed"
            self._error = e if isinstance(e, DocsyncError) else None
            await self._shutdown()
            raise
        self._state = "connected"
        self._read_task = loop.create_task(self._read_loop())

    def _snapshot_for_push(self) -> Any:
        doc = self._document
        doc._flush()  # everything so far travels in the snapshot
        data = doc._snapshot() if hasattr(doc, "_snapshot") else _engine_document(doc).snapshot()
        return _core.decode(data)

    async def _on_worker(self, fn: Callable[[], Any]) -> Any:
        assert self._worker is not None
        fut = self._worker.submit(fn, want_result=True)
        assert fut is not None
        return await asyncio.wrap_future(fut)

    def _refusal(self, e: BaseException) -> DocsyncError | None:
        """Map a connection failure to a docsync error; None for failures worth retrying
        (the server is not there — yet)."""
        from tornado.httpclient import HTTPClientError

        where = self._app_url
        if isinstance(e, HTTPClientError):
            reason = e.response.reason if e.response is not None else e.message
            if e.code == 404:
                return ConnectionRefusedByServer(
                    f"no docsync app at {where} (HTTP 404 for {self._ws_url.split('?')[0]}): "
                    f"check the url and app_path"
                )
            if e.code == 403:
                return ConnectionRefusedByServer(
                    f"the server at {where} refused the connection (HTTP 403: {reason}): "
                    f"its --host / --allow-websocket-origin settings or DOCSYNC_SECRET_KEY "
                    f"do not admit this client"
                )
            if e.code == 599:
                return None
            return ConnectionRefusedByServer(f"the server at {where} refused the connection (HTTP {e.code}: {reason})")
        return None

    def _unreachable(self, e: BaseException) -> ConnectionRefusedByServer:
        where = self._app_url
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return ConnectionRefusedByServer(
                f"no docsync server at {where} (connection refused); start one with `docsync serve`"
            )
        if isinstance(e, socket.gaierror):
            return ConnectionRefusedByServer(f"cannot resolve the host of {where}: {e.strerror or e}")
        if isinstance(e, (asyncio.TimeoutError, TimeoutError)) or getattr(e, "code", None) == 599:
            return ConnectionRefusedByServer(
                f"no answer from {where} within {self._connect_timeout:g} s (timed out connecting)"
            )
        return ConnectionRefusedByServer(f"cannot connect to {where}: {e}")

    async def _open(self, resume: int | None, push: Any = None) -> None:
        """Open a WebSocket and complete the handshake; raises _Refused (give up) or
        ConnectionRefusedByServer (maybe retry)."""
        from tornado.httpclient import HTTPRequest
        from tornado.iostream import StreamClosedError
        from tornado.websocket import WebSocketClosedError, websocket_connect

        request = HTTPRequest(self._ws_url, connect_timeout=self._connect_timeout, request_timeout=self._handshake_timeout)
        try:
            ws = await asyncio.wait_for(
                websocket_connect(
                    request,
                    max_message_size=self._max_message_size,
                    ping_interval=self._ping_interval,
                    ping_timeout=self._ping_interval,
                ),
                self._connect_timeout + self._handshake_timeout,
            )
        except Exception as e:  # noqa: BLE001 - mapped to a docsync error
            refused = self._refusal(e)
            if refused is not None:
                raise _Refused(refused) from None
            raise self._unreachable(e) from None
        with contextlib.suppress(Exception):
            ws.protocol.set_nodelay(True)  # type: ignore[union-attr]  # small messages, latency matters (DESIGN §6)
        self._ws = ws
        self._ready = False
        # "kind": the Python client owns the document like app code does (see the report)
        hello = {"client_id": self._client_id, "resume": resume, "push": push, "kind": "python"}
        ping_n = next(self._counter)
        try:
            try:
                await ws.write_message(_core.encode_message("hello", payload=hello), binary=True)
                if resume is not None:
                    # a resume with nothing to replay sends nothing: the pong says we are in
                    await ws.write_message(_core.encode_message("ping", seq=ping_n), binary=True)
            except (WebSocketClosedError, StreamClosedError):
                pass  # refused right away: the read below returns None with the close code
            deadline = time.monotonic() + self._handshake_timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                data = await asyncio.wait_for(ws.read_message(), remaining)
                if data is None:
                    error = self._closed_error(ws, during_handshake=True)
                    if ws.close_code in (None, 1001, 1006, 1011, 4008):
                        raise error  # going away / lost / overloaded: worth retrying
                    raise _Refused(error)
                msg = self._decode(data, strict=True)
                if msg.type == "snapshot":
                    self._on_snapshot(msg)
                    break
                if msg.type == "pong" and msg.ack == ping_n:
                    break
                if msg.type == "expired":
                    raise _Refused(self._expired_error(msg.payload))
                if msg.type == "error" and msg.ack is None:
                    raise _Refused(self._error_from_payload(msg.payload, during_handshake=True))
                self._dispatch(msg, len(data))
        except asyncio.TimeoutError:
            ws.close()
            self._ws = None
            raise ConnectionRefusedByServer(
                f"the server at {self._app_url} accepted the WebSocket but did not answer "
                f"the hello within {self._handshake_timeout:g} s"
            ) from None
        except BaseException:
            ws.close()
            self._ws = None
            raise
        self._ready = True
        # retry what the server has not confirmed, in order (it drops duplicates)
        with self._lock:
            pending = [m for m, _ in self._unacked.values()]
        with contextlib.suppress(WebSocketClosedError, StreamClosedError):
            for m in pending:
                ws.write_message(m, binary=True)

    def _closed_error(self, ws: Any, during_handshake: bool = False) -> DocsyncError:
        code, reason = ws.close_code, ws.close_reason or ""
        where = self._app_url
        if code == 4004:
            return self._expired_error({"message": reason})
        if code == 4003:
            return ConnectionRefusedByServer(
                f"the server at {where} refused the session (forbidden: {reason or 'host, origin or token'})"
            )
        if code == 1009:
            return ConnectionRefusedByServer(
                f"the server at {where} closed the connection: a message was too big ({reason}); "
                f"raise the server's --websocket-max-message-size"
            )
        if code == 4000:
            return ProtocolError(f"the server at {where} closed the connection: malformed message ({reason})")
        if code is None:
            return ConnectionRefusedByServer(f"the connection to {where} was lost")
        what = "during the handshake" if during_handshake else ""
        return ConnectionRefusedByServer(
            f"the server at {where} closed the connection {what} (code {code}{': ' + reason if reason else ''})".replace(
                "  ", " "
            )
        )

    def _expired_error(self, payload: Any) -> SessionExpiredError:
        message = payload.get("message") if isinstance(payload, dict) else None
        return SessionExpiredError(
            f"session {self._id!r} at {self._app_url} has expired"
            f"{': ' + message if message else ''} (the server no longer has it, e.g. it "
            f"was restarted or the session was unused for too long); open a new session"
        )

    def _error_from_payload(self, payload: Any, during_handshake: bool = False) -> DocsyncError:
        code = message = None
        if isinstance(payload, dict):
            code, message = payload.get("code"), payload.get("message")
        text = f"{code}: {message}" if code else str(message or payload)
        if code in ("expired", "session_expired"):
            return self._expired_error({"message": message})
        if during_handshake:
            return ConnectionRefusedByServer(f"the server at {self._app_url} refused the session ({text})")
        return ProtocolError(f"the server at {self._app_url} rejected a message ({text})")

    # -- receiving -------------------------------------------------------------------

    def _decode(self, data: Any, strict: bool = False) -> Any:
        """Decode one frame; None for a frame to skip. ``strict`` (the handshake): a frame
        this client cannot read means the server speaks another protocol — refuse."""
        if isinstance(data, str):
            if strict:
                raise _Refused(
                    ConnectionRefusedByServer(
                        f"the server at {self._app_url} sent text, not docsync messages: "
                        f"is it a docsync server? (url: the app's URL, e.g. http://localhost:5006/)"
                    )
                )
            log.warning("docsync client: ignoring a text frame from %s", self._app_url)
            return None
        try:
            return _core.decode_message(data, max_size=self._max_message_size)
        except DocsyncError as e:
            if strict:
                raise _Refused(
                    ConnectionRefusedByServer(
                        f"the server at {self._app_url} speaks another protocol version or sent a "
                        f"malformed message ({e}); this client speaks docsync protocol "
                        f"{_core.PROTOCOL_VERSION}"
                    )
                ) from None
            log.error("docsync client: undecodable message from %s: %s", self._app_url, e)
            return None

    async def _read_loop(self) -> None:
        try:
            await self._read_messages()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug or an unexpected transport error: end clearly
            log.exception("docsync client: the connection loop of session %s failed", self._id)
            await self._fail(ConnectionRefusedByServer(f"the connection to {self._app_url} failed: {e!r}"))

    async def _read_messages(self) -> None:
        while True:
            ws = self._ws
            if ws is None:
                return
            data = await ws.read_message()
            if data is None:
                with contextlib.suppress(Exception):
                    ws.close()  # closed by the peer: release tornado's side too
                if self._closing:
                    return
                if self._want_resync:
                    self._want_resync = False
                    if not await self._reconnect(None, resync=True):
                        return
                    continue
                error = self._closed_error(ws)
                if isinstance(error, (SessionExpiredError, ProtocolError)) or ws.close_code in (4003, 1009):
                    await self._fail(error)
                    return
                if not await self._reconnect(error):
                    return
                continue
            msg = self._decode(data)
            if msg is not None:
                self._dispatch(msg, len(data))

    def _dispatch(self, msg: Any, nbytes: int = 0) -> None:
        t = msg.type
        if t == "patch":
            seq = msg.seq
            if seq is not None and self._last_seq is not None and seq <= self._last_seq:
                return  # already have it (replay overlap)
            if seq is not None:
                self._last_seq = seq
            patch = msg.patch
            assert self._worker is not None
            self._worker.submit(lambda: self._apply_remote(patch))
            self._unacked_bytes += nbytes
            self._schedule_ack()
        elif t == "snapshot":
            self._on_snapshot(msg)
        elif t == "ok":
            self._confirmed(msg.ack, msg.seq)
        elif t == "error":
            payload = msg.payload
            if msg.ack is not None and self._confirmed(msg.ack, None):
                log.warning(
                    "docsync client: the server at %s rejected a change from this session (%s); "
                    "resyncing from the server's document",
                    self._app_url,
                    payload.get("message") if isinstance(payload, dict) else payload,
                )
                self._resync()
                return
            fut = self._requests.pop(msg.ack, None) if msg.ack is not None else None
            error = self._error_from_payload(payload)
            if fut is not None and not fut.done():
                fut.set_exception(error)
            else:
                log.warning("docsync client: %s", error)
        elif t in ("info", "pong"):
            fut = self._requests.pop(msg.ack, None) if msg.ack is not None else None
            if fut is not None and not fut.done():
                fut.set_result(msg.payload)
        elif t == "expired":
            assert self._loop is not None
            self._loop.create_task(self._fail(self._expired_error(msg.payload)))
        else:
            log.warning("docsync client: ignoring an unknown message type %r", t)

    def _on_snapshot(self, msg: Any) -> None:
        self._last_seq = msg.seq
        snapshot = msg.snapshot
        assert self._worker is not None
        with self._lock:
            unacked = [p for _, p in self._unacked.values()]
        self._worker.submit(lambda: self._load_snapshot(snapshot, unacked))
        self._schedule_ack()

    def _confirmed(self, n: int | None, seq: int | None) -> bool:
        """The server answered our patch number n (ok or error)."""
        if seq is not None and (self._last_seq is None or seq > self._last_seq):
            self._last_seq = seq
        with self._lock:
            found = self._unacked.pop(n, None) if n is not None else None  # type: ignore[arg-type]
            if found is not None and self._inflight:
                for key in [k for k, v in self._inflight.items() if v <= n]:  # type: ignore[operator]
                    del self._inflight[key]
            empty = not self._unacked
        if empty and self._drained is not None:
            self._drained.set()
        return found is not None

    def _schedule_ack(self) -> None:
        last, acked = self._last_seq, self._acked_seq
        if last is None or last == acked:
            return
        if (acked is not None and last - acked >= _ACK_EVERY) or self._unacked_bytes >= _ACK_BYTES:
            self._send_ack()
        elif self._ack_handle is None:
            assert self._loop is not None
            self._ack_handle = self._loop.call_later(_ACK_DELAY, self._send_ack)

    def _send_ack(self) -> None:
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._ack_handle = None
        ws, last = self._ws, self._last_seq
        if ws is None or not self._ready or last is None:
            return
        self._acked_seq = last
        self._unacked_bytes = 0
        with contextlib.suppress(Exception):
            ws.write_message(_core.encode_message("ack", ack=last), binary=True)

    # -- the document thread ---------------------------------------------------------

    def _run_callback(self, callback: Any) -> None:
        if self._closed.is_set():
            return
        try:
            with _as_curdoc(self._document):
                result = callback.run()
            if inspect.isawaitable(result):
                # an async callback: its awaits run on the session's event loop
                assert self._loop is not None
                asyncio.run_coroutine_threadsafe(self._await_callback(result), self._loop)
        except Exception:
            log.exception("error in a callback of client session %s", self._id)

    async def _await_callback(self, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("error in an async callback of client session %s", self._id)

    def _apply_remote(self, patch: Any) -> None:
        with self._lock:
            inflight = dict(self._inflight) if self._inflight else None
        if inflight:
            events = patch.events()
            kept = [e for e in events if not (e.get("k") == "set" and (e.get("id"), e.get("prop")) in inflight)]
            if len(kept) != len(events):
                if not kept:
                    return
                patch = _core.Patch.from_events(kept)
        with _as_curdoc(self._document):
            self._document._apply_patch(patch, client=False)

    def _load_snapshot(self, snapshot: bytes, unacked: list[Any]) -> None:
        """Bring the local document to the server's state as a diff, so that unchanged
        model objects and their callbacks stay as they are."""
        doc = self._document
        remote = _core.Document.from_snapshot(snapshot, max_size=self._max_message_size)
        try:
            patch = _core.diff(_engine_document(doc), remote)
        except DocsyncError:
            log.debug("diff failed; loading the snapshot whole", exc_info=True)
            with _as_curdoc(doc):
                doc._load_snapshot(snapshot)
        else:
            if patch is not None and not patch.is_empty():
                with _as_curdoc(doc):
                    doc._apply_patch(patch, client=False)
        # our changes still in flight will be applied by the server after this snapshot:
        # keep them locally too (idempotent kinds only, so nothing is doubled)
        for p in unacked:
            events = [e for e in p.events() if e.get("k") in ("set", "title")]
            if events:
                try:
                    with _as_curdoc(self._document):
                        self._document._apply_patch(_core.Patch.from_events(events), client=False)
                except DocsyncError:
                    pass

    def _idle_flush(self) -> bool:
        """Every 5-40 ms when idle: pick up changes made by other threads (a cheap engine
        check first, so idle sessions cost next to nothing). True when there were some."""
        doc = self._document
        if doc is None:
            return False
        try:
            pending = _engine_document(doc).has_pending()
        except TypeError:
            pending = True
        if pending:
            self._flush_local()
        return bool(pending)

    def _flush_local(self) -> None:
        """Send the local changes since the last flush as one client patch."""
        doc = self._document
        if doc is None or self._closed.is_set() or self._loop is None:
            return
        patch = doc._flush()
        if patch is None or patch.is_empty():
            return
        n = next(self._counter)
        data = patch.to_message(n)
        keys = [(e["id"], e["prop"]) for e in patch.events() if e.get("k") == "set"]
        with self._lock:
            self._unacked[n] = (data, patch)
            for key in keys:
                self._inflight[key] = n
        self._loop.call_soon_threadsafe(self._send_patch, n, data)

    def _send_patch(self, n: int, data: bytes) -> None:
        if self._drained is not None:
            self._drained.clear()
        ws = self._ws
        if ws is None or not self._ready:
            return  # sent after the reconnect's handshake
        with self._lock:
            if n not in self._unacked:
                return
        with contextlib.suppress(Exception):
            ws.write_message(data, binary=True)

    # -- reconnecting ----------------------------------------------------------------

    def _resync(self) -> None:
        """Reconnect without resume: the server sends a snapshot (applied as a diff).
        The read loop sees the close and reconnects."""
        self._want_resync = True
        ws = self._ws
        if ws is not None:
            ws.close(1000)

    async def _reconnect(self, cause: DocsyncError | None, resync: bool = False) -> bool:
        """Reconnect and resume; False (and the session failed) when that is impossible."""
        self._ready = False
        self._ws = None
        self._state = "reconnecting"
        log.info("docsync client: connection to %s lost (%s); reconnecting", self._app_url, cause or "resync")
        hold = self._hold_reconnect_until - time.monotonic()
        if hold > 0:
            await asyncio.sleep(hold)
        deadline = time.monotonic() + self._reconnect_timeout
        last_error: DocsyncError | None = cause
        for attempt in itertools.count():
            if self._closing:
                return False
            try:
                await self._open(resume=None if resync else self._last_seq)
            except _Refused as e:
                await self._fail(e.error)
                return False
            except ConnectionRefusedByServer as e:
                last_error = e
                delay = _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
                if time.monotonic() + delay > deadline:
                    break
                await asyncio.sleep(delay)
                continue
            self._state = "connected"
            self._reconnects += 1
            log.info("docsync client: reconnected to %s (session %s)", self._app_url, self._id)
            return True
        await self._fail(
            ConnectionRefusedByServer(
                f"lost the connection to {self._app_url} and could not reconnect within "
                f"{self._reconnect_timeout:g} s ({last_error})"
            )
        )
        return False

    async def _fail(self, error: BaseException) -> None:
        if self._closed.is_set():
            return
        log.error("docsync client: session %s ended: %s", self._id, error)
        self._error = error
        self._state = "failed"
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Stop everything (idempotent). Runs on the session's loop."""
        self._closing = True
        self._ready = False
        self._closed.set()
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._ack_handle = None
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close(1000)
        error = self._error or ConnectionRefusedByServer(f"the session with {self._app_url} is closed")
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(error)
        self._requests.clear()
        if self._drained is not None:
            self._drained.set()
        self._scheduler.clear()
        worker, doc = self._worker, self._document
        if worker is not None:
            if doc is not None and hasattr(doc, "_attach_scheduler"):
                worker.submit(lambda: self._detach(doc))
            worker.stop(wait=False, drain=True)  # runs the detach (and queued jobs) first
        task = self._read_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    @staticmethod
    def _detach(doc: Any) -> None:
        with contextlib.suppress(Exception):
            doc._attach_scheduler(None)

    # -- requests --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed.is_set():
            raise ConnectionRefusedByServer(f"the session with {self._app_url} is closed")

    async def _request(self, kind: str, timeout: float) -> Any:
        """Send ``info`` / ``ping`` and wait for the reply; re-sent on the new connection
        if the connection changes meanwhile (reconnect or resync)."""
        self._check_open()
        assert self._loop is not None
        deadline = time.monotonic() + timeout
        fut: asyncio.Future[Any] = self._loop.create_future()
        sent_on: Any = None
        numbers: list[int] = []
        try:
            while True:
                self._check_open()
                if time.monotonic() > deadline:
                    what = f"no reply to {kind!r}" if sent_on is not None else "not connected (reconnecting)"
                    raise ConnectionRefusedByServer(f"{what} from {self._app_url} within {timeout:g} s")
                ws = self._ws
                if self._ready and ws is not None and ws is not sent_on:
                    n = next(self._counter)
                    numbers.append(n)
                    self._requests[n] = fut
                    try:
                        ws.write_message(_core.encode_message(kind, seq=n), binary=True)
                        sent_on = ws
                    except Exception:  # closed under us: wait for the reconnect
                        sent_on = None
                done, _ = await asyncio.wait({fut}, timeout=0.05 if sent_on is None else 0.25)
                if done:
                    return fut.result()
        finally:
            for n in numbers:
                self._requests.pop(n, None)

    async def request_server_info_async(self, timeout: float = 10.0) -> dict[str, Any]:
        """The server's ``{"version", "protocol", "session_id"}``."""
        return dict(await self._request("info", timeout))

    async def flush_async(self, _from_worker: bool = False) -> None:
        """Send the local changes made so far (from any thread) now."""
        self._check_open()
        if not _from_worker:  # (from a callback, the sync wrapper flushed already)
            # flushing inside the job queues the send before this coroutine resumes
            await self._on_worker(self._flush_local)

    async def force_roundtrip_async(self, timeout: float = 10.0, _from_worker: bool = False) -> None:
        """Return once every local change made so far has been applied by the server and
        every server change sent before that has been applied locally (from a callback of
        this session: received, to be applied after the callback)."""
        await self.flush_async(_from_worker)
        assert self._drained is not None
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except asyncio.TimeoutError:
            raise ConnectionRefusedByServer(
                f"the server at {self._app_url} did not confirm local changes within {timeout:g} s"
            ) from None
        self._check_open()
        await self._request("ping", timeout)
        if not _from_worker:
            await self._on_worker(lambda: None)  # patches received before the pong are applied
        self._check_open()

    async def loop_until_closed_async(self) -> None:
        """Wait until the session is closed (by :meth:`close`, or for good by the server);
        raises the reason when it ended with an error."""
        while not self._closed.is_set():
            await asyncio.sleep(0.1)
        if self._error is not None:
            raise self._error

    async def aclose(self, timeout: float = 2.0) -> None:
        """Deliver pending local changes (waiting up to ``timeout``), then disconnect."""
        if self._closed.is_set():
            return
        self._scheduler.clear()
        if self._ready and self._worker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.flush_async(), timeout)
                assert self._drained is not None
                await asyncio.wait_for(self._drained.wait(), timeout)
        self._state = "closed"
        await self._shutdown()

    async def pull_async(self, timeout: float = 10.0, _from_worker: bool = False) -> None:
        """Fetch the server's whole document again and bring the local one to it (as a
        diff: unchanged model objects and their callbacks stay)."""
        self._check_open()
        before = self._reconnects
        self._resync()
        deadline = time.monotonic() + timeout
        while self._reconnects == before:
            self._check_open()
            if time.monotonic() > deadline:
                raise ConnectionRefusedByServer(f"no snapshot from {self._app_url} within {timeout:g} s")
            await asyncio.sleep(0.01)
        if not _from_worker:
            await self._on_worker(lambda: None)  # the snapshot is applied

    async def push_async(self, document: Any = None, timeout: float = 10.0, _from_worker: bool = False) -> None:
        """The seed's ``push()``: changes already travel as they happen, so this only makes
        sure they all reached the server."""
        if document is not None and document is not self._document:
            raise ValueError(
                "this session syncs another document; open a session for this one with "
                "push_session(document)"
            )
        await self.force_roundtrip_async(timeout, _from_worker)

    async def __aenter__(self) -> "ClientSession":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    # -- synchronous API -------------------------------------------------------------

    def _sync(self, coro: Any, what: str, timeout: float | None = None) -> Any:
        assert self._loop is not None
        return run_sync(coro, self._loop, timeout, what)

    def _in_worker(self) -> bool:
        """Called from one of this session's callbacks (its document thread)? Then flush
        here: waiting for the document thread would wait for ourselves."""
        if self._worker is not None and self._worker.in_thread():
            self._flush_local()
            return True
        return False

    def request_server_info(self, timeout: float = 10.0) -> dict[str, Any]:
        """The server's ``{"version", "protocol", "session_id"}``."""
        return self._sync(self.request_server_info_async(timeout), "request_server_info()")  # type: ignore[no-any-return]

    def flush(self) -> None:
        """Send the local changes made so far now (they are also sent within a few
        milliseconds on their own)."""
        self._sync(self.flush_async(self._in_worker()), "flush()")

    def force_roundtrip(self, timeout: float = 10.0) -> None:
        """Block until local changes reached the server and its earlier changes are here."""
        self._sync(self.force_roundtrip_async(timeout, self._in_worker()), "force_roundtrip()")

    def pull(self, timeout: float = 10.0) -> None:
        """Fetch the server's whole document again (see :meth:`pull_async`)."""
        self._sync(self.pull_async(timeout, self._in_worker()), "pull()")

    def push(self, document: Any = None, timeout: float = 10.0) -> None:
        """Make sure every local change reached the server (see :meth:`push_async`)."""
        self._sync(self.push_async(document, timeout, self._in_worker()), "push()")

    def close(self, why: str = "closed", timeout: float = 2.0) -> None:
        """Deliver pending local changes (waiting up to ``timeout`` s), then disconnect
        (idempotent). ``why`` is the seed's argument, logged."""
        log.debug("docsync client: closing session %s (%s)", self._id, why)
        if self._loop is None or self._closed.is_set():
            self._closed.set()
            return
        if in_loop_thread(self._loop):
            # from a callback of an async session: close in the background
            self._loop.create_task(self.aclose(timeout))
            return
        if self._worker is not None and self._worker.in_thread():
            # from a periodic / on_change callback: don't wait on our own thread; close
            # after this job, once its changes are flushed and delivered
            loop = self._loop
            self._scheduler.clear()  # no more callbacks once closing
            self._worker.submit(lambda: asyncio.run_coroutine_threadsafe(self.aclose(timeout), loop))
            return
        self._sync(self.aclose(timeout), "close()")

    def loop_until_closed(self) -> None:
        """Keep the session running until it is closed: by :meth:`close` (from a callback or
        another thread), by Ctrl-C, or for good by the server — then the reason is raised
        (:class:`SessionExpiredError`, :class:`ConnectionRefusedByServer`). The document's
        callbacks run all the while (they already run before this is called)."""
        if self._loop is not None and in_loop_thread(self._loop):
            raise RuntimeError(
                "loop_until_closed() would block the event loop that runs this session; "
                "use `await session.loop_until_closed_async()`"
            )
        try:
            while not self._closed.wait(0.25):
                pass
        except KeyboardInterrupt:
            self.close()
            raise
        if self._error is not None:
            raise self._error

    def show(self, obj: Any = None, browser: str | None = None, new: str = "tab") -> None:
        """Open the session's page (``<url>?docsync-session-id=<id>``) in a web browser.

        ``obj`` is added as a root of the document if it is not one yet. ``browser`` names
        a :mod:`webbrowser` controller (the ``BROWSER`` environment variable is honoured);
        ``new`` is "tab", "window" or "same"."""
        doc = self._document
        if obj is not None and doc is not None:
            roots = list(getattr(doc, "roots", []) or [])
            if not any(r is obj for r in roots):
                doc.add_root(obj)
        with contextlib.suppress(Exception):
            self.force_roundtrip()  # the page then sees everything done so far
        _open_browser(self.page_url, browser, new)

    def __enter__(self) -> "ClientSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- test hooks ------------------------------------------------------------------

    def _drop_connection(self, reconnect_after: float = 0.0) -> None:
        """Abort the TCP connection (as a network failure would); the session resumes,
        not before ``reconnect_after`` seconds."""
        assert self._loop is not None
        self._hold_reconnect_until = time.monotonic() + reconnect_after

        def drop() -> None:
            ws = self._ws
            if ws is not None:
                ws.protocol.stream.close()

        self._loop.call_soon_threadsafe(drop)


# ---------------------------------------------------------------------------------------


def _open_browser(url: str, browser: str | None, new: str) -> None:
    controller = webbrowser.get(browser) if browser else webbrowser
    opened = controller.open(url, new={"same": 0, "window": 1, "tab": 2}.get(new, 2))
    if not opened:
        log.warning("docsync client: could not open a web browser; the session is at %s", url)


def show_session(
    session_id: str | None = None,
    url: str = "default",
    app_path: str | None = None,
    session: ClientSession | None = None,
    browser: str | None = None,
    new: str = "tab",
) -> None:
    """Open a session's page in a browser (the seed's ``bokeh.client.show_session``):
    ``session.show()``, or the page of ``session_id`` at ``url`` without connecting."""
    if session is not None:
        session.show(browser=browser, new=new)
        return
    if session_id is None:
        raise ValueError("show_session() needs a session or a session_id")
    app, _ = _urls.split_session_id(_urls.app_url(url, app_path))
    _open_browser(_urls.page_url(app, session_id), browser, new)


def _check_not_synced(document: Any) -> None:
    """One document, one session: two would each send half of its changes."""
    current = getattr(document, "_scheduler", None)
    if isinstance(current, _Scheduler) and not current._session._closed.is_set():
        other = current._session
        raise RuntimeError(
            f"this document is already synced with session {other.id!r} at {other.url}; "
            f"close that session first (or use its document)"
        )


_open_sessions: "weakref.WeakSet[ClientSession]" = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    """A script that ends without close() still delivers its last changes (bounded)."""
    for session in list(_open_sessions):
        with contextlib.suppress(Exception):
            if not session._closed.is_set():
                session.close(timeout=1.0)


def _connect_sync(session: ClientSession) -> ClientSession:
    loop = background_loop()
    run_sync(session._start(loop), loop, None, "connecting")
    _open_sessions.add(session)
    return session


def push_session(
    document: Any, session_id: str | None = None, url: str = "default", app_path: str | None = None, **options: Any
) -> ClientSession:
    """Open a session on the server at ``url`` (the app's URL; ``"default"`` is
    ``http://localhost:5006/``) holding ``document``, and keep the two in sync.

    Returns once the server has the document. Raises ConnectionRefusedByServer (no
    server, wrong URL, refused) naming the URL and the reason."""
    if document is None:
        raise TypeError("push_session() needs a Document (e.g. curdoc())")
    _check_not_synced(document)
    return _connect_sync(ClientSession(session_id, url, app_path, document=document, push=True, **options))


def pull_session(
    session_id: str | None = None, url: str = "default", app_path: str | None = None, **options: Any
) -> ClientSession:
    """Open (or join, given ``session_id``) a session on the server at ``url`` and keep a
    local copy of its document in sync (``session.document``)."""
    return _connect_sync(ClientSession(session_id, url, app_path, **options))


async def push_session_async(
    document: Any, session_id: str | None = None, url: str = "default", app_path: str | None = None, **options: Any
) -> ClientSession:
    """:func:`push_session` for asyncio code (I/O runs on the running loop)."""
    _check_not_synced(document)
    return await ClientSession.connect_async(session_id, url, app_path, document=document, **options)


async def pull_session_async(
    session_id: str | None = None, url: str = "default", app_path: str | None = None, **options: Any
) -> ClientSession:
    """:func:`pull_session` for asyncio code and Jupyter (I/O runs on the running loop)."""
    return await ClientSession.connect_async(session_id, url, app_path, **options)
