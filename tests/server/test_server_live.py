"""A real server on 127.0.0.1 (port 0) and real WebSocket clients."""

from __future__ import annotations

import asyncio
import gc
import re
import time
import weakref
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from docsync import _core
from docsync.server.application import Application, FunctionApplication
from docsync.server.session import current_session_context
from docsync.server.tokens import decode_token, generate_session_id, generate_token

from server_testlib import model_ids, prop, slow_button_app, stream_app, widgets_app
from server_testlib import Client, LiveServer, run


async def fetch(url: str, headers: dict[str, str] | None = None) -> Any:
    req = HTTPRequest(url, headers=headers or {}, follow_redirects=False)
    try:
        return await AsyncHTTPClient().fetch(req, raise_error=False)
    finally:
        AsyncHTTPClient().close()


def page_token(body: bytes) -> str:
    m = re.search(rb'token: "([^"]+)"', body)
    assert m, body
    return m.group(1).decode()


def two_apps() -> dict[str, Application]:
    return {"app": FunctionApplication(widgets_app), "stream": FunctionApplication(stream_app)}


# ---------------------------------------------------------------- pages and HTTP
def test_page_index_static_metrics(live_server: Any) -> None:
    srv: LiveServer = live_server(two_apps())

    async def main() -> None:
        r = await fetch(srv.http("/app?docsync-session-id=mine&color=red"))
        assert r.code == 200
        body = r.body
        assert b'id="docsync-root"' in body and b"/static/docsync.js" in body and b"embed(" in body
        payload = decode_token(page_token(body))
        assert payload["session_id"] == "mine" and payload["arguments"] == {"color": ["red"]}
        index = await fetch(srv.http("/"))
        assert index.code == 200 and b'href="/app"' in index.body and b'href="/stream"' in index.body
        metrics = await fetch(srv.http("/metrics"))
        assert metrics.code == 200 and b"docsync_sessions{" in metrics.body
        # static files cannot escape their folder
        for path in ("/static/..%2Fserver%2Fsession.py", "/static/%2e%2e/server/session.py", "/static/../errors.py"):
            r = await fetch(srv.http(path))
            assert r.code in (403, 404), path
            assert b"class ServerSession" not in r.body

    run(main())


def test_host_header_must_match_exactly(live_server: Any) -> None:
    srv = live_server(two_apps())

    async def main() -> None:
        ok = await fetch(srv.http("/app"), {"Host": f"localhost:{srv.port}"})
        assert ok.code == 200
        for host in (f"localhost.evil.net:{srv.port}", "evil.com", f"localhost:{srv.port + 1}"):
            r = await fetch(srv.http("/app"), {"Host": host})
            assert r.code == 403, host
            assert b"Traceback" not in r.body
        with pytest.raises(HTTPClientError) as e:
            await Client.connect(srv.ws("/app/ws"), host=f"localhost.evil.net:{srv.port}")
        assert e.value.code == 403

    run(main())


def test_websocket_origin_must_match_exactly(live_server: Any) -> None:
    srv = live_server(two_apps(), allow_websocket_origin=["embed.example.com:8080"])

    async def main() -> None:
        for origin in (f"http://localhost:{srv.port}", f"http://127.0.0.1:{srv.port}", "http://embed.example.com:8080"):
            c = await Client.connect(srv.ws("/app/ws"), origin=origin)
            assert (await c.hello()).type == "snapshot"
            c.close()
        for origin in (f"http://localhost.evil.net:{srv.port}", "http://evil.com", "http://embed.example.com"):
            with pytest.raises(HTTPClientError) as e:
                await Client.connect(srv.ws("/app/ws"), origin=origin)
            assert e.value.code == 403, origin
        # autoload.js: CORS only for allowed origins
        r = await fetch(srv.http("/app/autoload.js?docsync-autoload-element=x1"), {"Origin": "http://embed.example.com:8080"})
        assert r.code == 200 and r.headers.get("Access-Control-Allow-Origin") == "http://embed.example.com:8080"
        assert b"docsync-token" not in r.body and b"token" in r.body and b"/app/ws" in r.body
        r = await fetch(srv.http("/app/autoload.js"), {"Origin": "http://evil.com"})
        assert "Access-Control-Allow-Origin" not in r.headers

    run(main())


