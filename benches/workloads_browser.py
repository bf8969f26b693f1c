"""Browser workloads: receiving in headless Debian chromium, docsync.js against BokehJS.

Decode and apply of (a) a stream of 10,000 rows × 3 float64 columns into a source kept at
its rollover size, and (b) the first load of a figure over a 1,000,000-row × 3 float64
source (100,000 rows with --quick). The messages are the ones each server sends, made in
Python by the real code: docsync's engine (`snapshot_message`, `Patch.to_message`) and
`bokeh.protocol` (PULL-DOC-REPLY, PATCH-DOC, see benches/bokeh_side.py). The page
(benches/browser/receive_bench.html / .mjs) gets them from a local http.server on
127.0.0.1 as ArrayBuffers (frame by frame, as a WebSocket hands them over) and times
inside the page with performance.now(), alternating the two systems sample by sample
(a full GC before each sample, so neither pays for the other's garbage).

docsync.js: `decodeMessage` + `DocumentMirror.applySnapshot` / `applyPatch` (python/docsync/
static). BokehJS (the installed `bokeh` package's bokeh.min.js + bokeh-api.min.js):
`protocol.Receiver` + `Document.from_json` / `Document.apply_json_patch`, what its
ClientConnection and ClientSession do with a message. Neither side renders.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from benches import bokeh_side
from benches.harness import Result, Side, WorkloadFailed

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "python" / "docsync" / "static"
PAGES = Path(__file__).resolve().parent / "browser"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium looks up Google hosts at start-up; keep all its DNS on loopback
# (../shared/browser-testing.md). Keep the EXCLUDEs, or 127.0.0.1 stops resolving.
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
STREAM_ROWS = 10_000
MIB = 1024 * 1024


def bokeh_js_dir() -> Path:
    import bokeh

    return Path(bokeh.__file__).resolve().parent / "server" / "static" / "js"


# ---------------------------------------------------------------------------------------
# messages as frame bundles


def bundle(frames: list[str | bytes]) -> bytes:
    """u32 LE frame count, then per frame: u8 kind (0 text, 1 binary), u32 LE length, bytes."""
    out = [struct.pack("<I", len(frames))]
    for f in frames:
        data = f.encode() if isinstance(f, str) else bytes(f)
        out.append(struct.pack("<BI", 0 if isinstance(f, str) else 1, len(data)))
        out.append(data)
    return b"".join(out)


def bokeh_frames(msg: Any) -> list[str | bytes]:
    """The WebSocket frames the Bokeh server writes for `msg` (Message.send / write_buffers)."""
    frames: list[str | bytes] = [msg.header_json, msg.metadata_json, msg.content_json]
    for buf in msg.buffers:
        frames.append(json.dumps(buf.ref))
        frames.append(buf.to_bytes())
    return frames


def docsync_line_document(nrows: int) -> tuple[Any, Any]:
    from benches.workloads_document import docsync_line_document as make

    return make(nrows)  # type: ignore[no-any-return]


def stream_blocks(start: float, count: int) -> list[dict[str, np.ndarray]]:
    """`count` different blocks of STREAM_ROWS rows continuing an arange from `start`."""
    blocks = []
    for j in range(count):
        x = start + j * STREAM_ROWS + np.arange(STREAM_ROWS, dtype=np.float64)
        blocks.append({"x": x, "y": x + 0.25, "z": x + 0.5})
    return blocks


def expected_stream_state(nbase: int, rollover: int, blocks: list[dict[str, np.ndarray]], applied: int) -> dict[str, float]:
    """Rows and first/last x after `applied` streams of blocks[0], blocks[1], ... (cycling)
    into an arange(nbase) column with `rollover`."""
    total = nbase + applied * STREAM_ROWS
    rows = min(total, rollover)
    first = total - rows

    def x_at(i: int) -> float:
        if i < nbase:
            return float(i)
        j, k = divmod(i - nbase, STREAM_ROWS)
        return float(blocks[j % len(blocks)]["x"][k])

    return {"rows": rows, "firstX": x_at(first), "lastX": x_at(total - 1)}


# ---------------------------------------------------------------------------------------
# the local http.server and the browser


class _Handler(http.server.SimpleHTTPRequestHandler):
    routes: dict[str, Path] = {}
    blobs: dict[str, bytes] = {}

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript"}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/data/"):
            data = self.blobs.get(path[len("/data/"):])
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        for prefix, folder in self.routes.items():
            if path.startswith(prefix):
                rel = Path(path[len(prefix):])
                target = (folder / rel).resolve()
                if folder.resolve() in target.parents or target == folder.resolve():
                    return str(target)
        return "/nonexistent"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class BenchPage:
    """A local http.server (docsync's static folder, the bench pages, BokehJS, message
    bundles) and a headless chromium page on receive_bench.html."""

    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {
            "routes": {"/static/": STATIC, "/bench/": PAGES, "/bokeh/": bokeh_js_dir()},
            "blobs": {},
        })
        self.blobs: dict[str, bytes] = handler.blobs  # type: ignore[attr-defined]
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=[LOOPBACK_ONLY, "--js-flags=--expose-gc"])
            self.page = self.browser.new_page()
            self.errors: list[str] = []
            self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
            self.page.goto(f"{self.base}/bench/receive_bench.html?static={self.base}/static/"
                           f"&bokeh={self.base}/bokeh/bokeh.min.js")
            self.page.wait_for_function("() => window.receiveBenchReady === true", timeout=30_000)
            self.page.evaluate("() => window.receiveBench.load()")
            self.user_agent = self.page.evaluate("() => navigator.userAgent")
        except BaseException:
            self.close()
            raise

    def put(self, name: str, frames: list[str | bytes]) -> str:
        self.blobs[name] = bundle(frames)
        return f"{self.base}/data/{name}"

    def run(self, fn: str, options: dict[str, Any]) -> dict[str, Any]:
        out = self.page.evaluate(f"(o) => window.receiveBench.{fn}(o)", options)
        if self.errors:
            raise WorkloadFailed(f"browser: errors in the page: {self.errors}")
        self.blobs.clear()
        return out  # type: ignore[no-any-return]

    def close(self) -> None:
        with_browser = getattr(self, "browser", None)
        if with_browser is not None:
            with_browser.close()
        self._pw.stop()
        self.httpd.shutdown()
        self.httpd.server_close()


@functools.lru_cache(maxsize=1)
def chromium_version() -> str:
    import subprocess

    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001
        return "chromium"


# ---------------------------------------------------------------------------------------
# workloads


def _sides(out: dict[str, Any]) -> tuple[Side, Side]:
    d = Side([ms / 1e3 for ms in out["docsync"]["samples"]], size=out["docsync"]["bytes"])
    b = Side([ms / 1e3 for ms in out["bokeh"]["samples"]], size=out["bokeh"]["bytes"])
    return d, b


def _check(label: str, name: str, got: dict[str, Any], want: dict[str, float]) -> None:
    for key, value in want.items():
        if got.get(key) != value:
            raise WorkloadFailed(f"browser / {name}: {label} ended with {key}={got.get(key)!r}, expected {value!r}")
    if not (got["rows"] == got["rowsY"] == got["rowsZ"]):
        raise WorkloadFailed(f"browser / {name}: {label} columns differ in length: {got}")


def _note(out: dict[str, Any], d: Side, memcpy: float) -> str:
    per_mib = d.median * 1e3 / (d.size / MIB) if d.size else float("nan")
    floor = d.size / memcpy if d.size else 0.0
    parts = [
        f"docsync.js {per_mib:.3f} ms/MiB",
        f"one copy of the docsync message: {out['docsync']['copyMs'] * 1e3:.0f} µs in the page, "
        f"{floor * 1e6:.0f} µs memcpy in numpy",
        f"batches {out['docsync']['batch']}/{out['bokeh']['batch']} calls",
        f"BokehJS {out['bokehVersion']}",
    ]
    if "zeroCopy" in out["docsync"]:
        parts.insert(1, "columns are views of the message (zero copy)" if out["docsync"]["zeroCopy"]
                     else "columns copied out of the message")
    return "; ".join(parts)


def stream_workload(page: BenchPage, rollover: int, quick: bool, memcpy: float) -> Result:
    name = f"decode + apply a {STREAM_ROWS:,}-row × 3 float64 stream (rollover {rollover:,})"
    nbase = rollover  # the source is at its rollover size: every stream drops as many rows
    blocks = stream_blocks(float(nbase), 4)

    ddoc, dsrc = docsync_line_document(nbase)
    docsync_base = ddoc._engine.snapshot_message(0)
    docsync_msgs = []
    for seq, block in enumerate(blocks, 1):
        dsrc.stream(block, rollover=rollover)
        docsync_msgs.append(ddoc._flush().to_message(seq))

    brec, bsrc = bokeh_side.line_document(nbase)
    bokeh_base = bokeh_side.first_load(brec.doc)
    bokeh_msgs = []
    for block in blocks:
        bsrc.stream(dict(block), rollover=rollover)  # type: ignore[arg-type]
        msgs = brec.patch_messages()
        if len(msgs) != 1:
            raise WorkloadFailed(f"browser: Bokeh sent {len(msgs)} PATCH-DOC messages for one stream")
        bokeh_msgs.append(msgs[0])

    options = {
        "docsyncBaseUrl": page.put("d-base", [docsync_base]),
        "docsyncUrls": [page.put(f"d-{i}", [m]) for i, m in enumerate(docsync_msgs)],
        "bokehBaseUrl": page.put("b-base", bokeh_frames(bokeh_base)),
        "bokehUrls": [page.put(f"b-{i}", bokeh_frames(m)) for i, m in enumerate(bokeh_msgs)],
        "samples": 11 if quick else 21,
        "minBatchMs": 20 if quick else 40,
    }
    del ddoc, dsrc, brec, bsrc, docsync_msgs, bokeh_msgs
    out = page.run("stream", options)
    for label in ("docsync", "bokeh"):
        got = out[label]
        want = expected_stream_state(nbase, rollover, blocks, got["applied"])
        want["lastY"] = want["lastX"] + 0.25
        _check(label, name, got, want)
    d, b = _sides(out)
    return Result("browser", name, "per message", d, b, _note(out, d, memcpy))


def first_load_workload(page: BenchPage, nrows: int, quick: bool, memcpy: float) -> Result:
    name = f"decode + apply the first load: figure + {nrows:,}-row × 3 float64 source"
    ddoc, _ = docsync_line_document(nrows)
    docsync_msg = ddoc._engine.snapshot_message(0)
    brec, _ = bokeh_side.line_document(nrows)
    bokeh_msg = bokeh_side.first_load(brec.doc)
    options = {
        "docsyncUrl": page.put("d-first", [docsync_msg]),
        "bokehUrl": page.put("b-first", bokeh_frames(bokeh_msg)),
        "samples": 11 if quick else 21,
        "minBatchMs": 20 if quick else 40,
    }
    del ddoc, brec, docsync_msg, bokeh_msg
    out = page.run("firstLoad", options)
    want = {"rows": nrows, "firstX": 0.0, "lastX": float(nrows - 1), "lastY": float(nrows - 1)}
    for label in ("docsync", "bokeh"):
        _check(label, name, out[label], want)
    d, b = _sides(out)
    return Result("browser", name, "per message", d, b, _note(out, d, memcpy))


def run(quick: bool, memcpy: float) -> list[Result]:
    page = BenchPage()
    try:
        results = [stream_workload(page, 100_000, quick, memcpy)]
        if not quick:
            results.append(stream_workload(page, 1_000_000, quick, memcpy))
        results.append(first_load_workload(page, 100_000 if quick else 1_000_000, quick, memcpy))
        for r in results:
            r.note += f"; {chromium_version()} headless"
        return results
    finally:
        page.close()


def _iter_results(results: list[Result]) -> Iterator[str]:
    for r in results:
        yield (f"{r.name}: docsync.js {r.fmt(r.docsync.median)} ({r.fmt(r.docsync.low)}–{r.fmt(r.docsync.high)}), "
               f"BokehJS {r.fmt(r.bokeh.median)} ({r.fmt(r.bokeh.low)}–{r.fmt(r.bokeh.high)}), "
               f"ratio {r.ratio_text} — {r.note}")


if __name__ == "__main__":
    import sys
    import time

    from benches.harness import measure_memcpy_bandwidth

    t0 = time.perf_counter()
    for line in _iter_results(run(quick="--quick" in sys.argv, memcpy=measure_memcpy_bandwidth())):
        print(line)
    print(f"{time.perf_counter() - t0:.1f} s")
