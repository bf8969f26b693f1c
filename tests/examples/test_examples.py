"""Every example builds its document (`docsync json`), and the scripts outside the gallery
work against a real `docsync serve`."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from gallery_helpers import (flask_embed, GALLERY, GALLERY_APPS, PYTHON, ROOT, ServedApps, client_script,
                             env_for_subprocess, wait_until)


def docsync_json(app: Path) -> dict[str, Any]:
    proc = subprocess.run([PYTHON, "-m", "docsync", "json", str(app)], cwd=ROOT, env=env_for_subprocess(),
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, f"docsync json {app} failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def test_gallery_lists_exactly_the_tested_apps() -> None:
    """A new example must be added to GALLERY_APPS (and so to the tests) and the README."""
    on_disk = {p.stem for p in GALLERY.glob("*.py")} | {p.name for p in GALLERY.iterdir() if (p / "main.py").is_file()}
    assert on_disk == set(GALLERY_APPS)
    readme = (GALLERY / "README.md").read_text()
    for name in GALLERY_APPS:
        assert f"[`{name}`]" in readme, f"{name} is not listed in examples/gallery/README.md"


@pytest.mark.parametrize("name", sorted(GALLERY_APPS))
def test_app_has_a_one_line_description(name: str) -> None:
    path, _, _ = GALLERY_APPS[name]
    source = (path / "main.py" if path.is_dir() else path).read_text()
    import ast

    doc = ast.get_docstring(ast.parse(source))
    assert doc, f"{name} has no module docstring"
    first = doc.strip().splitlines()[0]
    assert 10 < len(first) <= 120, f"{name}: the first docstring line is the index description: {first!r}"


@pytest.mark.parametrize("name", sorted(GALLERY_APPS))
def test_app_builds_its_document(name: str) -> None:
    path, root_types, needed = GALLERY_APPS[name]
    snapshot = docsync_json(path)
    types = {m["id"]: m["type"] for m in snapshot["models"]}
    assert [types[r] for r in snapshot["roots"]] == root_types
    missing = needed - set(types.values())
    assert not missing, f"{name}: no model of type {sorted(missing)} in the document"
    if name != "button":          # the seed's button app, kept verbatim, sets no title
        assert snapshot["title"], f"{name} sets no title"


def test_button_app_is_the_seed_code() -> None:
    """The seed's Press Me app, with only bokeh → docsync changed."""
    source = (GALLERY / "button.py").read_text()
    for line in ["from docsync.plotting import figure, curdoc, vplot",
                 "ds.trigger('data', ds.data, ds.data)",
                 'button = Button(label="Press Me")',
                 "curdoc().add_root(vplot(button, p))"]:
        assert line in source
    assert "bokeh" not in source


def test_million_sends_a_million_points() -> None:
    snapshot = docsync_json(GALLERY_APPS["million"][0])
    sizes = []
    for m in snapshot["models"]:
        if m["type"] == "ColumnDataSource":
            data = m["props"].get("data", {})
            for col in data.values():
                sizes.append(_length(col))
    assert max(sizes) == 1_000_000


def _length(col: object) -> int:
    if isinstance(col, list):
        return len(col)
    if isinstance(col, dict):        # a typed array in JSON: {"dtype", "shape", ...}
        shape = col.get("shape")
        if shape:
            return int(shape[0])
        for key in ("data", "values", "__ndarray__"):
            if key in col and isinstance(col[key], list):
                return len(col[key])
    raise AssertionError(f"cannot tell the length of column {str(col)[:200]}")


# ---- scripts outside the gallery ------------------------------------------------------------

@pytest.fixture()
def empty_server() -> Iterator[ServedApps]:
    server = ServedApps([])
    try:
        yield server
    finally:
        server.stop()


def metric(base: str, name: str) -> float:
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_output_server_script_pushes_session_hover(empty_server: ServedApps) -> None:
    proc = client_script(ROOT / "examples" / "client" / "output_server.py", empty_server.base)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    from docsync.client import pull_session

    with pull_session(session_id="hover", url=empty_server.base + "/") as session:
        roots = session.document.roots
        assert [type(r).__name__ for r in roots] == ["Plot"]
        assert roots[0].title.text == "Server Plot"


def test_animated_push_script_streams_changes(empty_server: ServedApps) -> None:
    proc = client_script(ROOT / "examples" / "client" / "animated_push.py", empty_server.base)
    try:
        wait_until(lambda: metric(empty_server.base, "docsync_sessions") >= 1, timeout=30, what="the pushed session")
        first = metric(empty_server.base, "docsync_messages_in_total")
        # 50 ms periodic callback: many patches per second arrive at the server
        wait_until(lambda: metric(empty_server.base, "docsync_messages_in_total") > first + 10,
                   timeout=30, what="patches from the animated script")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "Traceback" not in out, out


def test_flask_page_embeds_the_app() -> None:
    with flask_embed() as (_url, html):
        m = re.search(r'<script[^>]+src="([^"]+autoload\.js[^"]*)"', html)
        assert m, html
        js = urllib.request.urlopen(m.group(1).replace("&amp;", "&"), timeout=10).read().decode()
        assert "docsync.js" in js