# ---------------------------------------------------------------- sessions over WebSocket
def test_page_token_creates_session_with_request_info(live_server: Any) -> None:
    def app(doc: Any) -> None:
        from docsync.document import curdoc
        from docsync.models import Div

        ctx = curdoc().session_context
        doc.add_root(Div(text=f"{ctx.id}:{ctx.request.arguments.get('who')}:{ctx.request.cookies.get('k')}", name="div"))

    srv = live_server({"app": FunctionApplication(app)})

    async def main() -> None:
        r = await fetch(srv.http("/app?docsync-session-id=s42&who=ann"), {"Cookie": "k=v"})
        token = page_token(r.body)
        c = await Client.connect(srv.ws("/app/ws?" + urlencode({"docsync-token": token})))
        snap = await c.hello()
        ids = model_ids(snap.payload)
        assert prop(snap.payload, ids["div"], "text") == "s42:['ann']:v"
        c.close()

    run(main())


def test_patch_broadcast_no_echo_and_read_only(live_server: Any) -> None:
    srv = live_server(two_apps())

    async def main() -> None:
        a = await Client.connect(srv.ws("/app/ws?docsync-session-id=shared"))
        b = await Client.connect(srv.ws("/app/ws?docsync-session-id=shared"))
        ids = model_ids((await a.hello("A")).payload)
        await b.hello("B")
        await a.send_patch([{"k": "set", "id": ids["slider"], "prop": "value", "value": 4.0}])
        ok = await a.recv_type("ok")
        assert ok.ack == 1 and ok.seq == 1
        p1 = await b.recv_type("patch")
        assert p1.seq == 1 and p1.patch.events() == [{"k": "set", "id": ids["slider"], "prop": "value", "value": 4.0}]
        p2 = await a.recv_type("patch")  # the callback's change comes to both; A's own change did not
        assert p2.seq == 2 and p2.patch.events()[0]["value"] == "value=4.0"
        # read-only property: error, nothing changed, nothing broadcast
        await a.send_patch([{"k": "set", "id": ids["slider"], "prop": "end", "value": 100.0}])
        err = await a.recv_type("error")
        assert err.payload["code"] == "read_only" and "Traceback" not in err.payload["message"]
        await b.send("ping", seq=1)
        p2b = await b.recv()
        assert p2b.type == "patch" and p2b.seq == 2  # nothing from the rejected patch
        assert (await b.recv()).type == "pong"
        a.close()
        b.close()

    run(main())


def test_resume_mid_stream_loses_nothing(live_server: Any) -> None:
    srv = live_server({"stream": FunctionApplication(stream_app)})

    async def main() -> None:
        rows: list[int] = []
        last = 0
        a = await Client.connect(srv.ws("/stream/ws?docsync-session-id=st"))
        snap = await a.hello("A")
        last = snap.seq
        while len(rows) < 10:
            m = await a.recv_type("patch")
            assert m.seq == last + 1
            last = m.seq
            for e in m.patch.events():
                rows.extend(int(v) for v in e["columns"]["x"])
        await a.send("ack", ack=last)
        a.ws.close()  # dropped in the middle of the stream; the server keeps streaming
        srv_session = srv.call(lambda: srv.server.sessions["stream"].get("st"))
        deadline = time.monotonic() + 5
        while srv_session.seq < last + 10:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        b = await Client.connect(srv.ws("/stream/ws?docsync-session-id=st"))
        await b.send("hello", payload={"client_id": "A", "resume": last, "push": None})
        while len(rows) < 40:
            m = await b.recv()
            assert m.type == "patch", m.type
            assert m.seq == last + 1
            last = m.seq
            for e in m.patch.events():
                rows.extend(int(v) for v in e["columns"]["x"])
        assert rows == list(range(rows[0], rows[0] + len(rows)))
        b.close()

    run(main())


