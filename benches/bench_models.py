"""Python model layer: one property set + record, and building a 2,000-model document.

    .venv/bin/python -m benches.bench_models [--quick]

Prints docsync figures only (the Bokeh comparison lives in the benchmark suite). Each
workload checks its own result. Build the engine with the release profile
(scripts/setup.sh does) — a debug build makes every engine call several times slower.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any, Callable

from docsync import _core
from docsync.document import Document
from docsync.layouts import column
from docsync.models import Button, Slider
from docsync.plotting import figure


def _per_call(fn: Callable[[], Any], number: int, repeat: int) -> tuple[float, float]:
    """(median, best) seconds per call over ``repeat`` batches of ``number`` calls."""
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - t0) / number)
    finally:
        gc.enable()
    return statistics.median(times), min(times)


class _NullEngine:
    """Stands in for the Rust engine to isolate the Python layer's own cost."""

    def set(self, id: str, prop: str, value: Any) -> Any:
        return None

    def get(self, id: str, prop: str) -> Any:
        return 0.5


def bench_set(number: int, repeat: int) -> dict[str, tuple[float, float]]:
    doc = Document()
    p = figure()
    r = p.line([1, 2, 3], [4, 5, 6])
    s = Slider(start=0, end=10)
    doc.add_root(column(p, s))
    doc._flush()
    glyph = r.glyph
    values = [0.25, 0.75]
    i = [0]

    def set_float() -> None:  # Slider.value: a plain float property
        i[0] ^= 1
        s.value = values[i[0]]

    def set_spec() -> None:  # Line.line_alpha: a data spec (value or field)
        i[0] ^= 1
        glyph.line_alpha = values[i[0]]

    engine = doc._engine
    sid = s.id

    def engine_only() -> None:
        i[0] ^= 1
        engine.set(sid, "value", values[i[0]])

    out = {
        "set Slider.value (python + engine)": _per_call(set_float, number, repeat),
        "set Line.line_alpha (python + engine)": _per_call(set_spec, number, repeat),
        "engine.set alone": _per_call(engine_only, number, repeat),
        "get Slider.value": _per_call(lambda: s.value, number, repeat),
    }
    # correctness: the last value is recorded once, coalesced
    patch = doc._flush()
    assert patch is not None
    sets = [e for e in patch.events() if e["k"] == "set" and e["id"] == sid]
    assert len(sets) == 1 and sets[0]["value"] == s.value, sets

    real = doc._engine
    doc._engine = _NullEngine()
    try:
        out["python layer alone (Slider.value)"] = _per_call(set_float, number, repeat)
        out["python layer alone (Line.line_alpha)"] = _per_call(set_spec, number, repeat)
    finally:
        doc._engine = real
    return out


def build_document(n_models: int) -> Document:
    """A Column of sliders and buttons: n_models models in total (with the Column)."""
    doc = Document()
    children = []
    for k in range(n_models - 1):
        children.append(Slider(start=0, end=100, value=k % 100, title=f"s{k}") if k % 2 else Button(label=f"b{k}"))
    doc.add_root(column(children))
    return doc


def bench_build(n_models: int, repeat: int) -> dict[str, tuple[float, float]]:
    times, flush_times = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        doc = build_document(n_models)
        t1 = time.perf_counter()
        patch = doc._flush()
        message = patch.to_message(1) if patch is not None else b""
        t2 = time.perf_counter()
        times.append(t1 - t0)
        flush_times.append(t2 - t1)
        assert len(doc._engine.model_ids()) == n_models
        assert len(message) > 0 and _core.decode_message(message).type == "patch"
    return {
        f"build {n_models} models + add_root": (statistics.median(times), min(times)),
        f"flush + encode the {n_models}-model patch": (statistics.median(flush_times), min(flush_times)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    number, repeat = (2_000, 5) if args.quick else (20_000, 9)
    print(f"docsync {_core.__version__} python model layer: median (best) of {repeat} batches")
    for name, (med, best) in bench_set(number, repeat).items():
        print(f"  {name:45s} {med * 1e6:8.2f} µs ({best * 1e6:.2f})")
    for name, (med, best) in bench_build(2000, 3 if args.quick else 7).items():
        print(f"  {name:45s} {med * 1e3:8.2f} ms ({best * 1e3:.2f})")


if __name__ == "__main__":
    main()
