"""App formats over a real server: script file, directory app (hooks and their order,
relative imports, __file__, sys.argv, static/, templates/, theme.yaml)."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from docsync.server.application import AppLoadError, load_application
from server_testlib import Client, LiveServer, model_ids, prop, run


async def fetch(url: str) -> Any:
    try:
        return await AsyncHTTPClient().fetch(url, raise_error=False)
    finally:
        AsyncHTTPClient().close()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def dir_app(tmp_path: Path) -> Path:
    app = tmp_path / "myapp"
    events = tmp_path / "events.txt"
    write(
        app / "main.py",
        f"""
        import os, sys
        from docsync.document import curdoc
        from docsync.models import Div
        from .helpers import greeting
        from . import helpers

        with open(os.path.join(os.path.dirname(__file__), "data", "things.csv")) as f:
            rows = f.read().split()
        with open({str(events)!r}, "a") as f:
            f.write("main\\n")
        doc = curdoc()
        ctx = doc.session_context
        doc.add_root(Div(text=greeting() + "|" + ",".join(rows) + "|" + " ".join(sys.argv[1:]) + "|" + ctx.id, name="div"))
        """,
    )
    write(app / "helpers.py", "def greeting():\n    return 'hi'\n")
    write(app / "data" / "things.csv", "a\nb\n")
    write(
        app / "server_lifecycle.py",
        f"""
        import asyncio
        EVENTS = {str(events)!r}

        def note(what):
            with open(EVENTS, "a") as f:
                f.write(what + "\\n")

        def on_server_loaded(server_context):
            note("server_loaded")

        async def on_session_created(session_context):
            await asyncio.sleep(0.01)
            note("session_created " + session_context.id + " " + ",".join(session_context.request.arguments.get("x", [])))

        def on_session_destroyed(session_context):
            note("session_destroyed " + session_context.id)

        async def on_server_unloaded(server_context):
            note("server_unloaded")
        """,
    )
    write(app / "static" / "style.css", "body { color: red }\n")
    write(
        app / "templates" / "index.html",
        """
        <!DOCTYPE html><html><head><title>custom {{ title }}</title>
        <link rel="stylesheet" href="{{ static_url }}/style.css"></head>
        <body><h1>CUSTOM TEMPLATE {{ request_info.arguments.get("x", [""])[0] }}</h1>{{ embed }}</body></html>
        """,
    )
    write(app / "theme.yaml", "attrs:\n  Div:\n    width: 321\n")
    return app


def events_of(app: Path) -> list[str]:
    f = app.parent / "events.txt"
    return f.read_text().split("\n")[:-1] if f.exists() else []


def test_directory_app(live_server: Any, dir_app: Path) -> None:
    argv_before = list(sys.argv)
    srv: LiveServer = live_server(
        {"myapp": load_application(str(dir_app), ["--flag", "v"])},
        check_unused_sessions_ms=50,
        unused_session_lifetime_ms=200,
    )

    async def main() -> None:
        page = await fetch(srv.http("/myapp?x=42"))
        assert page.code == 200
        assert b"CUSTOM TEMPLATE 42" in page.body and b"/myapp/static/style.css" in page.body
        assert b"embed(" in page.body
        css = await fetch(srv.http("/myapp/static/style.css"))
        assert css.code == 200 and b"color: red" in css.body
        escape = await fetch(srv.http("/myapp/static/..%2Fmain.py"))
        assert escape.code in (403, 404) and b"curdoc" not in escape.body
        lone = await fetch(srv.http("/"))
        assert lone.code == 200 and b"CUSTOM TEMPLATE" in lone.body

        import re
        from urllib.parse import urlencode

        token = re.search(rb'token: "([^"]+)"', page.body).group(1).decode()  # type: ignore[union-attr]
        c = await Client.connect(srv.ws("/myapp/ws?" + urlencode({"docsync-token": token})))
        snap = await c.hello()
        ids = model_ids(snap.payload)
        sid = json.loads(__import__("base64").urlsafe_b64decode(token + "==="))["session_id"]
        assert prop(snap.payload, ids["div"], "text") == f"hi|a,b|--flag v|{sid}"
        assert prop(snap.payload, ids["div"], "width") == 321  # theme.yaml
        c.close()
        deadline = time.monotonic() + 5
        while not any(e.startswith("session_destroyed") for e in events_of(dir_app)):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

    run(main())
    srv.stop()
    assert sys.argv == argv_before  # the app saw its own argv, the process keeps its own
    assert events_of(dir_app) == [
        "server_loaded",
        f"session_created {events_of(dir_app)[1].split()[1]} 42",
        "main",
        f"session_destroyed {events_of(dir_app)[1].split()[1]}",
        "server_unloaded",
    ]


def test_two_sessions_get_their_own_module_namespace(live_server: Any, tmp_path: Path) -> None:
    script = tmp_path / "counter.py"
    write(
        script,
        """
        from docsync.document import curdoc
        from docsync.models import Div
        counter = globals().get("counter", 0) + 1
        curdoc().add_root(Div(text=f"{counter} {__name__ != '__main__'} {__file__}", name="div"))
        """,
    )
    srv = live_server(
        {"counter": load_application(str(script))}, check_unused_sessions_ms=50, unused_session_lifetime_ms=100
    )

    def app_modules() -> list[str]:
        return [k for k, m in list(sys.modules.items()) if getattr(m, "__file__", None) == str(script)]

    async def main() -> None:
        texts = []
        for sid in ("one", "two"):
            c = await Client.connect(srv.ws(f"/counter/ws?docsync-session-id={sid}"))
            snap = await c.hello()
            texts.append(prop(snap.payload, model_ids(snap.payload)["div"], "text"))
            if sid == "two":
                assert len(app_modules()) == 2  # one module per live session
            c.close()
        assert texts == [f"1 True {script}"] * 2
        page = await fetch(srv.http("/counter"))
        assert page.code == 200
        deadline = time.monotonic() + 5
        while srv.call(lambda: len(srv.server.sessions["counter"].sessions)):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert app_modules() == []  # destroyed sessions took their modules with them

    run(main())


def test_app_errors(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match="main.py"):
        load_application(str(tmp_path))
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    with pytest.raises(AppLoadError, match="syntax error"):
        load_application(str(bad))
    with pytest.raises(AppLoadError, match="no such"):
        load_application(str(tmp_path / "missing.py"))


def test_app_code_exception_still_serves_what_was_built(live_server: Any, tmp_path: Path) -> None:
    script = tmp_path / "half.py"
    write(
        script,
        """
        from docsync.document import curdoc
        from docsync.models import Div
        curdoc().add_root(Div(text="built", name="div"))
        raise RuntimeError("app failed half way")
        """,
    )
    srv = live_server({"half": load_application(str(script))})

    async def main() -> None:
        c = await Client.connect(srv.ws("/half/ws"))
        snap = await c.hello()
        assert prop(snap.payload, model_ids(snap.payload)["div"], "text") == "built"
        c.close()

    run(main())
