"""Timing harness: runs docsync and Bokeh in alternation, checks results, reports ratios.

Each workload gives two callables doing the same logical work, one per system, and a
check of what each produced. The harness alternates the two (so drift on a noisy machine
cancels), keeps every sample, and reports median and min–max. Nothing here asserts a
wall-clock time: speed is reported, correctness is checked.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

#: A function doing one unit of work and returning what the check needs.
Work = Callable[[], Any]


class WorkloadFailed(AssertionError):
    """A workload produced a wrong result on one of the systems."""


@dataclass
class Side:
    """One system's samples for a workload (seconds per unit of work)."""

    samples: list[float] = field(default_factory=list)
    size: int | None = None  # bytes produced (messages), when meaningful

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


@dataclass
class Result:
    group: str
    name: str
    unit: str  # what one sample measures, e.g. "per call", "per row"
    docsync: Side
    bokeh: Side
    note: str = ""
    baseline: str = "Bokeh"  # what the second system is (Bokeh, or a floor like memcpy)
    quantity: str = "seconds"  # what the samples are: "seconds" or "MiB"

    def fmt(self, value: float) -> str:
        return f"{value:.2f} MiB" if self.quantity == "MiB" else fmt_seconds(value)

    @property
    def ratio(self) -> float:
        """How many times faster docsync is (Bokeh median / docsync median); NaN when a
        median is not positive (e.g. RSS growth within the allocator's noise), where a
        ratio means nothing."""
        if self.docsync.median <= 0 or self.bokeh.median <= 0:
            return float("nan")
        return self.bokeh.median / self.docsync.median

    @property
    def ratio_text(self) -> str:
        r = self.ratio
        return "—" if r != r else f"{r:.1f}×"


def _time_once(fn: Work, number: int) -> tuple[float, Any]:
    out = None
    start = time.perf_counter()
    for _ in range(number):
        out = fn()
    return (time.perf_counter() - start) / number, out


def compare(
    group: str,
    name: str,
    docsync: Work,
    bokeh: Work,
    *,
    check_docsync: Callable[[Any], None],
    check_bokeh: Callable[[Any], None],
    repeat: int = 7,
    number: int = 1,
    baseline_number: int | None = None,
    unit: str = "per call",
    per: float = 1.0,
    size_docsync: Callable[[Any], int] | None = None,
    size_bokeh: Callable[[Any], int] | None = None,
    note: str = "",
    baseline: str = "Bokeh",
) -> Result:
    """Time `docsync` and `bokeh` alternately `repeat` times (each sample = `number` calls,
    or `baseline_number` for the baseline when its calls are far longer: a sample should
    be long next to the cold first call after the collection that starts it).

    `per` divides every sample (e.g. the number of rows, for a per-row figure). The
    checks run on the output of the first call of each system and raise WorkloadFailed.
    """
    result = Result(group, name, unit, Side(), Side(), note, baseline)
    for label, fn, check, side, sizer in (
        ("docsync", docsync, check_docsync, result.docsync, size_docsync),
        ("bokeh", bokeh, check_bokeh, result.bokeh, size_bokeh),
    ):
        out = fn()
        try:
            check(out)
        except AssertionError as exc:
            raise WorkloadFailed(f"{group} / {name}: {label} produced a wrong result: {exc}") from exc
        if sizer is not None:
            side.size = sizer(out)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for fn, side, calls in ((docsync, result.docsync, number), (bokeh, result.bokeh, baseline_number or number)):
                # Both sides start their sample right after a collection (it walks the
                # whole heap and so evicts the caches): collecting once per pair made the
                # first side always start cold and the second warm.
                gc.collect()
                seconds, _out = _time_once(fn, calls)
                side.samples.append(seconds / per)
                del _out
    finally:
        if gc_was_enabled:
            gc.enable()
    return result


def measure_memcpy_bandwidth(nbytes: int = 64 * 1024 * 1024) -> float:
    """Bytes per second of a plain memory copy on this machine (numpy copyto)."""
    import numpy as np

    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return nbytes / best


def machine_description() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.0f} ns"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return ""
    if n >= 1 << 20:
        return f"{n / (1 << 20):.2f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} B"
