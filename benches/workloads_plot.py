"""Plot rendering in headless Debian chromium: docsync.js's renderer against BokehJS.

Drives benches/browser/plot_bench.html (docsync's plot view on a hand-built mirror, then
the same work in BokehJS from the installed bokeh package) over a loopback http.server of
the repository: frames per second while streaming 1,000 points per 50 ms into a line with
rollover 100,000, frames per second while panning a 1,000,000-point line, and the time to
first draw of a 1,000,000-point scatter. Each measurement runs once per system in this
run (the page alternates nothing inside a frame-rate window); the report gives both.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Any

from benches.harness import Result, Side, WorkloadFailed
from benches.workloads_browser import CHROMIUM, LOOPBACK_ONLY, bokeh_js_dir

ROOT = Path(__file__).resolve().parent.parent


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """The repository at /, BokehJS's static folder at /bokehjs/."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript"}

    def translate_path(self, path: str) -> str:
        if path.startswith("/bokehjs/"):
            return str(bokeh_js_dir() / Path(path.split("?", 1)[0]).name)
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def measure(seconds: float) -> dict[str, Any]:
    """Runs the page once; returns its `window.benchResults`."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(ROOT))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[LOOPBACK_ONLY])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                query = f"seconds={seconds}&bokeh=/bokehjs/bokeh.min.js"
                page.goto(f"{base}/benches/browser/plot_bench.html?{query}")
                page.wait_for_function("() => window.benchResults !== undefined", timeout=600_000)
                out: dict[str, Any] = page.evaluate("() => window.benchResults")
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    if errors or "error" in out:
        raise WorkloadFailed(f"plot: the bench page failed: {errors or out.get('error')}")
    return out


def run(quick: bool, memcpy: float) -> list[Result]:
    out = measure(1.0 if quick else 4.0)
    d, b = out["docsync"], out.get("bokehjs")
    if b is None:
        raise WorkloadFailed("plot: BokehJS did not run")
    stream, pan, scatter = d["stream_1k_per_50ms_rollover_100k"], d["pan_1m_line"], d["scatter_1m"]
    if stream["rows"] != 100_000 or stream["fps"] <= 0 or pan["fps"] <= 0 or scatter["first_draw_ms"] <= 0:
        raise WorkloadFailed(f"plot: implausible docsync results {d}")
    # frame rates are reported as seconds per frame, so that the ratio reads like the others
    return [
        Result("plot", "stream 1,000 points / 50 ms into a line, rollover 100,000: time per frame", "per frame",
               Side([1 / stream["fps"]]), Side([1 / b["stream_1k_per_50ms_rollover_100k"]["fps"]]),
               note=f"docsync {stream['fps']:.1f} fps (median draw {stream['median_draw_ms']} ms), "
                    f"BokehJS {b['stream_1k_per_50ms_rollover_100k']['fps']:.1f} fps"),
        Result("plot", "pan a 1,000,000-point line: time per frame", "per frame",
               Side([1 / pan["fps"]]), Side([1 / b["pan_1m_line"]["fps"]]),
               note=f"docsync {pan['fps']:.1f} fps, BokehJS {b['pan_1m_line']['fps']:.1f} fps"),
        Result("plot", "first draw of a 1,000,000-point scatter", "per draw",
               Side([scatter["first_draw_ms"] / 1e3]), Side([b["scatter_1m"]["first_draw_ms"] / 1e3])),
    ]
