"""The server end to end: the same streaming app under `docsync serve` and `bokeh serve`.

An app streams 100 rows × 3 float64 columns (x, y and t = the time the rows were made)
every 50 ms. N WebSocket clients speaking each server's real protocol connect from this
process; the server runs in its own process, whose CPU time (psutil) is what we report,
per update delivered to a client. Latency = arrival time − t of the newest row. Also:
opening 50 sessions (time and memory each) and memory after they are closed and cleaned.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np
import psutil
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from benches.harness import Result, Side, WorkloadFailed

APP = textwrap.dedent(
    """
    import time
    import numpy as np
    from {pkg}.models import ColumnDataSource
    from {pkg}.plotting import curdoc, figure

    source = ColumnDataSource(data=dict(x=np.zeros(0), y=np.zeros(0), t=np.zeros(0)))
    p = figure(width=600, height=300)
    p.line("x", "y", source=source)
    curdoc().add_root(p)
    state = {{"i": 0}}

    def tick():
        i = state["i"]
        state["i"] += 100
        x = np.arange(i, i + 100, dtype=np.float64)
        source.stream(dict(x=x, y=np.sin(x / 50.0), t=np.full(100, time.time())), rollover=10000)

    curdoc().add_periodic_callback(tick, 50)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`docsync serve` or `bokeh serve` of the streaming app, in a subprocess."""

    def __init__(self, system: str, workdir: Path) -> None:
        self.system = system
        self.port = free_port()
        app = workdir / f"{system}_app" / "app.py"
        app.parent.mkdir(exist_ok=True)
        app.write_text(APP.format(pkg=system))
        common = ["serve", str(app), "--port", str(self.port), "--address", "127.0.0.1",
                  "--check-unused-sessions", "300", "--unused-session-lifetime", "300"]
        if system == "bokeh":
            cmd = [sys.executable, "-m", "bokeh", *common, "--allow-websocket-origin", f"localhost:{self.port}"]
        else:
            cmd = [sys.executable, "-m", "docsync", *common]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.proc.stdout.read() if self.proc.stdout else ""
                    raise WorkloadFailed(f"{system} serve did not start: {out[-2000:]}")
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """CPU time of the server process: the sum of its threads' run time from
        /proc/PID/task/*/schedstat (nanoseconds; both servers keep their threads for the
        whole run), else psutil's user + system (10 ms clock ticks: too coarse for a
        1-client window of a few seconds)."""
        try:
            total = 0
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            return total / 1e9
        except (OSError, ValueError, IndexError):
            t = self.ps.cpu_times()
            return float(t.user + t.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class StreamClient:
    """Counts stream updates and their latency over one WebSocket."""

    def __init__(self) -> None:
        self.updates = 0
        self.bytes = 0
        self.latencies: list[float] = []
        self.loaded = asyncio.Event()
        self.conn: Any = None

    def record(self, t_newest: float, nbytes: int) -> None:
        self.updates += 1
        self.bytes += nbytes
        self.latencies.append(time.time() - t_newest)


class DocsyncClient(StreamClient):
    last_ack = 0.0
    unacked_bytes = 0

    async def connect(self, port: int) -> None:
        from docsync import core
        from docsync.server.tokens import generate_token

        token = generate_token(uuid.uuid4().hex)
        req = HTTPRequest(f"ws://127.0.0.1:{port}/app/ws?docsync-token={token}",
                          headers={"Origin": f"http://localhost:{port}"})
        self.conn = await websocket_connect(req, max_message_size=64 << 20)
        await self.conn.write_message(core.encode_message("hello", payload={"client_id": uuid.uuid4().hex, "resume": None}), binary=True)
        asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        from docsync import core

        while True:
            data = await self.conn.read_message()
            if data is None:
                return
            assert isinstance(data, bytes)
            msg = core.decode_message(data)
            if msg.type == "snapshot":
                self.loaded.set()
            elif msg.type == "patch" and msg.patch is not None:
                for event in msg.patch.events():
                    if event["k"] == "stream":
                        self.record(float(event["columns"]["t"][-1]), len(data))
                now = time.monotonic()
                self.unacked_bytes += len(data)
                # batched as docsync.js and the Python client do: 5 s, or 4 MiB, whichever first
                if now - self.last_ack >= 5.0 or self.unacked_bytes >= 4 << 20:
                    self.last_ack, self.unacked_bytes = now, 0
                    try:
                        await self.conn.write_message(core.encode_message("ack", ack=msg.seq), binary=True)
                    except WebSocketClosedError:
                        return


class BokehClient(StreamClient):
    """A minimal client of the Bokeh protocol (header, metadata, content, buffers)."""

    async def connect(self, port: int) -> None:
        from bokeh.util.token import generate_jwt_token

        token = generate_jwt_token(uuid.uuid4().hex)
        req = HTTPRequest(f"ws://127.0.0.1:{port}/app/ws", headers={"Origin": f"http://localhost:{port}"})
        self.conn = await websocket_connect(req, subprotocols=["bokeh", token], max_message_size=64 << 20)
        asyncio.ensure_future(self._read())

    async def _send(self, msgtype: str) -> None:
        header = json.dumps({"msgid": uuid.uuid4().hex, "msgtype": msgtype})
        for part in (header, "{}", "{}"):
            await self.conn.write_message(part)

    async def _read(self) -> None:
        while True:
            header_raw = await self.conn.read_message()
            if header_raw is None:
                return
            header = json.loads(header_raw)
            _metadata = await self.conn.read_message()
            content_raw = await self.conn.read_message()
            if _metadata is None or content_raw is None:
                return
            nbytes = len(header_raw) + len(_metadata) + len(content_raw)
            buffers: dict[str, bytes] = {}
            for _ in range(header.get("num_buffers", 0)):
                buf_header_raw = await self.conn.read_message()
                payload = await self.conn.read_message()
                if buf_header_raw is None or payload is None:
                    return
                buf_header = json.loads(buf_header_raw)
                buffers[buf_header["id"]] = payload
                nbytes += len(payload)
            kind = header["msgtype"]
            if kind == "ACK":
                await self._send("PULL-DOC-REQ")
            elif kind == "PULL-DOC-REPLY":
                self.loaded.set()
            elif kind == "PATCH-DOC":
                for event in json.loads(content_raw)["events"]:
                    if event.get("kind") == "ColumnsStreamed":
                        entries = dict(event["data"]["entries"])
                        self.record(_bokeh_last(entries["t"], buffers), nbytes)


def _bokeh_last(value: Any, buffers: dict[str, bytes]) -> float:
    if isinstance(value, list):
        return float(value[-1])
    array = value["array"]
    if isinstance(array, dict) and array.get("type") == "ref":
        raw = buffers[array["id"]]
    elif isinstance(array, dict) and "data" in array:
        data = array["data"]
        raw = buffers[data["id"]] if isinstance(data, dict) else __import__("base64").b64decode(data)
    else:
        raise WorkloadFailed(f"unexpected Bokeh array encoding: {value!r:.200}")
    return float(np.frombuffer(raw, dtype=value.get("dtype", "float64"))[-1])


CLIENTS: dict[str, type[StreamClient]] = {"docsync": DocsyncClient, "bokeh": BokehClient}


def quiesce(servers: list[ServerProcess], timeout: float = 10.0) -> None:
    """Wait until no server process does anything (together under 2 ms of CPU in 200 ms):
    the sessions of the previous window, on either server, are destroyed only after the
    unused-session lifetime, and until then their periodic callbacks run (measured: the
    Bokeh server's lingering session burnt ~120 ms of CPU during a docsync window that
    followed it, on this 2-core machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(s.cpu_seconds() for s in servers)
        time.sleep(0.2)
        if sum(s.cpu_seconds() for s in servers) - before < 0.002:
            return


async def stream_window(server: ServerProcess, nclients: int, seconds: float) -> dict[str, float]:
    clients = [CLIENTS[server.system]() for _ in range(nclients)]
    for c in clients:
        await c.connect(server.port)  # type: ignore[attr-defined]
    await asyncio.wait_for(asyncio.gather(*(c.loaded.wait() for c in clients)), 30)
    await asyncio.sleep(0.5)  # let sessions settle (first ticks, JIT-free warm-up)
    for c in clients:
        c.updates, c.bytes, c.latencies = 0, 0, []
    cpu0 = server.cpu_seconds()
    await asyncio.sleep(seconds)
    cpu = server.cpu_seconds() - cpu0
    updates = sum(c.updates for c in clients)
    lat = sorted(x for c in clients for x in c.latencies)
    for c in clients:
        c.conn.close()
    if updates < nclients * seconds * 5:  # 20 Hz expected; far fewer means it is broken
        raise WorkloadFailed(f"{server.system}: only {updates} updates for {nclients} clients in {seconds} s")
    await asyncio.sleep(0.2)
    return {
        "cpu_per_update": cpu / updates,
        "lat_median": statistics.median(lat),
        "lat_p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "bytes_per_update": sum(c.bytes for c in clients) / updates,
        "updates_per_s": updates / seconds,
    }


async def open_sessions(server: ServerProcess, n: int) -> dict[str, float]:
    rss0 = server.rss()
    start = time.perf_counter()
    clients = []
    for _ in range(n):
        c = CLIENTS[server.system]()
        await c.connect(server.port)  # type: ignore[attr-defined]
        try:
            await asyncio.wait_for(c.loaded.wait(), 30)
        except asyncio.TimeoutError:
            raise WorkloadFailed(f"{server.system}: session {len(clients) + 1} of {n} did not load in 30 s") from None
        clients.append(c)
    elapsed = time.perf_counter() - start
    rss_open = server.rss()
    for c in clients:
        c.conn.close()
    await asyncio.sleep(2.0)  # lifetime 300 ms, checked every 300 ms
    return {"seconds_per_session": elapsed / n, "rss_per_session": (rss_open - rss0) / n,
            "rss_after_close": server.rss() - rss0}


def cold_floor(ticks: int = 40) -> tuple[float, float, float]:
    """What every update at 1 client costs before any server code runs, measured here
    (same machine): the CPU of a thread waking every 50 ms to do nothing, of the app's
    own numpy work in such a thread, and of writing an update's bytes (2.5 KiB) to a
    loopback TCP connection whose reader sleeps in another thread (cold caches: code that
    ran 50 ms ago runs ~10× slower than warm on a VM). Seconds of thread CPU per tick."""
    import threading

    out: dict[str, float] = {}
    listener = socket.create_server(("127.0.0.1", 0))
    writer = socket.create_connection(listener.getsockname())
    writer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader, _ = listener.accept()
    listener.close()

    def drain() -> None:
        while reader.recv(1 << 16):
            pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    payload = bytes(2560)

    def sleeper(step: str) -> None:
        wake = threading.Lock()  # what the server's pool threads sleep on
        wake.acquire()
        total = 0.0
        for i in range(ticks):
            t0 = time.thread_time()
            wake.acquire(True, 0.05)
            if step != "wake":
                x = np.arange(i * 100, i * 100 + 100, dtype=np.float64)
                dict(x=x, y=np.sin(x / 50.0), t=np.full(100, time.time()))
            if step == "send":
                writer.sendall(payload)
            total += time.thread_time() - t0
        out[step] = total / ticks

    try:
        for step in ("wake", "work", "send"):
            t = threading.Thread(target=sleeper, args=(step,))
            t.start()
            t.join()
    finally:
        writer.close()
        drainer.join(5)
        reader.close()
    return out["wake"], out["work"] - out["wake"], out["send"] - out["work"]


def _thread_cpu(native_id: int) -> float:
    with open(f"/proc/self/task/{native_id}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def pool_wake_cpu(ticks: int) -> float:
    """CPU per wake-up of a docsync session-pool worker running an empty periodic job
    every 50 ms (its own pool: the keeper thread sleeps in the engine between ticks)."""
    import threading

    from docsync.server.executor import SerialQueue, SessionPool

    pool = SessionPool(max_workers=2)
    fired: list[int] = []
    handle = SerialQueue(pool).call_every(0.05, lambda: fired.append(threading.get_native_id()))
    time.sleep(0.3)
    cpu0 = sum(_thread_cpu(t.native_id) for t in pool._threads if t.native_id)
    n0 = len(fired)
    time.sleep(ticks * 0.05)
    cpu = sum(_thread_cpu(t.native_id) for t in pool._threads if t.native_id) - cpu0
    n = len(fired) - n0
    handle.cancel()
    pool._core.stop()
    if n < ticks // 2:
        raise WorkloadFailed(f"session pool: {n} of ~{ticks} ticks ran")
    return cpu / n


def bare_wake_cpu(ticks: int) -> float:
    """The floor of :func:`pool_wake_cpu`: a Python thread waking every 50 ms on
    ``Lock.acquire(timeout)`` and doing nothing."""
    import threading

    out: list[float] = []

    def loop() -> None:
        lock = threading.Lock()
        lock.acquire()
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            lock.acquire(True, 0.05)
        me = threading.get_native_id()
        cpu0 = _thread_cpu(me)
        for _ in range(ticks):
            lock.acquire(True, 0.05)
        out.append((_thread_cpu(me) - cpu0) / ticks)

    t = threading.Thread(target=loop)
    t.start()
    t.join()
    return out[0]


def run(quick: bool, memcpy: float) -> list[Result]:
    results: list[Result] = []
    repeats = 1 if quick else 3
    seconds = 1.5 if quick else 4.0
    ticks = 10 if quick else 40
    pool_side, bare_side = [], []
    for _ in range(repeats):  # alternate
        pool_side.append(pool_wake_cpu(ticks))
        bare_side.append(bare_wake_cpu(ticks))
    results.append(Result(
        "server", "session pool: a worker waking every 50 ms for an empty job (floor: a bare thread "
        "waking on Lock.acquire every 50 ms)", "CPU per wake-up", Side(pool_side), Side(bare_side),
        baseline="bare thread",
    ))
    with tempfile.TemporaryDirectory() as tmp:
        servers = {s: ServerProcess(s, Path(tmp)) for s in ("docsync", "bokeh")}
        try:
            for nclients in ((1, 5) if quick else (1, 10, 50)):
                samples: dict[str, list[dict[str, float]]] = {"docsync": [], "bokeh": []}
                for _ in range(repeats):
                    for system in ("docsync", "bokeh"):  # alternate
                        quiesce(list(servers.values()))
                        samples[system].append(asyncio.run(stream_window(servers[system], nclients, seconds)))
                note = ""
                if nclients == 1:
                    wake, numpy_work, send = cold_floor()
                    note = (f"floor on this machine: a thread waking every 50 ms costs {wake * 1e6:.0f} µs CPU, "
                            f"the app's numpy work in it {numpy_work * 1e6:.0f} µs (cold), "
                            f"sending 2.5 KiB on loopback TCP {send * 1e6:.0f} µs")
                for metric, unit, label in (
                    ("cpu_per_update", "server CPU per delivered update", "CPU"),
                    ("lat_median", "latency median", "latency median"),
                    ("lat_p99", "latency p99", "latency p99"),
                ):
                    d = Side([s[metric] for s in samples["docsync"]], int(statistics.median(s["bytes_per_update"] for s in samples["docsync"])))
                    b = Side([s[metric] for s in samples["bokeh"]], int(statistics.median(s["bytes_per_update"] for s in samples["bokeh"])))
                    results.append(Result("server", f"stream 100 rows/50 ms to {nclients} clients: {label}", unit, d, b,
                                          note=note if metric == "cpu_per_update" else ""))
            nsessions = 10 if quick else 50
            opened = {s: asyncio.run(open_sessions(servers[s], nsessions)) for s in ("docsync", "bokeh")}
            for metric, label in (("seconds_per_session", "time per session"),):
                results.append(Result("sessions", f"open {nsessions} sessions: {label}", "per session",
                                      Side([opened["docsync"][metric]]), Side([opened["bokeh"][metric]])))
            results.append(Result(
                "sessions", f"open {nsessions} sessions: memory per session", "RSS growth",
                Side([opened["docsync"]["rss_per_session"] / 2**20]), Side([opened["bokeh"]["rss_per_session"] / 2**20]),
                note=f"after close + cleanup: docsync {opened['docsync']['rss_after_close'] / 2**20:.1f} MiB, "
                     f"Bokeh {opened['bokeh']['rss_after_close'] / 2**20:.1f} MiB above the start",
                quantity="MiB",
            ))
        finally:
            for s in servers.values():
                s.stop()
    return results
