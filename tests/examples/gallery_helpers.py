"""Helpers for the example tests: the gallery's apps, and a real `docsync serve` subprocess
(imported by the test modules beside this file and by their conftest.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path



ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "examples" / "gallery"
PYTHON = sys.executable

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

SERVING = re.compile(r"docsync: serving (http://\S+)")


def env_for_subprocess() -> dict[str, str]:
    """The test's environment, with no browser opened by `show()` and the repo importable."""
    env = dict(os.environ)
    env["BROWSER"] = "true"          # webbrowser runs `true URL`: nothing opens
    env.pop("DOCSYNC_SECRET_KEY", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServedApps:
    """A `python -m docsync serve --port 0 ...` subprocess and the URLs it logged."""

    def __init__(self, args: list[str], cwd: Path = ROOT, expect: int = 1, timeout: float = 60.0) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "docsync", "serve", "--port", "0", *args],
            cwd=cwd, env=env_for_subprocess(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        self.lines: list[str] = []
        self.urls: dict[str, str] = {}
        self._ready = threading.Event()
        self._expect = expect
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("docsync serve did not log its URLs in time:\n" + self.output())
        if self.proc.poll() is not None and len(self.urls) < expect:
            raise RuntimeError("docsync serve exited:\n" + self.output())

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = SERVING.search(line)
            if m:
                url = m.group(1).rstrip("/")
                name = url.rsplit("/", 1)[-1] if url.count("/") > 2 else ""
                self.urls[name] = url
                if len(self.urls) >= self._expect:
                    self._ready.set()
        self._ready.set()            # the process ended: unblock the waiter

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        any_url = next(iter(self.urls.values()))
        m = re.match(r"(http://[^/]+)", any_url)
        assert m
        return m.group(1)

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def gallery_serve_args() -> list[str]:
    """The documented gallery command's arguments (examples/gallery/README.md): the folder,
    which stands for the apps in it."""
    return [str(GALLERY.relative_to(ROOT))]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
