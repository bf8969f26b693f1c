"""Run the benchmark suite: `python -m benches [--quick] [--only GROUP ...]`.

Every workload runs on docsync and on the Bokeh server (or a physical floor) in
alternation in this one process run; the table of ratios is printed and written as
markdown to benches/results/ (latest.md plus a dated copy). `--quick` is the CI smoke
run: small sizes and few repeats, checking every result for correctness.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
import time
from pathlib import Path

from benches.harness import Result, WorkloadFailed, fmt_bytes, machine_description, measure_memcpy_bandwidth

#: Workload modules, each with `run(quick: bool) -> list[Result]`.
GROUPS = ["document", "core", "server", "browser", "plot"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def versions() -> dict[str, str]:
    import numpy
    import tornado

    import docsync

    out = {"docsync": docsync.__version__, "numpy": numpy.__version__, "tornado": tornado.version}
    try:
        import bokeh

        out["bokeh"] = bokeh.__version__
    except ImportError:
        out["bokeh"] = "not installed"
    return out


def render(results: list[Result], quick: bool, memcpy: float, elapsed: float) -> str:
    machine = machine_description()
    vers = versions()
    lines = [
        f"# docsync benchmarks — {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC" + (" (quick)" if quick else ""),
        "",
        f"Machine: {machine['cores']} cores, {machine['cpu']}, Python {machine['python']}, {machine['platform']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".",
        f"memcpy bandwidth measured in this run: {memcpy / 1e9:.2f} GB/s. Suite time: {elapsed:.0f} s.",
        "",
        "Each row: median (min–max) of alternating samples; ratio = baseline median / docsync median",
        "(higher is better for docsync). Sizes are bytes on the wire per call.",
        "",
        "| group | workload | unit | docsync | baseline | baseline median | ratio | docsync bytes | baseline bytes | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d, b = r.docsync, r.bokeh
        lines.append(
            f"| {r.group} | {r.name} | {r.unit} | {r.fmt(d.median)} ({r.fmt(d.low)}–{r.fmt(d.high)}) "
            f"| {r.baseline} | {r.fmt(b.median)} ({r.fmt(b.low)}–{r.fmt(b.high)}) "
            f"| {r.ratio_text} | {fmt_bytes(d.size)} | {fmt_bytes(b.size)} | {r.note} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benches", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (CI smoke run)")
    parser.add_argument("--only", nargs="*", choices=GROUPS, help="run only these groups")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    memcpy = measure_memcpy_bandwidth()
    results: list[Result] = []
    failures: list[str] = []
    for group in args.only or GROUPS:
        module = importlib.import_module(f"benches.workloads_{group}")
        print(f"== {group}", flush=True)
        try:
            for result in module.run(quick=args.quick, memcpy=memcpy):
                results.append(result)
                print(
                    f"  {result.name:<60} docsync {result.fmt(result.docsync.median):>10}  "
                    f"{result.baseline} {result.fmt(result.bokeh.median):>10}  ratio {result.ratio_text:>8}",
                    flush=True,
                )
        except WorkloadFailed as exc:
            failures.append(str(exc))
            print(f"  FAILED: {exc}", flush=True)
    report = render(results, args.quick, memcpy, time.perf_counter() - start)
    RESULTS_DIR.mkdir(exist_ok=True)
    name = "quick.md" if args.quick else "latest.md"
    if args.only:  # a partial run never overwrites the full reports
        name = ("quick-" if args.quick else "") + "only-" + "-".join(args.only) + ".md"
    (RESULTS_DIR / name).write_text(report)
    if not args.quick and not args.only:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d-%H%M")
        (RESULTS_DIR / f"{stamp}.md").write_text(report)
    print(f"report: {RESULTS_DIR / name}")
    if failures:
        print("\n".join(["workloads with wrong results:", *failures]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
