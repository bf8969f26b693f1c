"""docsync.client against a real `docsync serve` on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from docsync.client import ClientSession, pull_session, pull_session_async, push_session, push_session_async
from docsync.errors import ConnectionRefusedByServer, SessionExpiredError

from client_helpers import ROOT, Server, wait_for


def _doc_with_slider(value: float = 0.5) -> tuple[Any, Any]:
    from docsync.document import Document
    from docsync.models import Slider

    doc = Document()
    slider = Slider(start=0, end=10, value=value, name="s")
    doc.add_root(slider)
    return doc, slider


def _model(doc: Any, type_name: str) -> Any:
    found = [m for m in doc.models if type(m).__name__ == type_name]
    assert found, f"no {type_name} in {[type(m).__name__ for m in doc.models]}"
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- the seed


def _browser_recorder(tmp_path: Path) -> tuple[str, Path]:
    """A BROWSER command that records the URL it is asked to open."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


def _run_example(name: str, server: Server, tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """Run examples/client/<name> unchanged, with "default" meaning the test server."""
    browser, opened = _browser_recorder(tmp_path)
    runner = textwrap.dedent(
        f"""
        import runpy, docsync.client._urls as u, docsync.io as io
        u.DEFAULT_URL = io.DEFAULT_SERVER_URL = {server.root!r}
        runpy.run_path({str(ROOT / 'examples' / 'client' / name)!r}, run_name="__main__")
        """
    )
    env = {**os.environ, "BROWSER": browser, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", runner], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc, opened


def test_output_server_example_pushes_the_circle(server: Server, tmp_path: Path) -> None:
    proc, opened = _run_example("output_server.py", server, tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert opened.read_text().split() == [f"{server.root}?docsync-session-id=hover"]
    with pull_session("hover", url=server.root) as session:
        doc = session.document
        plot = _model(doc, "Plot") if any(type(m).__name__ == "Plot" for m in doc.models) else _model(doc, "Figure")
        assert plot.title is not None
        circle = _model(doc, "Circle")
        renderer = next(m for m in doc.models if type(m).__name__ == "GlyphRenderer" and m.glyph is circle)
        data = renderer.data_source.data
        assert list(data[circle.x if isinstance(circle.x, str) else "x"]) == [1, 2, 3]
        assert list(data[circle.y if isinstance(circle.y, str) else "y"]) == [4, 5, 6]


def test_animated_example_updates_y_and_alpha_every_50ms(server: Server, tmp_path: Path) -> None:
    proc, opened = _run_example("animated_push.py", server, tmp_path)
    try:
        url = wait_for(lambda: opened.exists() and opened.read_text().strip(), 30, "session.show()")
        assert url.startswith(server.root + "?docsync-session-id=")
        session_id = url.split("=", 1)[1]
        with pull_session(session_id, url=server.root) as watcher:
            doc = watcher.document
            line = max((m for m in doc.models if type(m).__name__ == "Line"), key=lambda g: g.line_width)
            renderer = next(m for m in doc.models if type(m).__name__ == "GlyphRenderer" and m.glyph is line)
            source = renderer.data_source
            seen: list[tuple[float, float]] = []

            def on_alpha(attr: str, old: Any, new: Any) -> None:
                seen.append((time.monotonic(), new))

            line.on_change("line_alpha", on_alpha)
            y_changes: list[float] = []
            source.on_change("data", lambda attr, old, new: y_changes.append(time.monotonic()))
            wait_for(lambda: len(seen) >= 12 and len(y_changes) >= 12, 15, "animation updates")
            watcher.force_roundtrip()
            # every ~50 ms (bounded loosely: this checks the cadence, not speed)
            span = seen[-1][0] - seen[1][0]
            assert 0.02 < span / (len(seen) - 2) < 0.25
            # y and line_alpha are consistent with one step of the cosine driver
            x = np.linspace(0, 4 * np.pi, 80)
            alpha = line.line_alpha
            step = (1 - alpha) / 0.8
            ys = np.asarray(source.data["y"])
            assert np.allclose(np.abs(ys), np.abs(np.sin(x)) * step, atol=0.2)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)


def test_animated_push_seen_by_a_second_client(server: Server) -> None:
    """The seed's animated example, in-process with the figure added explicitly."""
    from docsync.document import Document
    from docsync.driving import cosine
    from docsync.plotting import figure

    x = np.linspace(0, 4 * np.pi, 80)
    y = np.sin(x)
    doc = Document()
    p = figure()
    p.line([0, 4 * np.pi], [-1, 1], color="firebrick")
    r2 = p.line(x, y, color="navy", line_width=4)
    doc.add_root(p)
    with push_session(doc, url=server.root) as session:

        @cosine(w=0.03)
        def update(step: float) -> None:
            r2.data_source.data["y"] = y * step
            r2.glyph.line_alpha = 1 - 0.8 * abs(step)

        doc.add_periodic_callback(update, 50)
        with pull_session(session.id, url=server.root) as watcher:
            line = watcher.document.get_model_by_id(r2.glyph.id)
            source = watcher.document.get_model_by_id(r2.data_source.id)
            alphas: list[tuple[float, float]] = []
            ys: list[Any] = []
            line.on_change("line_alpha", lambda attr, old, new: alphas.append((time.monotonic(), new)))
            source.on_change("data", lambda attr, old, new: ys.append(np.array(source.data["y"])))
            wait_for(lambda: len(alphas) >= 12 and len(ys) >= 12, 15, "animation updates")
            span = alphas[-1][0] - alphas[1][0]
            assert 0.02 < span / (len(alphas) - 2) < 0.25
            assert len({a for _, a in alphas}) > 5
            assert not np.allclose(ys[2], ys[8])


# --------------------------------------------------------------------------- sync


def test_push_then_pull_sees_the_document(server: Server) -> None:
    doc, slider = _doc_with_slider(3.0)
    with push_session(doc, url=server.root) as pusher:
        assert pusher.connected
        assert pusher.document is doc
        with pull_session(pusher.id, url=server.root) as puller:
            remote = puller.document.select_one({"name": "s"})
            assert remote is not None and remote.value == 3.0
            assert remote.id == slider.id


def test_change_reaches_others_once_and_is_not_echoed(server: Server) -> None:
    doc, slider = _doc_with_slider()
    calls: dict[str, list[Any]] = {"a": [], "b": [], "c": []}
    slider.on_change("value", lambda attr, old, new: calls["a"].append(new))
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b, pull_session(
        a.id, url=server.root
    ) as c:
        for name, s in (("b", b), ("c", c)):
            s.document.select_one({"name": "s"}).on_change("value", lambda attr, old, new, n=name: calls[n].append(new))
        slider.value = 7.0
        a.force_roundtrip()
        wait_for(lambda: calls["b"] and calls["c"], 10, "the change at b and c")
        for s in (a, b, c):
            s.force_roundtrip()
        assert calls == {"a": [7.0], "b": [7.0], "c": [7.0]}
        # and back: b's change reaches a and c, once
        b.document.select_one({"name": "s"}).value = 2.0
        b.force_roundtrip()
        wait_for(lambda: slider.value == 2.0, 10, "b's change at a")
        for s in (a, b, c):
            s.force_roundtrip()
        assert calls == {"a": [7.0, 2.0], "b": [7.0, 2.0], "c": [7.0, 2.0]}


def test_streamed_rows_fire_on_change_on_the_clients_copy(server: Server) -> None:
    from docsync.document import Document
    from docsync.models import ColumnDataSource

    doc = Document()
    source = ColumnDataSource(data={"x": np.arange(3.0)}, name="src")
    doc.add_root(source)
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:
        remote = b.document.select_one({"name": "src"})
        fired: list[int] = []
        remote.on_change("data", lambda attr, old, new: fired.append(len(remote.data["x"])))
        for i in range(5):
            doc.add_next_tick_callback(lambda i=i: source.stream({"x": np.array([10.0 + i])}))
            a.force_roundtrip()
        b.force_roundtrip()
        wait_for(lambda: len(remote.data["x"]) == 8, 10, "streamed rows")
        assert fired and fired[-1] == 8
        assert list(remote.data["x"]) == [0, 1, 2, 10, 11, 12, 13, 14]


def test_periodic_callback_runs_and_close_from_a_callback_ends_the_loop(server: Server) -> None:
    doc, slider = _doc_with_slider(0.0)
    session = push_session(doc, url=server.root)
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(time.monotonic())
        slider.value = float(len(ticks))
        if len(ticks) == 5:
            session.close()

    doc.add_periodic_callback(tick, 20)
    t0 = time.monotonic()
    session.loop_until_closed()
    assert len(ticks) == 5 and time.monotonic() - t0 < 10
    assert not session.connected


def test_sessions_in_several_threads(server: Server) -> None:
    errors: list[BaseException] = []
    results: list[float] = []

    def worker(i: int) -> None:
        try:
            doc, slider = _doc_with_slider(float(i))
            with push_session(doc, url=server.root) as s, pull_session(s.id, url=server.root) as p:
                slider.value = i + 0.5
                s.force_roundtrip()
                p.force_roundtrip()
                results.append(p.document.select_one({"name": "s"}).value)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results) == [0.5, 1.5, 2.5, 3.5]


def test_sync_api_inside_a_running_event_loop(server: Server) -> None:
    async def main() -> float:
        doc, _ = _doc_with_slider(4.0)
        with push_session(doc, url=server.root) as s:  # no "event loop already running"
            with pull_session(s.id, url=server.root) as p:
                return float(p.document.select_one({"name": "s"}).value)

    assert asyncio.run(main()) == 4.0


def test_async_api(server: Server) -> None:
    async def main() -> list[float]:
        doc, slider = _doc_with_slider(1.0)
        async with await push_session_async(doc, url=server.root) as a:
            async with await pull_session_async(a.id, url=server.root) as b:
                remote = b.document.select_one({"name": "s"})
                got: list[float] = []
                remote.on_change("value", lambda attr, old, new: got.append(new))
                slider.value = 9.0
                await a.force_roundtrip_async()
                await b.force_roundtrip_async()
                info = await b.request_server_info_async()
                assert info["session_id"] == a.id
                return got

    assert asyncio.run(main()) == [9.0]


def test_server_info_and_show(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, new=0, autoraise=True: opened.append(url) or True)
    doc, slider = _doc_with_slider()
    with push_session(doc, session_id="shown", url=server.root) as s:
        info = s.request_server_info()
        assert info["session_id"] == "shown"
        assert isinstance(info["protocol"], int)
        s.show()
    assert opened == [f"{server.root}?docsync-session-id=shown"]
    from docsync.client import show_session

    show_session("other", url=server.root, app_path="/app")
    assert opened[-1] == f"{server.root}app?docsync-session-id=other"


# --------------------------------------------------------------------------- network


def test_resume_after_a_dropped_connection(server: Server) -> None:
    doc, slider = _doc_with_slider(1.0)
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:
        remote = b.document.select_one({"name": "s"})
        a._drop_connection(reconnect_after=0.5)
        wait_for(lambda: not a.connected, 5, "the drop")
        remote.value = 6.0  # while a is away
        b.force_roundtrip()
        assert a._reconnects == 0
        wait_for(lambda: a._reconnects == 1 and a.connected, 10, "a reconnected")
        a.force_roundtrip()
        assert slider.value == 6.0
        # it was a replay from the server's log, not a new session or a full resync
        metrics = urllib.request.urlopen(server.root + "metrics", timeout=5).read().decode()
        assert 'docsync_resumes_total{outcome="replay"} 1' in metrics.replace(".0", ""), metrics
        # and a's own changes after the resume still flow
        slider.value = 8.0
        a.force_roundtrip()
        b.force_roundtrip()
        wait_for(lambda: remote.value == 8.0, 5, "a's change at b")


def test_server_restart_ends_the_session_with_expired(start_server: Any) -> None:
    first = start_server()
    port = first.port
    doc, slider = _doc_with_slider()
    session = push_session(doc, url=first.root, reconnect_timeout=20)
    first.stop()
    start_server(port=port)
    t0 = time.monotonic()
    with pytest.raises(SessionExpiredError) as info:
        session.loop_until_closed()
    assert time.monotonic() - t0 < 20
    assert session.id in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
    assert not session.connected


def test_server_gone_for_good_is_a_clear_error(start_server: Any) -> None:
    server = start_server()
    doc, _ = _doc_with_slider()
    session = push_session(doc, url=server.root, reconnect_timeout=1.0)
    server.stop()
    with pytest.raises(ConnectionRefusedByServer, match="could not reconnect"):
        session.loop_until_closed()


# --------------------------------------------------------------------------- bad input


def test_no_server_is_a_prompt_clear_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}/"
    t0 = time.monotonic()
    with pytest.raises(ConnectionRefusedByServer) as info:
        pull_session(url=url)
    assert time.monotonic() - t0 < 3
    assert url in str(info.value) and "connection refused" in str(info.value)


