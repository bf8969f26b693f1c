"""The `docsync` command, as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from docsync.server.handlers import STATIC_PATH
from server_testlib import Client, model_ids, prop, run

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

APP = """
from docsync.document import curdoc
from docsync.models import Div
import sys
curdoc().add_root(Div(text="cli " + " ".join(sys.argv[1:]), name="div"))
"""


class Serve:
    """`python -m docsync serve ...`; ``urls`` are the URLs it logs."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, extra: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "docsync", "serve", "--port", "0", *(extra or []), *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.urls: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 30
        while not self.urls:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docsync serve did not start:\n" + "".join(self.lines))
            time.sleep(0.02)
        time.sleep(0.05)  # let every "serving" line arrive

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"docsync: serving (http://\S+)", line)
            if m:
                self.urls.append(m.group(1))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(5)

    @property
    def output(self) -> str:
        return "".join(self.lines)


async def fetch(url: str) -> Any:
    try:
        return await AsyncHTTPClient().fetch(url, raise_error=False)
    finally:
        AsyncHTTPClient().close()


def test_serve_logs_urls_hosts_origins_and_stops_on_sigterm(tmp_path: Path) -> None:
    app = tmp_path / "cliapp"
    app.mkdir()
    (app / "main.py").write_text(APP)
    unloaded = tmp_path / "unloaded.txt"
    (app / "server_lifecycle.py").write_text(
        textwrap.dedent(
            f"""
            def on_server_unloaded(ctx):
                open({str(unloaded)!r}, "w").write("bye")
            """
        )
    )
    script = tmp_path / "other.py"
    script.write_text(APP)
    s = Serve(str(app), str(script), "--args", "a1", "a2")
    try:
        assert len(s.urls) == 2
        port = int(re.search(r":(\d+)/", s.urls[0]).group(1))  # type: ignore[union-attr]
        assert s.urls == [f"http://127.0.0.1:{port}/cliapp", f"http://127.0.0.1:{port}/other"]
        assert f"Allowed Host headers: ['localhost:{port}', '127.0.0.1:{port}']" in s.output
        assert "These host origins can connect to the websocket" in s.output

        async def main() -> int | None:
            index = await fetch(f"http://127.0.0.1:{port}/")
            assert index.code == 200 and b"/cliapp" in index.body and b"/other" in index.body
            c = await Client.connect(f"ws://127.0.0.1:{port}/cliapp/ws")
            snap = await c.hello()
            assert prop(snap.payload, model_ids(snap.payload)["div"], "text") == "cli a1 a2"
            s.proc.send_signal(signal.SIGTERM)
            return await c.closed()

        assert run(main()) == 1001
        assert s.proc.wait(20) == 0
        assert unloaded.read_text() == "bye"
    finally:
        s.stop(signal.SIGKILL)


def test_serve_without_app_accepts_a_pushed_document() -> None:
    s = Serve()
    try:
        assert s.urls[0].endswith("/")
        port = int(re.search(r":(\d+)/", s.urls[0]).group(1))  # type: ignore[union-attr]

        async def main() -> None:
            from docsync import _core
            from docsync.document import Document
            from docsync.models import Div

            doc = Document()
            doc.add_root(Div(text="pushed by a script", name="div"))
            p = await Client.connect(f"ws://127.0.0.1:{port}/ws?docsync-session-id=hover")
            await p.hello("P", push=_core.decode(doc._engine.snapshot()))
            v = await Client.connect(f"ws://127.0.0.1:{port}/ws?docsync-session-id=hover")
            snap = await v.hello("V")
            assert prop(snap.payload, model_ids(snap.payload)["div"], "text") == "pushed by a script"

        run(main())
    finally:
        assert s.stop(signal.SIGINT) == 0


def test_num_procs_serves_from_several_workers(tmp_path: Path) -> None:
    script = tmp_path / "procs.py"
    script.write_text(
        "import os\nfrom docsync.document import curdoc\nfrom docsync.models import Div\n"
        "curdoc().add_root(Div(text=str(os.getpid()), name='div'))\n"
    )
    s = Serve(str(script), "--num-procs", "2")
    try:
        port = int(re.search(r":(\d+)/", s.urls[0]).group(1))  # type: ignore[union-attr]

        async def main() -> set[str]:
            pids = set()
            for i in range(40):
                c = await Client.connect(f"ws://127.0.0.1:{port}/procs/ws")
                snap = await c.hello()
                pids.add(prop(snap.payload, model_ids(snap.payload)["div"], "text"))
                c.close()
                if len(pids) == 2:
                    break
            return pids

        pids = run(main())
        assert str(s.proc.pid) not in pids  # app code runs only in the workers
        assert len(pids) >= 1
    finally:
        assert s.stop() == 0


