"""Metrics counters, including a session's lock-free Tally: every value is counted once,
while the session lives and after it is released (counters never go backwards)."""

from __future__ import annotations

import threading
import types

from docsync.document import Document
from docsync.models import Slider
from docsync.server.metrics import Metrics
from docsync.server.session import ServerSession


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in /metrics text")


def test_live_tally_is_rendered_and_retired_once() -> None:
    m = Metrics()
    m.inc("docsync_callbacks_total", 2, app="a")
    t = m.tally(m.key("docsync_callbacks_total", app="a"), m.key("docsync_bytes_out_total"))
    t.values[0] += 3
    t.values[1] += 100
    assert m.get("docsync_callbacks_total", app="a") == 5
    assert _value(m.render(), 'docsync_callbacks_total{app="a"}') == 5
    assert _value(m.render(), "docsync_bytes_out_total") == 100
    m.retire(t)
    m.retire(t)  # idempotent: not added twice
    assert m.get("docsync_callbacks_total", app="a") == 5
    assert _value(m.render(), "docsync_bytes_out_total") == 100


def test_render_while_tallies_come_and_go_never_decreases() -> None:
    m = Metrics()
    key = m.key("docsync_callbacks_total", app="a")
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            t = m.tally(key)
            t.values[0] += 1
            m.retire(t)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        last = 0.0
        for _ in range(2000):
            now = m.get("docsync_callbacks_total", app="a")
            assert now >= last
            last = now
    finally:
        stop.set()
        worker.join()
    assert m.get("docsync_callbacks_total", app="a") > 0


def test_session_counters_survive_its_release() -> None:
    m = Metrics()
    doc = Document()
    slider = Slider(start=0, end=10, value=1)
    doc.add_root(slider)
    session = ServerSession("s1", doc, types.SimpleNamespace(), None, metrics=m, app_name="app")

    def change() -> None:
        slider.value = 2

    session.queue.submit(lambda: session.run_in_document(change)).result(5)
    assert m.get("docsync_callbacks_total", app="app") == 1
    assert m.get("docsync_patches_encoded_total") == 1
    assert m.get("docsync_callback_seconds_total", app="app") > 0
    session.queue.submit(session.release).result(5)
    assert m.get("docsync_callbacks_total", app="app") == 1
    assert m.get("docsync_patches_encoded_total") == 1