def test_wrong_app_path_names_the_url(server: Server) -> None:
    with pytest.raises(ConnectionRefusedByServer, match="404") as info:
        pull_session(url=server.root, app_path="nope")
    assert f"{server.root}nope" in str(info.value)


def test_refused_host(start_server: Any) -> None:
    server = start_server("--host", "example.com:80")
    with pytest.raises(ConnectionRefusedByServer, match="refused") as info:
        pull_session(url=server.root)
    assert server.root in str(info.value)


def test_signed_session_ids(start_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from docsync.server.tokens import generate_secret_key

    key = generate_secret_key()
    server = start_server(env={"DOCSYNC_SECRET_KEY": key})
    doc, _ = _doc_with_slider(2.0)
    # without the key in the client's environment: refused, with a reason
    with pytest.raises(ConnectionRefusedByServer, match="refused"):
        push_session(doc, url=server.root)
    monkeypatch.setenv("DOCSYNC_SECRET_KEY", key)
    with pytest.raises(ValueError, match="signed"):
        push_session(doc, session_id="plain", url=server.root)
    with push_session(doc, url=server.root) as s:
        assert "." in s.id
        with pull_session(s.id, url=server.root) as p:
            assert p.document.select_one({"name": "s"}).value == 2.0


def test_urls() -> None:
    from docsync.client import _urls

    assert _urls.app_url() == "http://localhost:5006/"
    assert _urls.app_url("default", "/myapp") == "http://localhost:5006/myapp"
    assert _urls.app_url("http://h:1/pre/", "app/") == "http://h:1/pre/app"
    assert _urls.app_url("ws://h:1/app/ws") == "http://h:1/app"
    assert _urls.websocket_url("https://h/app", "T") == "wss://h/app/ws?docsync-token=T"
    assert _urls.websocket_url("http://h:1/", "T") == "ws://h:1/ws?docsync-token=T"
    assert _urls.page_url("http://h:1/", "hover") == "http://h:1/?docsync-session-id=hover"
    with pytest.raises(ValueError, match="ftp://x"):
        _urls.app_url("ftp://x")
    assert _urls.split_session_id("http://h:1/app?docsync-session-id=abc") == ("http://h:1/app", "abc")
    assert _urls.split_session_id("http://h:1/app?a=1&docsync-session-id=abc") == ("http://h:1/app?a=1", "abc")
    assert _urls.split_session_id("http://h:1/app") == ("http://h:1/app", None)
    # a pasted page URL joins that session
    s = ClientSession(url="http://h:1/app?docsync-session-id=abc")
    assert s.id == "abc" and s.url == "http://h:1/app" and s.page_url == "http://h:1/app?docsync-session-id=abc"


def test_constructing_without_connecting_does_nothing() -> None:
    s = ClientSession("abc", url="http://127.0.0.1:1/app")
    assert not s.connected and s.page_url == "http://127.0.0.1:1/app?docsync-session-id=abc"
    s.close()


def test_pull_and_push_of_the_seed_api(server: Server) -> None:
    doc, slider = _doc_with_slider(1.0)
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:
        remote = b.document.select_one({"name": "s"})
        slider.value = 4.0
        a.push()  # every change reached the server
        b.pull()  # a full snapshot, applied as a diff: the same model object
        assert b.document.select_one({"name": "s"}) is remote and remote.value == 4.0
        other, _ = _doc_with_slider()
        with pytest.raises(ValueError, match="push_session"):
            a.push(other)


def test_sync_calls_from_a_callback_do_not_deadlock(server: Server) -> None:
    doc, slider = _doc_with_slider(0.0)
    done: list[str] = []
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:

        def cb() -> None:
            slider.value = 5.0
            a.force_roundtrip()  # from the session's own thread
            a.flush()
            done.append("ok")

        doc.add_next_tick_callback(cb)
        wait_for(lambda: done, 10, "the callback")
        b.force_roundtrip()
        assert b.document.select_one({"name": "s"}).value == 5.0
    # closed: the document is detached, its callbacks no longer run here
    ran: list[int] = []
    doc.add_periodic_callback(lambda: ran.append(1), 10)
    time.sleep(0.1)  # nothing may happen: give it the chance
    assert ran == []


def test_incoming_set_of_a_property_in_flight_is_ignored() -> None:
    """The conflict rule (docs/protocol.md): our in-flight change arrives at the server
    later and wins, so an older server value must not overwrite it locally."""
    from docsync import _core

    doc, slider = _doc_with_slider(1.0)
    session = ClientSession("conflict", url="http://127.0.0.1:1/", document=doc)
    slider.value = 2.0  # local, "in flight"
    session._inflight[(slider.id, "value")] = 1
    incoming = _core.Patch.from_events(
        [
            {"k": "set", "id": slider.id, "prop": "value", "value": 9.0},
            {"k": "set", "id": slider.id, "prop": "end", "value": 20.0},
        ]
    )
    session._apply_remote(incoming)
    assert slider.value == 2.0 and slider.end == 20.0
    session._unacked[1] = (b"", None)
    session._confirmed(1, None)  # ok: both sides agree now
    session._apply_remote(incoming)
    assert slider.value == 9.0


def test_callbacks_added_before_the_push_run(server: Server) -> None:
    doc, slider = _doc_with_slider(0.0)
    ran: list[int] = []
    doc.add_periodic_callback(lambda: ran.append(1), 10)
    doc.add_timeout_callback(lambda: setattr(slider, "value", 3.0), 10)
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:
        wait_for(lambda: len(ran) >= 3, 10, "the periodic callback")
        remote = b.document.select_one({"name": "s"})
        wait_for(lambda: remote.value == 3.0, 10, "the timeout callback's change")


def test_clients_joining_during_a_stream_converge(server: Server) -> None:
    """Clients that join while rows are streaming end with exactly the pusher's rows
    (a change published while a client joins must reach it once: no gap, no repeat)."""
    from docsync.document import Document
    from docsync.models import ColumnDataSource

    doc = Document()
    source = ColumnDataSource(data={"x": np.zeros(1)}, name="src")
    doc.add_root(source)
    count = [0]

    def add_row() -> None:
        count[0] += 1
        source.stream({"x": np.array([float(count[0])])})

    with push_session(doc, url=server.root) as a:
        cb = doc.add_periodic_callback(add_row, 2)
        joined = []
        try:
            for _ in range(8):
                joined.append(pull_session(a.id, url=server.root))
        finally:
            doc.remove_periodic_callback(cb)
        try:
            a.force_roundtrip()
            expected = list(np.asarray(source.data["x"]))
            assert len(expected) > 10
            for s in joined:
                s.force_roundtrip()
                got = list(np.asarray(s.document.select_one({"name": "src"}).data["x"]))
                assert got == expected
        finally:
            for s in joined:
                s.close()


def test_one_document_one_session(server: Server) -> None:
    doc, _ = _doc_with_slider()
    with push_session(doc, url=server.root) as a:
        with pytest.raises(RuntimeError, match=a.id):
            push_session(doc, url=server.root)
    with push_session(doc, url=server.root) as b:  # after close, again
        assert b.connected


def test_changes_from_another_thread_are_sent_on_their_own(server: Server) -> None:
    doc, slider = _doc_with_slider(0.0)
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:
        remote = b.document.select_one({"name": "s"})
        time.sleep(0.3)  # let the idle check back off fully first
        slider.value = 4.0  # from this thread, no flush(), no callback
        wait_for(lambda: remote.value == 4.0, 5, "the change at b")


def test_acks_are_rare_but_a_large_backlog_is_acknowledged_at_once(server: Server) -> None:
    """Acks only trim the server's log: small changes are acknowledged 5 s after the first
    one; 4 MiB of unacknowledged changes are acknowledged as soon as they arrive."""
    from docsync.client import session as client_session
    from docsync.document import Document
    from docsync.models import ColumnDataSource

    assert client_session._ACK_DELAY == 5.0 and client_session._ACK_BYTES == 4 * 1024 * 1024
    doc = Document()
    source = ColumnDataSource(data={"x": np.arange(3.0)}, name="src")
    doc.add_root(source)
    with push_session(doc, url=server.root) as a, pull_session(a.id, url=server.root) as b:
        remote = b.document.select_one({"name": "src"})
        doc.add_next_tick_callback(lambda: source.stream({"x": np.array([1.0])}))
        a.force_roundtrip()
        wait_for(lambda: len(remote.data["x"]) == 4, 10, "the small change")
        time.sleep(0.5)
        assert b._acked_seq is None or b._acked_seq < b._last_seq, "a small change was acknowledged at once"
        # 3 changes of 1.5 MiB each: the second one passes 4 MiB, the ack follows it at once
        for _ in range(3):
            doc.add_next_tick_callback(lambda: source.stream({"x": np.zeros(196_608)}))
            a.force_roundtrip()
        t0 = time.monotonic()
        wait_for(lambda: b._acked_seq is not None and b._acked_seq >= b._last_seq - 1 and len(remote.data["x"]) > 500_000,
                 10, "the ack after 4 MiB")
        assert time.monotonic() - t0 < 4.0