def test_resync_when_log_moved_on_and_expired_when_gone(live_server: Any) -> None:
    srv = live_server(
        {"stream": FunctionApplication(stream_app)},
        log_max_messages=5,
        check_unused_sessions_ms=50,
        unused_session_lifetime_ms=300,
    )

    async def main() -> None:
        a = await Client.connect(srv.ws("/stream/ws?docsync-session-id=rs"))
        snap = await a.hello("A")
        a.ws.close()
        b = await Client.connect(srv.ws("/stream/ws?docsync-session-id=rs"))
        session = srv.call(lambda: srv.server.sessions["stream"].get("rs"))
        deadline = time.monotonic() + 5
        while session.seq < snap.seq + 10:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await b.send("hello", payload={"client_id": "A", "resume": snap.seq, "push": None})
        m = await b.recv()
        assert m.type == "snapshot" and m.seq > snap.seq + 5
        b.ws.close()
        # no connections: the session is destroyed after its lifetime
        deadline = time.monotonic() + 5
        while srv.call(lambda: srv.server.sessions["stream"].get("rs")) is not None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        c = await Client.connect(srv.ws("/stream/ws?docsync-session-id=rs"))
        await c.send("hello", payload={"client_id": "A", "resume": m.seq, "push": None})
        e = await c.recv()
        assert e.type == "expired"
        assert await c.closed() == 4004
        assert srv.call(lambda: srv.server.sessions["stream"].get("rs")) is None

    run(main())


def test_destroyed_session_releases_document_and_module(live_server: Any) -> None:
    srv = live_server(
        {"app": FunctionApplication(widgets_app)}, check_unused_sessions_ms=50, unused_session_lifetime_ms=100
    )

    async def main() -> None:
        c = await Client.connect(srv.ws("/app/ws?docsync-session-id=gc1"))
        await c.hello()
        refs = srv.call(
            lambda: (
                weakref.ref(srv.server.sessions["app"].get("gc1").document),
                weakref.ref(srv.server.sessions["app"].get("gc1")),
                weakref.ref(srv.server.sessions["app"].get("gc1").document.select_one(name="slider")),
            )
        )
        c.close()
        deadline = time.monotonic() + 5
        while srv.call(lambda: srv.server.sessions["app"].get("gc1")) is not None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        for _ in range(100):
            srv.call(gc.collect)
            if all(r() is None for r in refs):
                break
            await asyncio.sleep(0.05)
        assert [r() for r in refs] == [None, None, None]

    run(main())


def test_callbacks_run_off_the_loop(live_server: Any) -> None:
    srv = live_server({"slow": FunctionApplication(slow_button_app)})

    async def main() -> None:
        a = await Client.connect(srv.ws("/slow/ws?docsync-session-id=slow-a"))
        b = await Client.connect(srv.ws("/slow/ws?docsync-session-id=slow-b"))
        ids = model_ids((await a.hello("A")).payload)
        await b.hello("B")
        await a.send_patch([{"k": "msg", "id": ids["button"], "name": "button_click", "data": None}])
        # while session A sleeps 2 s in its click handler, session B keeps streaming
        t0 = time.monotonic()
        got = 0
        while time.monotonic() - t0 < 1.0:
            m = await b.recv(timeout=1.0)
            if m.type == "patch":
                got += 1
        assert got >= 5
        # and B's own requests are answered at once
        t1 = time.monotonic()
        await b.send("ping", seq=99)
        await b.recv_type("pong")
        assert time.monotonic() - t1 < 0.5
        done = None
        while done is None:
            m = await a.recv(timeout=5)
            if m.type == "patch" and any(e.get("value") == "done" for e in m.patch.events()):
                done = m
        a.close()
        b.close()

    run(main())


