"""Helpers for the example tests: the gallery's apps, and a real `docsync serve` subprocess
(imported by the test modules beside this file and by their conftest.py)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Iterator

from support import PYTHON, ROOT, DocsyncServe, free_port, subprocess_env, wait_until

__all__ = ["GALLERY", "GALLERY_APPS", "PYTHON", "ROOT", "ServedApps", "client_script", "env_for_subprocess",
           "gallery_serve_args", "wait_until"]

GALLERY = ROOT / "examples" / "gallery"
env_for_subprocess = subprocess_env

#: Every gallery app: name → (path, root model types in order, model types that must be present).
GALLERY_APPS: dict[str, tuple[Path, list[str], set[str]]] = {
    "animated": (GALLERY / "animated.py", ["Plot"], {"Line", "ColumnDataSource"}),
    "button": (GALLERY / "button.py", ["Column"], {"Button", "Text", "Plot"}),
    "million": (GALLERY / "million.py", ["Row"], {"Scatter", "Quad", "Range1d", "Div"}),
    "myapp": (GALLERY / "myapp", ["Row"], {"StockGauge", "Select", "Scatter", "LogAxis"}),
    "shared": (GALLERY / "shared.py", ["Column"], {"TextInput", "Slider", "Button", "DatetimeAxis"}),
    "sliders": (GALLERY / "sliders.py", ["Row"], {"Slider", "Select", "Line", "Div"}),
    "streaming": (GALLERY / "streaming.py", ["Column"], {"DatetimeAxis", "VBar", "Line", "Scatter", "Slider", "Button"}),
    "table": (GALLERY / "table.py", ["Column"], {"DataTable", "TableColumn", "Scatter", "Div"}),
    "widgets": (
        GALLERY / "widgets.py",
        ["Column"],
        {"Button", "Toggle", "Slider", "RangeSlider", "TextInput", "Select", "CheckboxGroup",
         "RadioGroup", "Div", "Paragraph", "PreText", "DataTable", "TableColumn", "CustomJS"},
    ),
}


class ServedApps(DocsyncServe):
    """`python -m docsync serve --port 0 ...` (tests/support.py) plus the server's base URL."""

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        m = re.match(r"http://[^/]+", next(iter(self.urls.values())))
        assert m
        return m.group(0)


def gallery_serve_args() -> list[str]:
    """The documented gallery command's arguments (examples/gallery/README.md): the folder,
    which stands for the apps in it."""
    return [str(GALLERY.relative_to(ROOT))]


def client_script(script: Path, base: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Run an examples/client script unchanged against the server at `base`: the scripts use
    the default URL (http://localhost:5006/), so a wrapper points the defaults at `base`."""
    source = script.read_text()
    assert "bokeh" not in source
    wrapper = (
        "import runpy, sys, docsync.client, docsync.client._urls, docsync.io\n"
        f"docsync.client._urls.DEFAULT_URL = docsync.client.DEFAULT_URL = {base + '/'!r}\n"
        f"docsync.io.DEFAULT_SERVER_URL = {base + '/'!r}\n"
        f"sys.argv = [{str(script)!r}]\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    return subprocess.Popen([PYTHON, "-c", wrapper], cwd=ROOT, env=env or env_for_subprocess(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@contextlib.contextmanager
def flask_embed() -> Iterator[tuple[str, str]]:
    """examples/embed/flask_app.py embedding the gallery's sliders app served by a real
    `docsync serve`; yields (the Flask page URL, its HTML once it answers)."""
    flask_port = free_port()
    server = ServedApps([str(GALLERY / "sliders.py"), "--allow-websocket-origin", f"127.0.0.1:{flask_port}"])
    env = env_for_subprocess()
    env.update(DOCSYNC_URL=server.urls["sliders"], PORT=str(flask_port))
    flask = subprocess.Popen([PYTHON, str(ROOT / "examples" / "embed" / "flask_app.py")], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{flask_port}/"
    try:
        def page() -> str | None:
            try:
                return urllib.request.urlopen(url, timeout=5).read().decode()  # type: ignore[no-any-return]
            except OSError:
                return None

        yield url, wait_until(page, timeout=30, what="the Flask page")
    finally:
        flask.terminate()
        flask.communicate(timeout=15)
        server.stop()
