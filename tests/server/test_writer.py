"""FrameWriter on real sockets, with a real asyncio loop running in a thread.

The reading side parses WebSocket frames (RFC 6455 §5.2, unmasked server frames) so the
tests check what a browser would see: whole frames, each writer thread's in order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import gc
import os
import socket
import struct
import threading
import time
import weakref
from typing import Any, Callable, Iterator

import pytest

from docsync.server.writer import FrameWriter, install


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        time.sleep(0.002)


class LoopThread:
    """An asyncio loop running forever in its own thread (the server's I/O loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-io-loop", daemon=True)
        self.thread.start()

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``fn()`` on the loop thread and return its result."""
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as e:
                fut.set_exception(e)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def io_loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture
def sock_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of a TCP connection on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    yield server, client
    server.close()
    client.close()


class FrameReader:
    """Reads and parses WebSocket frames from a blocking socket."""

    def __init__(self, sock: socket.socket, chunk: int = 65536, pause: float = 0.0, pause_every: int = 1) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.chunk = chunk
        self.pause = pause
        self.pause_every = pause_every
        self.reads = 0
        self.eof = False
        sock.settimeout(20)

    def _need(self, n: int) -> bool:
        while len(self.buf) < n:
            data = self.sock.recv(self.chunk)
            if not data:
                self.eof = True
                return False
            self.buf += data
            self.reads += 1
            if self.pause and self.reads % self.pause_every == 0:
                time.sleep(self.pause)
        return True

    def frame(self) -> tuple[int, bytes] | None:
        """(first header byte, payload), or None at EOF."""
        if not self._need(2):
            assert not self.buf, f"EOF inside a frame header ({len(self.buf)} bytes)"
            return None
        first, second = self.buf[0], self.buf[1]
        assert not second & 0x80, "server frames are never masked"
        n, pos = second & 0x7F, 2
        if n == 126:
            assert self._need(4)
            (n,) = struct.unpack_from("!H", self.buf, 2)
            assert n >= 126, "16-bit length for a short frame"
            pos = 4
        elif n == 127:
            assert self._need(10)
            (n,) = struct.unpack_from("!Q", self.buf, 2)
            assert n > 0xFFFF, "64-bit length for a 16-bit frame"
            pos = 10
        assert self._need(pos + n), "EOF inside a frame payload"
        payload = bytes(self.buf[pos : pos + n])
        del self.buf[: pos + n]
        return first, payload

    def frames(self, count: int) -> list[tuple[int, bytes]]:
        out = []
        for _ in range(count):
            f = self.frame()
            assert f is not None, f"EOF after {len(out)} of {count} frames"
            out.append(f)
        return out


def make_payload(thread: int, seq: int, size: int) -> bytes:
    fill = bytes([(thread * 31 + seq * 7) % 251 + 1])
    return struct.pack("!II", thread, seq) + fill * (size - 8)


def check_payload(payload: bytes) -> tuple[int, int]:
    thread, seq = struct.unpack_from("!II", payload)
    assert payload == make_payload(thread, seq, len(payload)), f"frame {thread}/{seq} corrupted"
    return thread, seq


def test_frame_headers_use_the_shortest_length_encoding(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    w = FrameWriter(a, io_loop.loop, max_pending=1 << 30, on_too_slow=lambda n: None)
    expected = {
        0: b"\x82\x00",
        125: b"\x82\x7d",
        126: b"\x82\x7e\x00\x7e",
        0xFFFF: b"\x82\x7e\xff\xff",
        0x10000: b"\x82\x7f" + (0x10000).to_bytes(8, "big"),
    }
    b.settimeout(10)
    for n, header in expected.items():
        w.send(b"q" * n)
        got = b""
        while len(got) < len(header) + n:
            got += b.recv(1 << 20)
        assert got == header + b"q" * n, n
    w.write_frame(0x89, b"hi")  # a ping: the first byte as given
    assert b.recv(100) == b"\x89\x02hi"
    io_loop.call(w.close)


def test_frames_from_many_threads_arrive_whole_and_in_order(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    too_slow: list[int] = []
    w = FrameWriter(a, io_loop.loop, max_pending=1 << 30, on_too_slow=too_slow.append)
    sizes = [8, 9, 125, 126, 127, 1000, 65535, 65536, 70000, 200_000]
    n_threads, per_thread = 4, 120
    queued_seen = []

    def writer(k: int) -> None:
        for i in range(per_thread):
            p = make_payload(k, i, sizes[(i * 3 + k) % len(sizes)])
            w.send(p)
            queued_seen.append(w.pending_bytes > 0)

    reader = FrameReader(b, pause=0.0005, pause_every=16)
    got: list[tuple[int, bytes]] = []
    rt = threading.Thread(target=lambda: got.extend(reader.frames(n_threads * per_thread)))
    rt.start()
    ts = [threading.Thread(target=writer, args=(k,)) for k in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    rt.join(30)
    assert not rt.is_alive()
    assert len(got) == n_threads * per_thread
    last = {k: -1 for k in range(n_threads)}
    for first, payload in got:
        assert first == 0x82
        k, seq = check_payload(payload)
        assert seq == last[k] + 1, f"thread {k}: frame {seq} after {last[k]}"
        last[k] = seq
    assert any(queued_seen), "the socket never pushed back: the queue path was not exercised"
    wait_for(lambda: w.pending_bytes == 0, what="queue drained")
    assert too_slow == []
    io_loop.call(w.close)


def test_large_frame_to_slow_reader_arrives_complete(io_loop: LoopThread, tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = tcp_pair
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    w = FrameWriter(server, io_loop.loop, max_pending=64 << 20, on_too_slow=lambda n: None)
    big = os.urandom(8 << 20)
    w.send(big)
    assert w.pending_bytes > 0, "8 MiB went out at once: nothing exercised the loop's writable path"
    # frames written while the big one is queued go after it
    small = [make_payload(1, i, 100 + i) for i in range(5)]
    for p in small:
        w.send(p)
    reader = FrameReader(client, chunk=256 * 1024, pause=0.002, pause_every=4)
    first, payload = reader.frames(1)[0]
    assert first == 0x82 and len(payload) == len(big) and payload == big
    rest = reader.frames(5)
    assert [p for _, p in rest] == small
    wait_for(lambda: w.pending_bytes == 0, what="queue drained")
    # drained: the next frame goes straight to the socket again
    p = make_payload(2, 0, 50)
    w.send(p)
    assert w.pending_bytes == 0
    assert reader.frames(1)[0][1] == p
    io_loop.call(w.close)


def test_too_slow_once_then_data_dropped_but_control_frames_queued(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    calls: list[tuple[int, int]] = []
    called = threading.Event()

    def on_too_slow(n: int) -> None:
        calls.append((threading.get_ident(), n))
        called.set()

    max_pending = 64 * 1024
    w = FrameWriter(a, io_loop.loop, max_pending=max_pending, on_too_slow=on_too_slow)
    sent = 0
    for i in range(200):  # the reader reads nothing yet: ~3 MiB against a few 100 KiB of buffers
        p = make_payload(0, i, 16 * 1024)
        w.send(p)
        sent += 1
    assert called.wait(10), "on_too_slow never ran"
    time.sleep(0.1)
    assert len(calls) == 1, calls
    assert calls[0][0] == io_loop.thread.ident, "on_too_slow must run on the loop thread"
    assert calls[0][1] > max_pending
    queued = w.pending_bytes
    assert max_pending < queued < max_pending + 2 * (16 * 1024 + 10)
    # more data frames are dropped
    for i in range(200, 210):
        p = make_payload(0, i, 16 * 1024)
        w.send(p)
    assert w.pending_bytes == queued
    # a close frame still goes out, after everything queued before it
    close_payload = struct.pack("!H", 1013) + b"too slow"
    w.write_frame(0x88, close_payload)
    assert w.pending_bytes == queued + 2 + len(close_payload)

    reader = FrameReader(b)
    seqs = []
    while True:
        f = reader.frame()
        assert f is not None, "EOF before the close frame"
        first, payload = f
        if first == 0x88:
            assert payload == close_payload
            break
        assert first == 0x82
        seqs.append(check_payload(payload)[1])
    assert seqs == list(range(len(seqs))), "data frames lost or reordered before the drop"
    assert 0 < len(seqs) < 200
    wait_for(lambda: w.pending_bytes == 0, what="queue drained")
    assert len(calls) == 1
    io_loop.call(w.close)


def test_write_after_peer_closed_does_not_raise(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    calls: list[int] = []
    w = FrameWriter(a, io_loop.loop, max_pending=64 << 20, on_too_slow=calls.append)
    big = b"x" * (4 << 20)
    w.send(big)  # mostly queued: the peer reads nothing
    assert w.pending_bytes > 0
    b.close()
    # the loop finds the peer gone when it tries to flush: the queue is dropped
    wait_for(lambda: w.pending_bytes == 0, what="queue dropped after the peer closed")
    for n in (10, 1000, 100_000):
        w.send(b"y" * n)
    w.write_frame(0x88, b"\x03\xe8")
    assert w.pending_bytes == 0
    io_loop.call(w.close)


def test_write_directly_after_peer_closed(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    w = FrameWriter(a, io_loop.loop, max_pending=1 << 20, on_too_slow=lambda n: None)
    b.close()
    for _ in range(3):
        w.send(b"hello")
    w.write_frame(0x88, b"")
    assert w.pending_bytes == 0
    io_loop.call(w.close)


def test_close_twice_and_owner_socket_stays_usable(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    b.settimeout(10)
    w = FrameWriter(a, io_loop.loop, max_pending=1 << 20, on_too_slow=lambda n: None)
    w.send(b"abc")
    assert b.recv(100) == b"\x82\x03abc"
    io_loop.call(w.close)
    io_loop.call(w.close)  # twice is fine
    w.send(b"def")  # after close: ignored, no error
    w.write_frame(0x88, b"")
    assert a.fileno() != -1
    a.sendall(b"owner")
    assert b.recv(100) == b"owner"
    b.sendall(b"back")
    assert a.recv(100) == b"back"
    a.close()  # the writer's duplicate is closed too: the peer sees EOF
    assert b.recv(100) == b""


def test_close_with_a_queue_pending_stops_writing(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair
    w = FrameWriter(a, io_loop.loop, max_pending=64 << 20, on_too_slow=lambda n: None)
    big = b"z" * (4 << 20)
    w.send(big)
    assert w.pending_bytes > 0
    io_loop.call(w.close)
    assert w.pending_bytes == 0
    a.close()
    b.settimeout(10)
    total = 0
    while chunk := b.recv(1 << 20):
        total += len(chunk)
    assert 0 < total < len(big), "close() must drop what was still queued"


def test_writer_leaves_owner_socket_blocking_mode_alone(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    """The writer has its own descriptor; O_NONBLOCK belongs to the open file shared by
    both descriptors, so the writer must not set it (nor depend on it)."""
    a, b = sock_pair
    assert a.getblocking()

    def nonblocking(s: socket.socket) -> bool:
        return bool(fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK)

    assert not nonblocking(a)
    w = FrameWriter(a, io_loop.loop, max_pending=64 << 20, on_too_slow=lambda n: None)
    assert not nonblocking(a), "FrameWriter made its owner's socket non-blocking"
    # and the writer's own sends never block, whatever the owner's mode
    t0 = time.monotonic()
    big = b"q" * (4 << 20)
    w.send(big)
    assert time.monotonic() - t0 < 2.0
    assert w.pending_bytes > 0
    # the owner's blocking recv waits for data instead of failing
    got: list[bytes] = []
    r = threading.Thread(target=lambda: got.append(a.recv(10)))
    r.start()
    time.sleep(0.05)
    b.sendall(b"ping")
    r.join(10)
    assert got == [b"ping"]
    io_loop.call(w.close)


@pytest.mark.parametrize("owner_timeout", [None, 0.0, 5.0])
def test_writer_never_waits_whatever_the_owners_timeout(
    io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket], owner_timeout: float | None
) -> None:
    a, b = sock_pair
    a.settimeout(owner_timeout)
    w = FrameWriter(a, io_loop.loop, max_pending=64 << 20, on_too_slow=lambda n: None)
    assert a.gettimeout() == owner_timeout
    t0 = time.monotonic()
    for i in range(4):  # the peer reads nothing: from the 1st or 2nd frame on, all is queued
        p = make_payload(0, i, 1 << 20)
        w.send(p)
    assert time.monotonic() - t0 < 2.0
    assert w.pending_bytes > 0, "a full socket must queue, not drop"
    reader = FrameReader(b)
    assert [check_payload(p)[1] for _, p in reader.frames(4)] == [0, 1, 2, 3]
    io_loop.call(w.close)


def test_install_routes_tornado_frames_through_writer(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = sock_pair

    class FakeConnection:  # just the attribute install() replaces
        _write_frame: Any = None

    conn = FakeConnection()
    w = FrameWriter(a, io_loop.loop, max_pending=1 << 20, on_too_slow=lambda n: None)
    install(conn, w)
    # Tornado writes its frames on the loop thread (the returned Future needs the loop)
    done = io_loop.call(lambda: conn._write_frame(True, 0x9, b"ping!"))  # a ping: control frame
    assert done.done()
    io_loop.call(lambda: conn._write_frame(True, 0x2, b"data" * 40))
    io_loop.call(lambda: conn._write_frame(True, 0x8, struct.pack("!H", 1000)))
    reader = FrameReader(b)
    frames = reader.frames(3)
    assert frames == [(0x89, b"ping!"), (0x82, b"data" * 40), (0x88, struct.pack("!H", 1000))]
    io_loop.call(w.close)


def test_an_unclosed_writer_is_collected_and_its_descriptor_closed(io_loop: LoopThread, sock_pair: tuple[socket.socket, socket.socket]) -> None:
    # The engine's sink holds the writer's callbacks, which refer back to the writer: the
    # garbage collector must see through the sink, or every connection would leak.
    a, b = sock_pair
    w = FrameWriter(a, io_loop.loop, max_pending=1 << 20, on_too_slow=lambda n: None)
    fd = w._sink.fileno()
    assert os.fstat(fd)
    ref = weakref.ref(w)
    del w
    gc.collect()
    assert ref() is None
    with pytest.raises(OSError):
        os.fstat(fd)