def test_app_code_and_callbacks_see_their_own_session_context(live_server: Any) -> None:
    seen: list[tuple[str, str]] = []

    def app(doc: Any) -> None:
        seen.append(("app code", current_session_context().id))

        def tick() -> None:
            seen.append(("periodic", current_session_context().id))

        async def later() -> None:
            await asyncio.sleep(0.01)
            seen.append(("async timeout", current_session_context().id))

        doc.add_periodic_callback(tick, 20)
        doc.add_timeout_callback(later, 10)

    srv = live_server({"app": FunctionApplication(app)})

    async def main() -> None:
        for sid in ("ctxA", "ctxB"):
            c = await Client.connect(srv.ws(f"/app/ws?docsync-session-id={sid}"))
            await c.hello()
        want = {(kind, sid) for kind in ("app code", "periodic", "async timeout") for sid in ("ctxA", "ctxB")}
        deadline = time.monotonic() + 10
        while not want <= set(seen):
            assert time.monotonic() < deadline, sorted(set(seen))
            await asyncio.sleep(0.02)
        assert {sid for _, sid in seen} == {"ctxA", "ctxB"}  # never another session's, never None
        assert current_session_context() is None  # outside any session

    run(main())


def test_callback_exception_is_logged_and_session_lives_on(live_server: Any, caplog: Any) -> None:
    def app(doc: Any) -> None:
        from docsync.models import Button, Div

        div = Div(text="x", name="div")
        b = Button(name="button")

        def boom() -> None:
            div.text = "before"
            raise RuntimeError("app bug 123")

        b.on_click(boom)
        doc.add_root(div)
        doc.add_root(b)

    srv = live_server({"app": FunctionApplication(app)})

    async def main() -> None:
        c = await Client.connect(srv.ws("/app/ws"))
        ids = model_ids((await c.hello()).payload)
        await c.send_patch([{"k": "msg", "id": ids["button"], "name": "button_click", "data": None}])
        ok = await c.recv_type("ok")
        assert ok.ack == 1
        await c.send("ping", seq=2)
        await c.recv_type("pong")
        c.close()

    run(main())
    assert "app bug 123" in caplog.text and "Traceback" in caplog.text


# ---------------------------------------------------------------- bad input
def test_garbage_oversize_and_flood_only_hit_the_offender(live_server: Any) -> None:
    srv = live_server(two_apps(), websocket_max_message_size=4096, rate=50.0, burst=100.0)

    async def main() -> None:
        good = await Client.connect(srv.ws("/app/ws?docsync-session-id=good"))
        ids = model_ids((await good.hello("G")).payload)

        async def good_still_works(n: int) -> None:
            await good.send_patch([{"k": "set", "id": ids["slider"], "prop": "value", "value": float(n)}])
            await good.recv_type("ok")

        bad = await Client.connect(srv.ws("/app/ws"))
        await bad.hello()
        await bad.send_raw(b"\x00\xffnot msgpack at all")
        assert await bad.closed() == 4000
        await good_still_works(1)

        text = await Client.connect(srv.ws("/app/ws"))
        await text.send_raw("hello", binary=False)
        assert await text.closed() == 4000

        unknown = await Client.connect(srv.ws("/app/ws"))
        await unknown.hello()
        await unknown.send("frobnicate", seq=1)
        err = await unknown.recv_type("error")
        assert err.payload["code"] == "protocol"
        unknown.close()

        big = await Client.connect(srv.ws("/app/ws"))
        await big.hello()
        await big.send("ping", seq=1, payload="x" * 10_000)
        assert await big.closed() == 1009
        await good_still_works(2)

        flood = await Client.connect(srv.ws("/app/ws"))
        await flood.hello()
        for i in range(400):
            try:
                await flood.send("ping", seq=i)
            except Exception:
                break
        assert await flood.closed() == 4008
        await good_still_works(3)
        good.close()

    run(main())


