"""Bad servers: the client refuses promptly with a clear error (no hang).

A small Tornado WebSocket server in a thread plays the misbehaving server; the real
server is covered in test_client.py."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Iterator

import msgpack
import pytest
import tornado.web
import tornado.websocket

from docsync import _core
from docsync.client import pull_session
from docsync.errors import ConnectionRefusedByServer, SessionExpiredError

Behaviour = Callable[[tornado.websocket.WebSocketHandler, bytes], Any]


@pytest.fixture
def fake_server() -> Iterator[Callable[[Behaviour], str]]:
    loops: list[tuple[asyncio.AbstractEventLoop, threading.Thread]] = []

    def start(on_hello: Behaviour) -> str:
        ready = threading.Event()
        box: dict[str, Any] = {}

        class Handler(tornado.websocket.WebSocketHandler):
            def on_message(self, message: str | bytes) -> None:
                if isinstance(message, bytes) and _core.decode_message(message).type == "hello":
                    on_hello(self, message)

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = tornado.web.Application([(r"/app/ws", Handler)])
            server = app.listen(0, "127.0.0.1")
            box["port"] = next(iter(server._sockets.values())).getsockname()[1]
            box["loop"] = loop
            loop.call_soon(ready.set)
            loop.run_forever()
            server.stop()
            loop.close()

        t = threading.Thread(target=main, daemon=True)
        t.start()
        ready.wait(10)
        loops.append((box["loop"], t))
        return f"http://127.0.0.1:{box['port']}/app"

    yield start
    for loop, t in loops:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


def test_error_at_hello_names_the_url_and_reason(fake_server: Any) -> None:
    url = fake_server(
        lambda h, m: h.write_message(
            _core.encode_message("error", payload={"code": "version", "message": "protocol 7 required"}), binary=True
        )
    )
    with pytest.raises(ConnectionRefusedByServer, match="protocol 7 required") as info:
        pull_session(url=url)
    assert url in str(info.value)


def test_other_protocol_version_is_refused_promptly(fake_server: Any) -> None:
    url = fake_server(lambda h, m: h.write_message(msgpack.packb({"v": 99, "t": "snapshot", "seq": 0, "p": {}}), binary=True))
    t0 = time.monotonic()
    with pytest.raises(ConnectionRefusedByServer, match="protocol") as info:
        pull_session(url=url)
    assert time.monotonic() - t0 < 5 and url in str(info.value)


def test_expired_at_hello(fake_server: Any) -> None:
    def expire(h: Any, m: bytes) -> None:
        h.write_message(_core.encode_message("expired", payload={"message": "gone"}), binary=True)
        h.close(4004, "session expired")

    url = fake_server(expire)
    with pytest.raises(SessionExpiredError, match="gone"):
        pull_session("old", url=url)


def test_forbidden_close_at_hello(fake_server: Any) -> None:
    url = fake_server(lambda h, m: h.close(4003, "bad token"))
    with pytest.raises(ConnectionRefusedByServer, match="bad token"):
        pull_session(url=url)


def test_silent_server_times_out_promptly(fake_server: Any) -> None:
    url = fake_server(lambda h, m: None)
    t0 = time.monotonic()
    with pytest.raises(ConnectionRefusedByServer, match="did not answer"):
        pull_session(url=url, handshake_timeout=1.0)
    assert time.monotonic() - t0 < 4
