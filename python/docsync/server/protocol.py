"""The docsync live protocol, server side, independent of the transport.

``docs/protocol.md`` is the specification; this module decides what to do with each
message. The Tornado WebSocket handler (``docsync.server.handlers``) is a thin adapter:
it feeds frames to :meth:`ServerConnection.receive` and implements :class:`Transport`.
Tests drive :class:`ServerConnection` with an in-memory transport, no sockets.

API
---
``Transport`` (what a transport provides)::

    send(data: bytes) -> None          write one binary message (never blocks; any
                                       thread: sessions write from their workers)
    close(code: int, reason: str)      close the connection with a close code

``ServerConnection(sessions, session_id, request, transport, *, metrics=None,
max_message_size=20 MiB, rate=RateLimit())``::

    await receive(data: bytes | str)   one incoming frame; returns once handled
                                       (session creation is awaited; patches are
                                       queued on the session, answered later)
    connection_lost()                  the transport closed (detaches from the session)
    send(data) / close(code, reason)   used by the session to write to this client
    session, client_id, synced_seq, closed

``sessions`` is an :class:`~docsync.server.manager.AppSessions` (or anything with
``get(id)`` and ``async get_or_create(id, request, run_code=True)``).

Message builders shared with the Python client: :func:`hello_message`,
:func:`ack_message`, :func:`ping_message`, :func:`info_request`, :func:`patch_message`,
:func:`error_message`, :func:`expired_message`.

Close codes (``CLOSE_*``): 1000 normal, 1001 going away (server shutdown), 1009 too
big, 1013 try again later (the client fell more than ``max_write_buffer`` bytes behind;
reconnecting resumes or resyncs), 4000 malformed, 4003 forbidden, 4004 session expired,
4008 too many messages.

Flood rule: each connection may send ``RateLimit.rate`` messages per second on average
(default 200) with bursts of up to ``RateLimit.burst`` (default 1000); beyond that the
connection is closed with 4008. Other connections and sessions are not affected.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from docsync import _core
from docsync.errors import DecodeError, DocsyncError, LimitError
from docsync.server.contexts import RequestInfo
from docsync.server.metrics import Metrics
from docsync.server.session import error_code

_MESSAGES_IN = Metrics.key("docsync_messages_in_total")  # (every message: keys made once)
_BYTES_IN = Metrics.key("docsync_bytes_in_total")

if TYPE_CHECKING:
    from docsync.server.session import ServerSession

__all__ = [
    "Transport",
    "ServerConnection",
    "RateLimit",
    "hello_message",
    "ack_message",
    "ping_message",
    "info_request",
    "patch_message",
    "error_message",
    "expired_message",
    "CLOSE_NORMAL",
    "CLOSE_GOING_AWAY",
    "CLOSE_TOO_BIG",
    "CLOSE_MALFORMED",
    "CLOSE_FORBIDDEN",
    "CLOSE_EXPIRED",
    "CLOSE_FLOOD",
    "CLOSE_TRY_AGAIN",
]

log = logging.getLogger("docsync.server")

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_MALFORMED = 4000
CLOSE_FORBIDDEN = 4003
CLOSE_EXPIRED = 4004
CLOSE_FLOOD = 4008
CLOSE_TRY_AGAIN = 1013

DEFAULT_MAX_MESSAGE_SIZE = 20 * 1024 * 1024


# ---------------------------------------------------------------- message builders
def hello_message(client_id: str, resume: int | None = None, push: bytes | None = None) -> bytes:
    """``hello``; ``push`` is a snapshot payload (``Document.snapshot()`` bytes)."""
    payload = {"client_id": client_id, "resume": resume, "push": _core.decode(push) if push is not None else None}
    return _core.encode_message("hello", payload=payload)


def ack_message(n: int) -> bytes:
    return _core.encode_message("ack", ack=n)


def ping_message(seq: int) -> bytes:
    return _core.encode_message("ping", seq=seq)


def info_request(seq: int) -> bytes:
    return _core.encode_message("info", seq=seq)


def patch_message(seq: int, patch: Any) -> bytes:
    """Client → server patch number ``seq`` (the client's own counter)."""
    return patch.to_message(seq)


def error_message(code: str, message: str, ack: int | None = None) -> bytes:
    return _core.encode_message("error", ack=ack, payload={"code": code, "message": message})


def expired_message(message: str = "the session expired; reload the page") -> bytes:
    return _core.encode_message("expired", payload={"message": message})


class Transport(Protocol):
    def send(self, data: bytes) -> None: ...
    def close(self, code: int, reason: str) -> None: ...


class RateLimit:
    """Token bucket: ``rate`` messages per second, bursts up to ``burst``."""

    def __init__(self, rate: float = 200.0, burst: float = 1000.0) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class ServerConnection:
    """One client connection to one session (see the module docstring)."""

    def __init__(
        self,
        sessions: Any,
        session_id: str,
        request: RequestInfo,
        transport: Transport,
        *,
        metrics: Metrics | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        rate: RateLimit | None = None,
    ) -> None:
        self.sessions = sessions
        self.session_id = session_id
        self.request = request
        self.transport = transport
        self.metrics = metrics or Metrics()
        self.max_message_size = max_message_size
        self.rate = rate or RateLimit()
        self.session: "ServerSession | None" = None
        self.client_id = ""
        self.synced_seq = -1
        self.closed = False
        self._hello_seen = False

    # ---------------------------------------------------------------- transport side
    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self.session is not None:
            self.session.count_out(1, len(data))
        else:
            self.metrics.inc("docsync_messages_out_total")
            self.metrics.inc("docsync_bytes_out_total", len(data))
        self.transport.send(data)

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.metrics.inc("docsync_connections_closed_total", code=str(code))
        self.closed = True
        self._detach()
        self.transport.close(code, reason)

    def close_if_silent(self) -> None:
        """Close with 4000 if no ``hello`` arrived yet (called after a timeout)."""
        if not self._hello_seen and not self.closed:
            self._error("protocol", "no hello received")
            self.close(CLOSE_MALFORMED, "no hello")

    def connection_lost(self) -> None:
        if not self.closed:
            self.metrics.inc("docsync_connections_closed_total", code="remote")
        self.closed = True
        self._detach()

    def _detach(self) -> None:
        if self.session is not None:
            self.session.detach(self)

    def _error(self, code: str, message: str, ack: int | None = None) -> None:
        self.metrics.inc("docsync_client_errors_total", code=code)
        self.send(error_message(code, message, ack))

    # ---------------------------------------------------------------- messages
    async def receive(self, data: bytes | str) -> None:
        if self.closed:
            return
        self.metrics.add(_MESSAGES_IN, 1, _BYTES_IN, len(data))
        if self.session is not None:
            self.session.count_in(len(data))
        if not self.rate.allow():
            self.metrics.inc("docsync_client_errors_total", code="flood")
            log.warning("closing a connection of session %s: more than %g messages/s", self.session_id, self.rate.rate)
            self.close(CLOSE_FLOOD, "too many messages")
            return
        if isinstance(data, str):
            self._error("decode", "docsync messages are binary msgpack frames, not text")
            self.close(CLOSE_MALFORMED, "text frame")
            return
        try:
            msg = _core.decode_message(data, max_size=self.max_message_size)
        except LimitError as e:
            self._error("limit", str(e))
            self.close(CLOSE_TOO_BIG, "message too big")
            return
        except DocsyncError as e:
            self._error(error_code(e), str(e))
            if isinstance(e, DecodeError):
                self.close(CLOSE_MALFORMED, "malformed message")
            return
        except Exception as e:  # the decoder must not raise anything else; be safe
            log.error("unexpected decoder error: %r", e)
            self._error("decode", "malformed message")
            self.close(CLOSE_MALFORMED, "malformed message")
            return
        kind = msg.type
        if not self._hello_seen:
            if kind != "hello":
                self._error("protocol", f"the first message must be 'hello', not {kind!r}")
                self.close(CLOSE_MALFORMED, "no hello")
                return
            self._hello_seen = True
            await self._hello(msg)
            return
        session = self.session
        if session is None:  # hello still being handled or failed
            return
        if kind == "patch":
            if msg.patch is None or msg.seq is None:
                self._error("protocol", "a patch needs 'seq' and a patch payload", msg.seq)
                return
            session.submit_client_patch(self, msg.seq, msg.patch)
        elif kind == "ack":
            if isinstance(msg.ack, int):
                session.ack(self, msg.ack)
        elif kind == "ping":
            session.submit_ping(self, msg.seq)
        elif kind == "info":
            from docsync import __version__

            payload = {"version": __version__, "protocol": _core.PROTOCOL_VERSION, "session_id": session.id}
            self.send(_core.encode_message("info", ack=msg.seq, payload=payload))
        elif kind == "hello":
            self._error("protocol", "'hello' was already sent on this connection", msg.seq)
        else:
            self._error("protocol", f"unknown message type {kind!r}", msg.seq)

    async def _hello(self, msg: Any) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        client_id = p.get("client_id")
        resume = p.get("resume")
        if client_id is None:
            import secrets

            client_id = secrets.token_urlsafe(12)
        if not isinstance(client_id, str) or not (0 < len(client_id) <= 128):
            self._error("protocol", "hello: client_id must be a string of 1-128 characters")
            self.close(CLOSE_MALFORMED, "bad hello")
            return
        if resume is not None and (not isinstance(resume, int) or isinstance(resume, bool) or resume < 0):
            self._error("protocol", "hello: resume must be a non-negative int or nil")
            self.close(CLOSE_MALFORMED, "bad hello")
            return
        self.client_id = client_id
        push = msg.snapshot if p.get("push") is not None else None
        if push is not None and not getattr(getattr(self.sessions, "app", None), "accepts_push", True):
            self._error("forbidden", "this app builds its own documents; push to a server's root app instead")
            self.close(CLOSE_FORBIDDEN, "push not allowed")
            return
        if resume is not None:
            session = self.sessions.get(self.session_id)
            if session is None or session.destroyed:
                self.metrics.inc("docsync_resumes_total", outcome="expired")
                self.send(expired_message(f"session {self.session_id} expired; reload the page"))
                self.close(CLOSE_EXPIRED, "session expired")
                return
            self.session = session
            await session.resume(self, resume)
            return
        try:
            session = await self.sessions.get_or_create(self.session_id, self.request, run_code=push is None)
        except Exception:
            log.exception("could not create session %s", self.session_id)
            self._error("internal", "the server could not create the session")
            self.close(1011, "session creation failed")
            return
        if self.closed:
            return
        self.session = session
        if push is not None:
            try:
                await session.push(self, push)
            except DocsyncError as e:
                self.session = None
                self._error(error_code(e), str(e))
                self.close(CLOSE_MALFORMED, "bad push")
        else:
            await session.attach(self)
