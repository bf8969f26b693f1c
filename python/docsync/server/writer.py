"""Writing WebSocket frames from any thread.

A session's worker thread publishes a change and writes it to every connection itself:
one ``send`` system call per connection, no hop through the I/O loop (a hop costs a
thread wake-up, which costs more CPU than the update). :class:`FrameWriter` owns the
sending side of one WebSocket; the frames themselves are written by the engine's
``FrameSink`` (``rust/docsync-py/src/sink.rs``), this module is its I/O-loop glue:

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

import functools
import socket
from typing import Any, Callable

from tornado.concurrent import Future

from docsync import _core

__all__ = ["FrameWriter", "install"]


class FrameWriter:
    """Sends whole frames on one WebSocket's socket, from any thread:
    ``send(payload)`` (a binary data frame) and ``write_frame(first, payload)`` (any
    frame; ``first`` is the header's first byte, FIN and opcode)."""

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
        self._loop = loop  # the asyncio loop of the I/O thread
        call_soon = loop.call_soon_threadsafe
        self._sink = sink = _core.FrameSink(
            sock.fileno(), max_pending, functools.partial(call_soon, self._watch), functools.partial(call_soon, on_too_slow)
        )
        #: ``send(payload)``: one binary data frame. The engine's method itself: a
        #: session's worker calls it for every change, for every connection.
        self.send: Callable[[bytes], None] = sink.send
        #: ``write_frame(first, payload)``: one frame of any opcode. Data frames are
        #: dropped once the client is too slow; control frames (close) still queue.
        self.write_frame: Callable[[int, bytes], None] = sink.write_frame

    @property
    def pending_bytes(self) -> int:
        return self._sink.pending_bytes  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ loop thread
    def _watch(self) -> None:
        if self._sink.start_watch():
            self._loop.add_writer(self._sink.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        if self._sink.on_writable():
            self._loop.remove_writer(self._sink.fileno())

    def close(self) -> None:
        """Stop writing and close our descriptor (the loop thread, from ``on_close``)."""
        if self._sink.stop():
            self._loop.remove_writer(self._sink.fileno())
        self._sink.close()


def install(ws_connection: Any, writer: FrameWriter) -> None:
    """Route every frame Tornado writes on ``ws_connection`` (``WebSocketProtocol13``:
    pings, pongs, close, ``write_message``) through ``writer``. Tornado builds all its
    frames in ``_write_frame``; server frames are never masked."""

    def write_frame(fin: bool, opcode: int, data: bytes, flags: int = 0) -> "Future[None]":
        writer.write_frame((0x80 if fin else 0) | opcode | flags, data)
        done: Future[None] = Future()
        done.set_result(None)
        return done

    ws_connection._write_frame = write_frame
