"""Python client round trip: a change made by one client → server → a second client;
and the seed's 50 ms periodic update seen by 1 and 20 watching clients.

    .venv/bin/python benches/bench_client.py [--changes 1000] [--watchers 1,20] [--url URL]

Without ``--url`` a ``docsync serve`` subprocess is started on 127.0.0.1 (port 0). Client A
pushes a document holding a Slider; client B pulls the same session. Each of the
``--changes`` changes sets ``slider.value`` in A (through ``add_next_tick_callback``, the
thread-safe way to change a session's document) and is timed until B's ``on_change``
fires. The script checks its own result (every change arrived, in order, once) and prints
the median, p90, p99 and max in milliseconds, plus a JSON line for the benchmark report.
docsync only; the benchmark suite adds bokeh.client beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))


def start_server() -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable, "-c", "import sys; from docsync.command import main; main(sys.argv[1:])",
        "serve", "--address", "127.0.0.1", "--port", "0",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines = []
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"docsync: serving (http://\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return proc, m.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("docsync serve did not start:\n" + "".join(lines))


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def round_trip(url: str, changes: int, warmup: int = 50) -> dict[str, Any]:
    from docsync.client import pull_session, push_session
    from docsync.document import Document
    from docsync.models import Slider

    doc = Document()
    slider = Slider(start=0, end=10 * changes, value=-1, name="s")
    doc.add_root(slider)
    a = push_session(doc, url=url)
    b = pull_session(a.id, url=url)
    remote = b.document.select_one({"name": "s"})
    arrived = threading.Event()
    received: list[float] = []

    def on_value(attr: str, old: Any, new: Any) -> None:
        received.append(new)
        arrived.set()

    remote.on_change("value", on_value)
    times: list[float] = []
    try:
        for i in range(warmup + changes):
            arrived.clear()
            value = float(i)
            t0 = time.perf_counter()
            doc.add_next_tick_callback(lambda value=value: setattr(slider, "value", value))
            if not arrived.wait(10):
                raise SystemExit(f"change {i} did not arrive within 10 s")
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000.0)
        a.force_roundtrip()
        b.force_roundtrip()
    finally:
        b.close()
        a.close()
    expected = [float(i) for i in range(warmup + changes)]
    ok = received == expected
    return {
        "bench": "client_round_trip",
        "system": "docsync",
        "changes": changes,
        "median_ms": statistics.median(times),
        "p90_ms": percentile(times, 90),
        "p99_ms": percentile(times, 99),
        "max_ms": max(times),
        "mean_ms": statistics.fmean(times),
        "correct": ok,
    }


def periodic_updates(url: str, watchers: int, updates: int = 100, period_ms: int = 50) -> dict[str, Any]:
    """The seed's animated example: a 50 ms periodic callback in the pushing process sets
    a line's ``y`` (80 floats) and ``line_alpha``; ``watchers`` pull clients (in this
    process) each time when the change reaches them."""
    import numpy as np

    from docsync.client import pull_session, push_session
    from docsync.document import Document
    from docsync.plotting import figure

    x = np.linspace(0, 4 * np.pi, 80)
    y = np.sin(x)
    doc = Document()
    p = figure()
    r2 = p.line(x, y, color="navy", line_width=4)
    doc.add_root(p)
    a = push_session(doc, url=url)
    sent: dict[float, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    counts = [0] * watchers
    step = [0]

    def update() -> None:
        i = step[0]
        if i >= updates:
            return
        step[0] += 1
        alpha = round(0.2 + 0.8 * i / updates, 6)
        sent[alpha] = time.perf_counter()
        r2.data_source.data["y"] = y * (1 - i / updates)
        r2.glyph.line_alpha = alpha

    sessions = []
    for w in range(watchers):
        s = pull_session(a.id, url=url)
        sessions.append(s)
        line = s.document.get_model_by_id(r2.glyph.id)

        def on_alpha(attr: str, old: Any, new: Any, w: int = w) -> None:
            t = time.perf_counter()
            with lock:
                t0 = sent.get(round(new, 6))
                if t0 is not None:
                    latencies.append((t - t0) * 1000.0)
                counts[w] += 1
                if all(c >= updates for c in counts):
                    done.set()

        line.on_change("line_alpha", on_alpha)
    try:
        doc.add_periodic_callback(update, period_ms)
        if not done.wait(updates * period_ms / 1000.0 * 4 + 30):
            raise SystemExit(f"periodic updates did not all arrive: {counts} of {updates}")
        for s in sessions:
            s.force_roundtrip()
    finally:
        for s in sessions:
            s.close()
        a.close()
    ok = len(latencies) == updates * watchers and all(c == updates for c in counts)
    return {
        "bench": "client_periodic_50ms",
        "system": "docsync",
        "watchers": watchers,
        "updates": updates,
        "median_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "correct": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    parser.add_argument(
        "--watchers", default="1,20", help="periodic-update runs: numbers of watching clients ('' to skip)"
    )
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_server()
    results = []
    try:
        results.append(round_trip(url, args.changes))
        for n in [int(w) for w in args.watchers.split(",") if w.strip()]:
            results.append(periodic_updates(url, n))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    for r in results:
        verdict = "every change arrived once, in order" if r["correct"] else "WRONG: changes lost or repeated"
        if r["bench"] == "client_round_trip":
            print(
                f"docsync client round trip over {r['changes']} changes: median {r['median_ms']:.2f} ms, "
                f"p90 {r['p90_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms ({verdict})"
            )
        else:
            print(
                f"docsync 50 ms periodic update, {r['watchers']} watching client(s), {r['updates']} updates: "
                f"latency median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms ({verdict})"
            )
    for r in results:
        print(json.dumps(r))
    if not all(r["correct"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