# ---------------------------------------------------------------- tokens with a key
def test_signed_session_ids(live_server: Any) -> None:
    key = "s3cr3t-key-for-tests-only-0123456789abcdef"
    srv = live_server(two_apps(), secret_key=key)

    async def main() -> None:
        r = await fetch(srv.http("/app?docsync-session-id=chosen"))
        assert r.code == 403
        r = await fetch(srv.http("/app"))
        token = page_token(r.body)
        assert "." in token
        c = await Client.connect(srv.ws("/app/ws?" + urlencode({"docsync-token": token})))
        assert (await c.hello()).type == "snapshot"
        c.close()
        forged = generate_token("chosen", None)
        d = await Client.connect(srv.ws("/app/ws?" + urlencode({"docsync-token": forged})))
        assert await d.closed() == 4003
        e = await Client.connect(srv.ws("/app/ws?docsync-session-id=chosen"))
        assert await e.closed() == 4003
        sid = generate_session_id(key.encode())
        f = await Client.connect(srv.ws("/app/ws?" + urlencode({"docsync-session-id": sid})))
        assert (await f.hello()).type == "snapshot"
        f.close()

    run(main())


# ---------------------------------------------------------------- push into the empty app
def test_push_into_empty_root_app(live_server: Any) -> None:
    srv = live_server(None)

    async def main() -> None:
        from docsync.document import Document
        from docsync.models import Div

        doc = Document()
        doc.add_root(Div(text="pushed", name="div"))
        snapshot = _core.decode(doc._engine.snapshot())
        p = await Client.connect(srv.ws("/ws?docsync-session-id=pushme"))
        m = await p.hello("P", push=snapshot)
        assert m.type == "snapshot"
        ids = model_ids(m.payload)
        assert prop(m.payload, ids["div"], "text") == "pushed"
        viewer = await Client.connect(srv.ws("/ws?docsync-session-id=pushme"))
        v = await viewer.hello("V")
        assert prop(v.payload, ids["div"], "text") == "pushed"
        r = await fetch(srv.http("/"))
        assert r.code == 200 and b"embed(" in r.body
        p.close()
        viewer.close()

    run(main())


def test_metrics_count_sessions_messages_bytes_and_errors(live_server: Any) -> None:
    srv = live_server({"stream": FunctionApplication(stream_app), "app": FunctionApplication(widgets_app)})

    async def main() -> None:
        clients = [await Client.connect(srv.ws("/stream/ws?docsync-session-id=m1")) for _ in range(3)]
        for i, c in enumerate(clients):
            await c.hello(f"c{i}")
        for c in clients:
            for _ in range(5):
                await c.recv_type("patch")
        w = await Client.connect(srv.ws("/app/ws"))
        ids = model_ids((await w.hello()).payload)
        await w.send_patch([{"k": "set", "id": ids["slider"], "prop": "end", "value": 1.0}])
        await w.recv_type("error")
        text = (await fetch(srv.http("/metrics"))).body.decode()

        def value(line_start: str) -> float:
            for line in text.splitlines():
                if line.startswith(line_start + " "):
                    return float(line.split()[-1])
            raise AssertionError(f"{line_start} not in metrics:\n{text}")

        assert value('docsync_sessions{app="stream"}') == 1
        assert value('docsync_sessions{app="app"}') == 1
        assert value('docsync_connections{app="stream"}') == 3
        encoded = value("docsync_patches_encoded_total")
        out = value("docsync_messages_out_total")
        assert encoded >= 5 and out >= 15
        assert out <= 3 * encoded + 10  # one encoding per change, whatever the connections
        assert value("docsync_bytes_out_total") > 0 and value("docsync_bytes_in_total") > 0
        assert value("docsync_messages_in_total") >= 5
        assert value("docsync_encode_seconds_total") > 0
        assert value('docsync_callback_seconds_total{app="stream"}') > 0
        assert value('docsync_client_errors_total{code="read_only"}') == 1
        assert "# TYPE docsync_messages_out_total counter" in text
        assert value('docsync_session_connections{app="stream",session="m1"}') == 3
        assert value('docsync_session_messages_out_total{app="stream",session="m1"}') >= 15
        assert value('docsync_session_changes{app="stream",session="m1"}') >= 5

    run(main())