def test_json_secret_static_info(tmp_path: Path) -> None:
    script = tmp_path / "j.py"
    script.write_text(APP)
    out = subprocess.run([PY, "-m", "docsync", "json", str(script), "--args", "x"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["roots"]) == 1
    assert any(m["props"].get("text") == "cli x" for m in data["models"])
    target = tmp_path / "out.json"
    assert subprocess.run([PY, "-m", "docsync", "json", str(script), "--output", str(target)], cwd=ROOT, timeout=60).returncode == 0
    assert json.loads(target.read_text())["roots"] == data["roots"] or len(json.loads(target.read_text())["roots"]) == 1
    secret = subprocess.run([PY, "-m", "docsync", "secret"], capture_output=True, text=True, timeout=60).stdout.strip()
    assert len(secret) == 44
    static = subprocess.run([PY, "-m", "docsync", "static"], capture_output=True, text=True, timeout=60).stdout.strip()
    assert static == STATIC_PATH and os.path.isdir(static)
    info = subprocess.run([PY, "-m", "docsync", "info", "--static"], capture_output=True, text=True, timeout=60).stdout.strip()
    assert info == STATIC_PATH
    bad = subprocess.run([PY, "-m", "docsync", "serve", str(tmp_path / "nope.py"), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "no such file" in bad.stderr


def test_half_open_connection_is_closed_after_missed_pongs(live_server: Any) -> None:
    from docsync.server.application import FunctionApplication
    from server_testlib import widgets_app

    srv = live_server({"app": FunctionApplication(widgets_app)}, keep_alive_ms=200)
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(
        (
            f"GET /app/ws HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert b"101" in sock.recv(4096).split(b"\r\n")[0]
    try:
        # this client never answers pings: the server must drop it (ping interval +
        # ping timeout + tornado's 5 s wait for a closing handshake that never comes)
        assert srv.call(lambda: len(srv.server.connections)) == 1
        deadline = time.monotonic() + 12
        while srv.call(lambda: len(srv.server.connections)) != 0:
            assert time.monotonic() < deadline, "half-open connection was not closed"
            time.sleep(0.05)
    finally:
        sock.close()


def test_dev_restarts_when_the_app_changes(tmp_path: Path) -> None:
    script = tmp_path / "devapp.py"
    script.write_text(APP)
    s = Serve(str(script), "--dev")
    try:
        first = list(s.urls)
        time.sleep(1.0)  # autoreload compares modification times every 0.5 s
        script.write_text(APP.replace('"cli "', '"changed "'))
        deadline = time.monotonic() + 30
        while len(s.urls) < 2:
            assert time.monotonic() < deadline, s.output
            time.sleep(0.05)
        port = int(re.search(r":(\d+)/", s.urls[-1]).group(1))  # type: ignore[union-attr]

        async def main() -> str:
            for _ in range(100):
                try:
                    c = await Client.connect(f"ws://127.0.0.1:{port}/devapp/ws")
                    break
                except OSError:
                    await __import__("asyncio").sleep(0.05)
            snap = await c.hello()
            return str(prop(snap.payload, model_ids(snap.payload)["div"], "text"))

        assert run(main()).startswith("changed")
        assert first != [] and "restarting when app files change" in s.output
    finally:
        assert s.stop() == 0


def test_autoload_js_is_valid_javascript(live_server: Any, tmp_path: Path) -> None:
    import shutil

    from docsync.embed import server_document
    from docsync.server.application import FunctionApplication
    from server_testlib import widgets_app

    node = shutil.which("node")
    assert node is not None, "node is part of the test set-up (scripts/setup.sh needs it)"
    srv = live_server({"app": FunctionApplication(widgets_app)})
    tag = server_document(srv.http("/app"), arguments={"color": "red"})
    src = re.search(r'src="([^"]+)"', tag).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    element = re.search(r'id="([^"]+)"', tag).group(1)  # type: ignore[union-attr]

    async def main() -> Any:
        return await fetch(src)

    r = run(main())
    assert r.code == 200 and r.headers["Content-Type"].startswith("application/javascript")
    js = r.body.decode()
    assert f'"{element}"' in js and f"ws://127.0.0.1:{srv.port}/app/ws" in js
    token = re.search(r'token: "([^"]+)"', js).group(1)  # type: ignore[union-attr]
    from docsync.server.tokens import decode_token

    assert decode_token(token)["arguments"] == {"color": ["red"]}
    f = tmp_path / "autoload.js"
    f.write_text(js)
    check = subprocess.run([node, "--check", str(f)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_a_folder_of_apps_serves_each_with_its_summary(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    folder.mkdir()
    (folder / "first.py").write_text('"""The first app."""\n' + APP)
    (folder / "_helper.py").write_text("X = 1\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "main.py").write_text('"""A directory app."""\n' + APP)
    s = Serve(str(folder))
    try:
        assert [u.rsplit("/", 1)[1] for u in s.urls] == ["first", "sub"]
        port = int(re.search(r":(\d+)/", s.urls[0]).group(1))  # type: ignore[union-attr]

        async def main() -> Any:
            return await fetch(f"http://127.0.0.1:{port}/")

        body = run(main()).body.decode()
        assert "The first app." in body and "A directory app." in body and "_helper" not in body
    finally:
        assert s.stop() == 0


def test_show_opens_every_app_with_the_browser_variable(tmp_path: Path) -> None:
    script = tmp_path / "shown.py"
    script.write_text(APP)
    opened = tmp_path / "opened.txt"
    s = Serve(str(script), env={"BROWSER": f"sh -c 'echo %s >> {opened}'"}, extra=["--show"])
    try:
        deadline = time.monotonic() + 20
        while not opened.exists() or not opened.read_text().strip():
            assert time.monotonic() < deadline, s.output
            time.sleep(0.05)
        assert opened.read_text().split() == s.urls
    finally:
        assert s.stop() == 0


def test_websockets_run_with_tcp_nodelay(live_server: Any) -> None:
    from docsync.server.application import FunctionApplication
    from server_testlib import widgets_app

    srv = live_server({"app": FunctionApplication(widgets_app)})

    async def main() -> int:
        c = await Client.connect(srv.ws("/app/ws"))
        await c.hello()

        def nodelay() -> int:
            (ws,) = srv.server.connections
            sock = ws.ws_connection.stream.socket
            return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        return int(srv.call(nodelay))

    assert run(main()) == 1


def test_sigterm_stops_even_when_a_callback_hangs(tmp_path: Path) -> None:
    script = tmp_path / "hang.py"
    script.write_text(
        "import time\nfrom docsync.document import curdoc\nfrom docsync.models import Div\n"
        "curdoc().add_root(Div(text='x', name='div'))\n"
        "curdoc().add_timeout_callback(lambda: time.sleep(3600), 200)\n"
    )
    s = Serve(str(script))
    try:
        port = int(re.search(r":(\d+)/", s.urls[0]).group(1))  # type: ignore[union-attr]

        async def main() -> None:
            c = await Client.connect(f"ws://127.0.0.1:{port}/hang/ws")
            await c.send("hello", payload={"client_id": "c", "resume": None, "push": None})
            await c.recv()
            await __import__("asyncio").sleep(0.5)  # the callback is sleeping now

        run(main())
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(30) == 0
        assert time.monotonic() - t0 < 25
        assert "still running" in s.output
    finally:
        s.stop(signal.SIGKILL)


def test_num_procs_workers_share_sessions_and_resumes(tmp_path: Path) -> None:
    """Whichever worker the kernel hands a connection to, a shared session id reaches the
    one session, and a resume never finds "expired" while the session lives."""
    script = tmp_path / "shared.py"
    script.write_text(
        "import os\nfrom docsync.document import curdoc\nfrom docsync.models import Div, Slider\n"
        "curdoc().add_root(Div(text=str(os.getpid()), name='div'))\n"
        "curdoc().add_root(Slider(end=100, name='slider'))\n"
    )
    s = Serve(str(script), "--num-procs", "2", "--log-level", "debug")
    try:
        port = int(re.search(r":(\d+)/", s.urls[0]).group(1))  # type: ignore[union-attr]
        url = f"ws://127.0.0.1:{port}/shared/ws?docsync-session-id=together"

        async def main() -> None:
            first = await Client.connect(url)
            snap = await first.hello("first")
            ids = model_ids(snap.payload)
            owner = prop(snap.payload, ids["div"], "text")
            seq = snap.seq
            for i in range(12):
                c = await Client.connect(url)
                if i % 2:
                    m = await c.hello(f"v{i}")
                    assert m.type == "snapshot" and prop(m.payload, ids["div"], "text") == owner
                else:  # a resume from the last change: nothing to replay, and never "expired"
                    await c.send("hello", payload={"client_id": f"v{i}", "resume": seq, "push": None})
                await c.send_patch([{"k": "set", "id": ids["slider"], "prop": "value", "value": float(i)}])
                ok = await c.recv()
                assert ok.type == "ok", ok.type
                seq = ok.seq
                c.close()
            # the first connection saw every change, whoever sent it
            got = []
            while len(got) < 12:
                m = await first.recv_type("patch")
                got.append(m.patch.events()[0]["value"])
            assert got == [float(i) for i in range(12)]

        run(main())  # (most connections land in the worker that does not own the session)
    finally:
        assert s.stop() == 0
