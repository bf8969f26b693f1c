"""Helpers and apps for server tests: a real server on 127.0.0.1 port 0 in a thread, and a raw
WebSocket client speaking the docsync protocol through docsync._core."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any, Callable

import numpy as np
from tornado.httpclient import HTTPRequest
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClientConnection, websocket_connect

from docsync import _core
from docsync.server import Server

TIMEOUT = 10.0


class LiveServer:
    """A docsync Server running on its own IOLoop in a background thread."""

    def __init__(self, apps: Any, **kw: Any) -> None:
        self.apps = apps
        self.kw = kw
        self.server: Server | None = None
        self.loop: IOLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            self.loop = IOLoop.current()
            self.server = Server(self.apps, port=0, loop=self.loop, **self.kw)
            self.server.start()
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.start()
        self.loop.close(all_fds=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        self._ready.wait(TIMEOUT)
        if self._error:
            raise self._error
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop and return its result (coroutines awaited)."""
        assert self.loop is not None
        fut: "asyncio.Future[Any]"
        import concurrent.futures

        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        async def runner() -> None:
            try:
                r = fn()
                if asyncio.iscoroutine(r):
                    r = await r
                result.set_result(r)
            except BaseException as e:
                result.set_exception(e)

        self.loop.add_callback(runner)
        return result.result(TIMEOUT)

    def stop(self) -> None:
        if self.loop is None or self.server is None:
            return
        server, loop = self.server, self.loop

        async def shutdown() -> None:
            try:
                await server.stop()
            finally:
                loop.stop()

        loop.add_callback(shutdown)
        self.thread.join(TIMEOUT)


_open_clients: list["Client"] = []


class Client:
    """A raw protocol client over a real WebSocket (closed by :func:`run` at the end)."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.seq = 0

    @classmethod
    async def connect(
        cls,
        url: str,
        origin: str | None = None,
        host: str | None = None,
        max_message_size: int = 64 * 1024 * 1024,
    ) -> "Client":
        headers = {}
        if origin is not None:
            headers["Origin"] = origin
        if host is not None:
            headers["Host"] = host
        req = HTTPRequest(url, headers=headers, connect_timeout=TIMEOUT, request_timeout=TIMEOUT)
        ws = await websocket_connect(req, max_message_size=max_message_size)
        client = cls(ws)
        _open_clients.append(client)
        return client

    async def send(self, type: str, seq: int | None = None, ack: int | None = None, payload: Any = None) -> None:
        await self.ws.write_message(_core.encode_message(type, seq=seq, ack=ack, payload=payload), binary=True)

    async def send_raw(self, data: bytes | str, binary: bool = True) -> None:
        await self.ws.write_message(data, binary=binary)

    async def hello(self, client_id: str = "c1", resume: int | None = None, push: Any = None) -> Any:
        await self.send("hello", payload={"client_id": client_id, "resume": resume, "push": push})
        return await self.recv()

    async def send_patch(self, events: list[dict[str, Any]], seq: int | None = None) -> int:
        if seq is None:
            self.seq += 1
            seq = self.seq
        await self.ws.write_message(_core.Patch.from_events(events).to_message(seq), binary=True)
        return seq

    async def recv(self, timeout: float = TIMEOUT) -> Any:
        """The next decoded message, or None when the connection closed."""
        data = await asyncio.wait_for(self.ws.read_message(), timeout)
        if data is None:
            return None
        assert isinstance(data, bytes), data
        return _core.decode_message(data)

    async def recv_type(self, type: str, timeout: float = TIMEOUT) -> Any:
        """Skip messages until one of ``type`` (fails on close)."""
        while True:
            msg = await self.recv(timeout)
            assert msg is not None, f"closed ({self.ws.close_code}) while waiting for {type}"
            if msg.type == type:
                return msg

    async def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; returns the close code."""
        while True:
            data = await asyncio.wait_for(self.ws.read_message(), timeout)
            if data is None:
                return self.ws.close_code

    def close(self) -> None:
        self.ws.close()


def run(coro: Any, timeout: float = 60.0) -> Any:
    """Run a test coroutine (bounded), then close every client it opened."""

    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            while _open_clients:
                _open_clients.pop().ws.close()
            await asyncio.sleep(0)

    try:
        return asyncio.run(bounded())
    finally:
        # collect now: finalizers running inside a later compile() trip a CPython 3.11 bug
        # ("AST constructor recursion depth mismatch", gh-106905)
        gc.collect()


# ---------------------------------------------------------------- apps

def widgets_app(doc: Any) -> None:
    from docsync.models import Button, Div, Slider

    slider = Slider(start=0, end=10, value=1, name="slider")
    div = Div(text="hello", name="div")
    button = Button(label="go", name="button")

    def on_value(attr: str, old: Any, new: Any) -> None:
        div.text = f"value={new}"

    slider.on_change("value", on_value)
    button.on_click(lambda: setattr(div, "text", "clicked"))
    doc.add_root(slider)
    doc.add_root(div)
    doc.add_root(button)


def stream_app(doc: Any) -> None:
    """Streams one row (x = 0, 1, 2, ...) every 20 ms."""
    from docsync.models import ColumnDataSource

    source = ColumnDataSource(data={"x": np.array([], dtype=np.int64)}, name="source")
    doc.add_root(source)
    state = {"n": 0}

    def tick() -> None:
        n = state["n"]
        source.stream({"x": np.array([n], dtype=np.int64)})
        state["n"] = n + 1

    doc.add_periodic_callback(tick, 20)


def slow_button_app(doc: Any) -> None:
    """A button whose click handler sleeps 2 s; a source streaming every 50 ms."""
    from docsync.models import Button, ColumnDataSource, Div

    div = Div(text="idle", name="div")
    button = Button(label="slow", name="button")

    def slow() -> None:
        time.sleep(2.0)
        div.text = "done"

    button.on_click(slow)
    source = ColumnDataSource(data={"x": np.array([], dtype=np.float64)}, name="source")

    def tick() -> None:
        source.stream({"x": np.array([time.time()])})

    doc.add_root(div)
    doc.add_root(button)
    doc.add_root(source)
    doc.add_periodic_callback(tick, 50)


def model_ids(snapshot_payload: Any) -> dict[str, str]:
    """name (or type) -> id, from a snapshot payload."""
    out: dict[str, str] = {}
    for m in snapshot_payload["models"]:
        name = m["props"].get("name") or m["type"]
        out[name] = m["id"]
    return out


def prop(snapshot_payload: Any, model_id: str, name: str) -> Any:
    for m in snapshot_payload["models"]:
        if m["id"] == model_id:
            if name in m["props"]:
                return m["props"][name]
            return snapshot_payload["defaults"][m["type"]][name]
    raise KeyError(model_id)