def test_push_rules(live_server: Any) -> None:
    """Clients of a pushed document own it (any property may change, a new push replaces
    it and viewers get the difference); apps with code refuse pushes."""
    srv = live_server({"": Application(""), "app": FunctionApplication(widgets_app)})

    async def main() -> None:
        from docsync.document import Document
        from docsync.models import Div, Slider

        doc = Document()
        doc.add_root(Div(text="v1", name="div"))
        doc.add_root(Slider(end=5.0, name="slider"))
        p = await Client.connect(srv.ws("/ws?docsync-session-id=owned"))
        ids = model_ids((await p.hello("P", push=_core.decode(doc._engine.snapshot()))).payload)
        viewer = await Client.connect(srv.ws("/ws?docsync-session-id=owned"))
        await viewer.hello("V")
        await p.send_patch([{"k": "set", "id": ids["slider"], "prop": "end", "value": 50.0}])  # not client-writable
        assert (await p.recv_type("ok")).ack == 1
        m = await viewer.recv_type("patch")
        assert m.patch.events()[0]["value"] == 50.0
        doc.select_one(name="div").text = "v2"
        again = await Client.connect(srv.ws("/ws?docsync-session-id=owned"))
        snap = await again.hello("P2", push=_core.decode(doc._engine.snapshot()))
        assert prop(snap.payload, ids["div"], "text") == "v2"
        m = await viewer.recv_type("patch")
        assert {"k": "set", "id": ids["div"], "prop": "text", "value": "v2"} in m.patch.events()

        refused = await Client.connect(srv.ws("/app/ws"))
        await refused.send("hello", payload={"client_id": "x", "resume": None, "push": _core.decode(doc._engine.snapshot())})
        err = await refused.recv()
        assert err.type == "error" and err.payload["code"] == "forbidden"
        assert await refused.closed() == 4003

    run(main())


def test_prefix_moves_every_route(live_server: Any) -> None:
    srv = live_server(two_apps(), prefix="/apps/")

    async def main() -> None:
        page = await fetch(srv.http("/apps/app"))
        assert page.code == 200 and b'"/apps/static/docsync.js"' in page.body and b'"/apps/app/ws"' in page.body
        assert (await fetch(srv.http("/apps/static/docsync.js"))).code == 200
        assert (await fetch(srv.http("/apps/metrics"))).code == 200
        index = await fetch(srv.http("/apps/"))
        assert index.code == 200 and b'href="/apps/app"' in index.body
        assert (await fetch(srv.http("/app"))).code == 404
        c = await Client.connect(srv.ws("/apps/app/ws"))
        assert (await c.hello()).type == "snapshot"

    run(main())


def test_a_connection_that_never_says_hello_is_closed(live_server: Any) -> None:
    srv = live_server(two_apps(), hello_timeout_s=0.3)

    async def main() -> None:
        silent = await Client.connect(srv.ws("/app/ws"))
        assert await silent.closed() == 4000
        talker = await Client.connect(srv.ws("/app/ws"))
        assert (await talker.hello()).type == "snapshot"
        await asyncio.sleep(0.5)
        await talker.send("ping", seq=1)
        assert (await talker.recv_type("pong")).ack == 1

    run(main())


def test_unused_session_check_runs_only_while_a_session_may_be_unused(live_server: Any) -> None:
    """A server whose sessions all have connections never wakes to look for unused ones;
    losing the last connection arms the check again and the session is destroyed."""
    srv = live_server(
        {"app": FunctionApplication(widgets_app)}, check_unused_sessions_ms=50, unused_session_lifetime_ms=100
    )

    def armed() -> bool:
        return srv.call(lambda: srv.server._cleanup is not None)  # type: ignore[no-any-return]

    async def main() -> None:
        c = await Client.connect(srv.ws("/app/ws?docsync-session-id=idle1"))
        await c.hello()
        deadline = time.monotonic() + 5
        while armed():  # the check after the session got its connection disarms itself
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # six check periods: still nothing armed, session alive
        assert not armed()
        assert srv.call(lambda: srv.server.sessions["app"].get("idle1")) is not None
        c.close()
        deadline = time.monotonic() + 5
        while srv.call(lambda: srv.server.sessions["app"].get("idle1")) is not None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        while armed():  # nothing left that could become unused
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)

    run(main())
