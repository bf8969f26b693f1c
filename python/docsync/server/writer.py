"""Writing WebSocket frames from any thread.

A session's worker thread publishes a change and writes it to every connection itself:
one ``send`` system call per connection, no hop through the I/O loop (a hop costs a
thread wake-up, which costs more CPU than the update). :class:`FrameWriter` owns the
sending side of one WebSocket:

* it sends on its own duplicate of the socket's descriptor, so Tornado closing its
  descriptor on the loop can never hand ours to another connection in the middle of a
  send; the connection's TCP close happens when both are closed (``close()``, called by
  the handler's ``on_close``);
* what the kernel does not take at once is queued, and the I/O loop writes it when the
  socket becomes writable; frames stay whole and in order;
* every frame of the connection goes through it — Tornado's own (ping, pong, close)
  included, see :func:`install` — so frames never interleave;
* a client more than ``max_pending`` bytes behind is dropped with close code 1013 (it
  resumes or resyncs when it reconnects).
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import os
import socket
import struct
import threading
from typing import Any, Callable

from tornado.concurrent import Future

__all__ = ["FrameWriter", "binary_header", "install"]

log = logging.getLogger("docsync.server")

_DONTWAIT = socket.MSG_DONTWAIT


_SHORT = struct.Struct("!BB").pack  # (compiled once: struct.pack looks its format up per call)
_MEDIUM = struct.Struct("!BBH").pack
_LONG = struct.Struct("!BBQ").pack


def _frame_header(first: int, n: int) -> bytes:
    if n < 126:
        return _SHORT(first, n)
    if n <= 0xFFFF:
        return _MEDIUM(first, 126, n)
    return _LONG(first, 127, n)


#: ``binary_header(n)``: the header of an unmasked, final, binary WebSocket frame of ``n``
#: bytes (RFC 6455 §5.2). A partial, not a function: one Python frame less per update.
binary_header: Callable[[int], bytes] = functools.partial(_frame_header, 0x82)


class FrameWriter:
    """Sends whole frames on one WebSocket's socket; ``write`` from any thread."""

    def __init__(
        self,
        sock: socket.socket,
        loop: Any,
        max_pending: int,
        on_too_slow: Callable[[int], None],
    ) -> None:
        # Our own descriptor, in whatever blocking mode: O_NONBLOCK belongs to the open file
        # both descriptors share, so setting it here would change the owner's socket (and
        # the owner changing it would make our sends block). Each send says MSG_DONTWAIT.
        self._sock = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        self._loop = loop  # the asyncio loop of the I/O thread
        self._max_pending = max_pending
        self._on_too_slow = on_too_slow
        self._lock = threading.Lock()
        self._pending: collections.deque[memoryview] = collections.deque()
        self._pending_bytes = 0
        self._watching = False  # registered for writability on the loop
        self._dropping = False  # data frames dropped: the client is too slow, or gone
        self._closed = False

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def write(self, header: bytes, payload: bytes = b"", control: bool = False) -> None:
        """Send the frame ``header + payload`` (gathered by the kernel, not concatenated)
        now if the socket takes it, else queue it. Data frames are dropped once the client
        is too slow; ``control`` frames (close) still queue."""
        with self._lock:
            if self._closed or (self._dropping and not control):
                return
            total = len(header) + len(payload)
            n = 0
            if not self._pending:
                try:
                    n = self._sock.sendmsg((header, payload), (), _DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    n = 0
                except OSError:  # the peer is gone; the reading side will notice
                    self._broken_locked()
                    return
                if n == total:
                    return
            self._pending.append(memoryview(header))
            if payload:
                self._pending.append(memoryview(payload))
            self._pending_bytes += total
            self._consume_locked(n)
            if self._pending_bytes > self._max_pending and not self._dropping and not control:
                self._dropping = True
                self._loop.call_soon_threadsafe(self._on_too_slow, self._pending_bytes)
            if not self._watching:
                self._watching = True
                self._loop.call_soon_threadsafe(self._watch)

    def _consume_locked(self, n: int) -> None:
        """Drop ``n`` sent bytes from the front of the queue."""
        self._pending_bytes -= n
        pending = self._pending
        while n:
            first = pending[0]
            if n < len(first):
                pending[0] = first[n:]
                return
            n -= len(first)
            pending.popleft()

    def _broken_locked(self) -> None:
        self._pending.clear()
        self._pending_bytes = 0
        self._dropping = True

    # ------------------------------------------------------------------ loop thread
    def _watch(self) -> None:
        with self._lock:
            if self._closed or not self._pending:
                self._watching = False
                return
            self._loop.add_writer(self._sock.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        with self._lock:
            while self._pending and not self._closed:
                try:
                    n = self._sock.sendmsg(list(itertools.islice(self._pending, 64)), (), _DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    self._broken_locked()
                    break
                self._consume_locked(n)
                if self._pending:
                    return  # the kernel took what it could; wait for the next writable
            if self._watching and not self._closed:
                self._loop.remove_writer(self._sock.fileno())
            self._watching = False

    def close(self) -> None:
        """Stop writing and close our descriptor (the loop thread, from ``on_close``)."""
        with self._lock:
            if self._closed:
                return
            if self._watching:
                self._loop.remove_writer(self._sock.fileno())
                self._watching = False
            self._closed = True
            self._pending.clear()
            self._pending_bytes = 0
            self._sock.close()


def install(ws_connection: Any, writer: FrameWriter) -> None:
    """Route every frame Tornado writes on ``ws_connection`` (``WebSocketProtocol13``:
    pings, pongs, close, ``write_message``) through ``writer``. Tornado builds all its
    frames in ``_write_frame``; server frames are never masked."""

    def write_frame(fin: bool, opcode: int, data: bytes, flags: int = 0) -> "Future[None]":
        first = (0x80 if fin else 0) | opcode | flags
        writer.write(_frame_header(first, len(data)), data, control=bool(opcode & 0x8))
        done: Future[None] = Future()
        done.set_result(None)
        return done

    ws_connection._write_frame = write_frame
