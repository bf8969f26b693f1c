"""SessionPool / SerialQueue with real threads: ordering, parallelism, timers, limits.

Every test uses its own ``SessionPool`` (never the process-wide default pool), so tests
stay independent; the pool threads are daemons and simply sleep once a test is over.
Timing bounds are generous (the test machine may have 2 loaded cores): they separate
"about the delay" from "held up by a 1-second job", nothing finer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import random
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from docsync.server import executor
from docsync.server.executor import GRID, SerialQueue, SessionPool, TimerHandle, busy_threads, default_pool, run_awaitable

#: How late a job or timer of a free queue may start while another queue's job blocks
#: a thread (the pool's policy is HELP_AFTER = 5 ms plus a thread wake-up).
LATE = 0.15


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        time.sleep(0.002)


@pytest.fixture
def pool() -> SessionPool:
    return SessionPool(max_workers=4)


@pytest.fixture
def blocker() -> Iterator[threading.Event]:
    """An event that blocking jobs wait on; always set at teardown so no thread stays stuck."""
    ev = threading.Event()
    yield ev
    ev.set()


# ---------------------------------------------------------------------- one queue: order
def test_one_queue_runs_in_submission_order_never_concurrently(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    others = [SerialQueue(pool) for _ in range(3)]  # keep other threads of the pool busy
    submitted: list[tuple[int, int]] = []
    executed: list[tuple[int, int]] = []
    order_lock = threading.Lock()
    guard = threading.Lock()
    active = 0
    overlaps = 0
    threads_used: set[int] = set()
    futures: list[concurrent.futures.Future[Any]] = []

    def job(tag: tuple[int, int]) -> tuple[int, int]:
        nonlocal active, overlaps
        with guard:
            active += 1
            if active > 1:
                overlaps += 1
        executed.append(tag)  # only this queue's jobs append: list order = run order
        threads_used.add(threading.get_ident())
        if tag[1] % 7 == 0:
            time.sleep(0.0005)  # give the other threads a chance to (wrongly) step in
        with guard:
            active -= 1
        return tag

    def submitter(k: int) -> None:
        rnd = random.Random(k)
        for i in range(250):
            with order_lock:
                submitted.append((k, i))
                futures.append(q.submit(lambda tag=(k, i): job(tag)))
            others[rnd.randrange(3)].submit(lambda: time.sleep(0))
            if rnd.random() < 0.05:
                time.sleep(0.0002)

    ts = [threading.Thread(target=submitter, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    done, not_done = concurrent.futures.wait(futures, timeout=20)
    assert not not_done, f"{len(not_done)} jobs never ran"
    assert overlaps == 0, "two jobs of one queue ran at the same time"
    assert executed == submitted
    assert [f.result() for f in futures] == submitted
    assert q.pending() == 0
    assert len(threads_used) <= pool.max_workers


def test_round_robin_between_ready_queues() -> None:
    """After each job a queue goes to the back of the ready line."""
    pool = SessionPool(max_workers=1)
    gate = threading.Event()
    started = threading.Event()
    log: list[str] = []
    c = SerialQueue(pool)
    a = SerialQueue(pool)
    b = SerialQueue(pool)
    c.submit(lambda: (started.set(), gate.wait(10)))
    assert started.wait(10)
    futs = [a.submit(lambda i=i: log.append(f"a{i}")) for i in range(3)]
    futs += [b.submit(lambda i=i: log.append(f"b{i}")) for i in range(3)]
    assert a.pending() == 3 and b.pending() == 3
    gate.set()
    concurrent.futures.wait(futs, timeout=10)
    assert log == ["a0", "b0", "a1", "b1", "a2", "b2"]


# ---------------------------------------------------------------------- parallelism
def test_blocked_queue_does_not_hold_up_other_queues(pool: SessionPool, blocker: threading.Event) -> None:
    a, b = SerialQueue(pool), SerialQueue(pool)
    a_started = threading.Event()
    a_done = threading.Event()

    def slow() -> None:  # "sleeps 1 s" — but ends early once the test has its answer
        a_started.set()
        blocker.wait(1.0)
        a_done.set()

    a.submit(slow)
    assert a_started.wait(10)
    t_block = time.monotonic()

    # B's jobs: each starts soon after it is submitted, while A still sleeps
    lateness: list[float] = []
    for _ in range(5):
        t0 = time.monotonic()
        started_at = b.submit(time.monotonic).result(timeout=10)
        lateness.append(started_at - t0)
    # B's one-shot and periodic timers fire on time as well
    fired: list[float] = []
    t0 = time.monotonic()
    b.call_later(0.05, lambda: fired.append(time.monotonic()))
    ticks: list[float] = []
    h = b.call_every(0.05, lambda: ticks.append(time.monotonic()))
    wait_for(lambda: len(ticks) >= 4 and fired, timeout=5, what="B's timers")
    h.cancel()
    assert not a_done.is_set() and time.monotonic() - t_block < 1.0, "B only ran after A's job (test too slow?)"
    blocker.set()

    assert max(lateness) < LATE, lateness
    assert 0.05 <= fired[0] - t0 < 0.05 + LATE
    gaps = [y - x for x, y in zip(ticks, ticks[1:])]
    assert all(g < 0.05 + LATE for g in gaps), gaps
    assert a_done.wait(10)


def test_timer_of_other_queue_fires_while_every_thread_but_one_blocks(blocker: threading.Event) -> None:
    pool = SessionPool(max_workers=2)
    a, b = SerialQueue(pool), SerialQueue(pool)
    started = threading.Event()
    a.submit(lambda: (started.set(), blocker.wait(10)))
    assert started.wait(10)
    t0 = time.monotonic()
    fired = concurrent.futures.Future[float]()
    b.call_later(0.1, lambda: fired.set_result(time.monotonic()))
    assert 0.1 <= fired.result(timeout=5) - t0 < 0.1 + LATE


# ---------------------------------------------------------------------- asyncio
def test_run_from_asyncio_returns_results_and_raises(pool: SessionPool) -> None:
    q = SerialQueue(pool)

    def boom() -> None:
        raise ValueError("boom")

    async def main() -> tuple[int, int, int]:
        loop_thread = threading.get_ident()
        job_thread = await q.run(threading.get_ident)
        assert job_thread != loop_thread, "the job ran on the event loop's thread"
        with pytest.raises(ValueError, match="boom"):
            await q.run(boom)
        results = await asyncio.gather(*(q.run(lambda i=i: i * i) for i in range(20)))
        assert results == [i * i for i in range(20)]
        return await q.run(lambda: 41 + 1), job_thread, loop_thread

    value, _, _ = asyncio.run(main())
    assert value == 42


def test_pool_submit_runs_function_with_args(pool: SessionPool) -> None:
    assert pool.submit(lambda x, y: x + y, 2, 3).result(timeout=10) == 5


def test_run_awaitable_in_worker_thread(pool: SessionPool) -> None:
    q = SerialQueue(pool)

    async def coro(x: int) -> tuple[int, Any]:
        await asyncio.sleep(0.001)
        return x * 2, asyncio.get_running_loop()

    def job() -> tuple[int, int, bool]:
        r1, loop1 = run_awaitable(coro(1))
        r2, loop2 = run_awaitable(coro(2))
        return r1, r2, loop1 is loop2

    assert q.submit(job).result(timeout=10) == (2, 4, True)


# ---------------------------------------------------------------------- close
def test_closed_queue_refuses_new_jobs_but_runs_queued_ones(pool: SessionPool, blocker: threading.Event) -> None:
    q = SerialQueue(pool)
    started = threading.Event()
    first = q.submit(lambda: (started.set(), blocker.wait(10))[1])
    assert started.wait(10)
    queued = [q.submit(lambda i=i: i) for i in range(3)]
    assert q.pending() == 3
    q.close()
    assert q.closed
    refused = q.submit(lambda: "never")
    assert refused.done()
    assert isinstance(refused.exception(timeout=0), RuntimeError)
    timer_ran: list[int] = []
    q.call_later(0.0, lambda: timer_ran.append(1))  # a timer of a closed queue never runs
    blocker.set()
    assert first.result(timeout=10) is True
    assert [f.result(timeout=10) for f in queued] == [0, 1, 2]
    time.sleep(0.1)
    assert timer_ran == []
    assert q.pending() == 0


# ---------------------------------------------------------------------- one-shot timers
def test_call_later_fires_once_after_delay(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    runs: list[float] = []
    t0 = time.monotonic()
    h = q.call_later(0.1, lambda: runs.append(time.monotonic()))
    assert isinstance(h, TimerHandle)
    wait_for(lambda: runs, timeout=5, what="call_later")
    assert 0.1 <= runs[0] - t0 < 0.1 + LATE
    time.sleep(0.2)
    assert len(runs) == 1
    h.cancel()  # cancelling a fired timer is harmless


def test_call_later_runs_in_order_with_the_queues_jobs(pool: SessionPool, blocker: threading.Event) -> None:
    q = SerialQueue(pool)
    log: list[str] = []
    active = threading.Lock()

    def step(name: str, wait: bool = False) -> None:
        assert active.acquire(blocking=False), "two jobs of one queue at once"
        try:
            log.append(name)
            if wait:
                blocker.wait(10)
        finally:
            active.release()

    q.submit(lambda: step("job", wait=True))
    q.call_later(0.01, lambda: step("timer"))
    time.sleep(0.1)  # the timer is due but its queue is busy
    assert log == ["job"]
    blocker.set()
    wait_for(lambda: len(log) == 2, timeout=5)
    assert log == ["job", "timer"]


def test_cancelled_call_later_never_runs(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    runs: list[str] = []
    h = q.call_later(0.1, lambda: runs.append("cancelled"))
    keep = q.call_later(0.15, lambda: runs.append("kept"))
    h.cancel()
    h.cancel()  # twice is fine
    wait_for(lambda: runs, timeout=5)
    time.sleep(0.1)
    assert runs == ["kept"]
    assert not keep.cancelled


def test_many_timers_fire_in_deadline_order(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    fired: list[int] = []
    delays = list(range(20))
    random.Random(1).shuffle(delays)
    for d in delays:
        q.call_later(0.05 + d * 0.01, lambda d=d: fired.append(d))
    wait_for(lambda: len(fired) == 20, timeout=10, what="20 timers")
    assert fired == sorted(fired)


# ---------------------------------------------------------------------- periodic timers
@pytest.mark.parametrize("period", [0.03, 0.1])
def test_call_every_first_run_after_a_period_and_deadlines_on_the_grid(pool: SessionPool, period: float) -> None:
    grid = min(period, GRID)
    q = SerialQueue(pool)
    runs: list[tuple[float, float]] = []  # (run time, the handle's next deadline)
    holder: list[TimerHandle] = []

    def tick() -> None:
        runs.append((time.monotonic(), holder[0].deadline))

    t0 = time.monotonic()
    holder.append(q.call_every(period, tick))
    wait_for(lambda: len(runs) >= 5, timeout=10, what="5 periodic runs")
    holder[0].cancel()
    assert runs[0][0] >= t0 + period, "first run before one period"
    for t, nxt in runs:
        k = nxt / grid
        assert abs(k - round(k)) < 1e-6, f"deadline {nxt} not a multiple of {grid}"
        assert nxt - period <= t + 1e-9, "ran before its deadline"
        assert t < nxt - period + 0.5, "ran far too late"
    deadlines = [nxt for _, nxt in runs]
    assert all(y > x for x, y in zip(deadlines, deadlines[1:]))
    for x, y in zip(deadlines, deadlines[1:]):
        steps = (y - x) / period
        assert abs(steps - round(steps)) < 1e-6


def test_call_every_of_two_queues_share_deadlines(pool: SessionPool) -> None:
    """Same period, started at different times: the deadlines line up (one wake-up)."""
    qa, qb = SerialQueue(pool), SerialQueue(pool)
    da: list[float] = []
    db: list[float] = []
    ha: list[TimerHandle] = []
    hb: list[TimerHandle] = []
    ha.append(qa.call_every(0.04, lambda: da.append(ha[0].deadline)))
    time.sleep(0.013)
    hb.append(qb.call_every(0.04, lambda: db.append(hb[0].deadline)))
    wait_for(lambda: len(da) >= 5 and len(db) >= 5, timeout=10)
    ha[0].cancel()
    hb[0].cancel()
    common = {round(d / 0.04) for d in da} & {round(d / 0.04) for d in db}
    assert len(common) >= 2, (da, db)


def test_slow_periodic_job_skips_firings_instead_of_piling_up(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    runs: list[tuple[float, float]] = []
    active = threading.Lock()
    max_pending = 0

    def slow_tick() -> None:
        nonlocal max_pending
        assert active.acquire(blocking=False)
        start = time.monotonic()
        max_pending = max(max_pending, q.pending())
        time.sleep(0.1)  # five periods
        runs.append((start, time.monotonic()))
        active.release()

    h = q.call_every(0.02, slow_tick)
    time.sleep(0.62)
    h.cancel()
    n = len(runs)
    time.sleep(0.25)
    # 0.62 s / 0.1 s per run: about 5 runs (25 firings); never more than back to back
    assert 2 <= n <= 7, n
    assert len(runs) <= n + 1  # at most the run in progress at cancel() finishes
    assert max_pending == 0, "a firing was queued while the previous run was running"
    for (_, end), (start, _) in zip(runs, runs[1:]):
        assert start >= end


def test_cancel_stops_call_every(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1

    h = q.call_every(0.01, tick)
    wait_for(lambda: count >= 3, timeout=5)
    h.cancel()
    at_cancel = count
    time.sleep(0.15)
    assert count <= at_cancel + 1
    assert h.cancelled


def test_call_every_cancelled_from_its_own_job(pool: SessionPool) -> None:
    q = SerialQueue(pool)
    runs: list[int] = []
    holder: list[TimerHandle] = []

    def tick() -> None:
        runs.append(1)
        if len(runs) == 3:
            holder[0].cancel()

    holder.append(q.call_every(0.01, tick))
    wait_for(lambda: len(runs) >= 3, timeout=5)
    time.sleep(0.1)
    assert len(runs) == 3


# ---------------------------------------------------------------------- errors
def test_exception_in_job_is_logged_and_pool_keeps_working(pool: SessionPool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="docsync.server")
    q = SerialQueue(pool)

    def boom() -> None:
        raise RuntimeError("timer boom")

    q.call_later(0.0, boom)
    wait_for(lambda: any(r.exc_info and "timer boom" in str(r.exc_info[1]) for r in caplog.records), timeout=5)
    rec = next(r for r in caplog.records if r.exc_info)
    assert rec.name == "docsync.server" and rec.levelno == logging.ERROR

    # an exception of a submitted job goes to its future; the queue goes on
    bad = q.submit(boom)
    good = q.submit(lambda: "ok")
    assert isinstance(bad.exception(timeout=10), RuntimeError)
    assert good.result(timeout=10) == "ok"

    # a periodic job that raises keeps firing
    n = 0

    def flaky() -> None:
        nonlocal n
        n += 1
        raise KeyError(n)

    h = q.call_every(0.01, flaky)
    wait_for(lambda: n >= 3, timeout=5, what="periodic job after errors")
    h.cancel()
    assert SerialQueue(pool).submit(lambda: 7).result(timeout=10) == 7


# ---------------------------------------------------------------------- threads
def test_never_more_threads_than_max_workers(blocker: threading.Event) -> None:
    pool = SessionPool(max_workers=3)
    started: list[int] = []
    lock = threading.Lock()
    before = {t.ident for t in threading.enumerate()}

    def block() -> int:
        with lock:
            started.append(threading.get_ident())
        blocker.wait(10)
        return threading.get_ident()

    queues = [SerialQueue(pool) for _ in range(8)]
    futs = [q.submit(block) for q in queues]
    ticks: list[int] = []
    h = queues[0].call_every(0.01, lambda: ticks.append(1))  # timers must not add threads
    wait_for(lambda: len(started) == 3, timeout=10, what="3 jobs running")
    time.sleep(0.2)
    assert len(started) == 3
    assert pool.running == 3
    new_threads = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("docsync-session")]
    assert len(new_threads) == 3
    blocker.set()
    idents = {f.result(timeout=10) for f in futs}
    h.cancel()
    assert len(idents) <= 3
    new_threads = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("docsync-session")]
    assert len(new_threads) <= 3
    wait_for(lambda: pool.running == 0, timeout=5)


def test_busy_threads_counts_running_jobs_of_the_default_pool(monkeypatch: pytest.MonkeyPatch, blocker: threading.Event) -> None:
    monkeypatch.setattr(executor, "_pool", None)
    assert busy_threads() == 0
    pool = SessionPool(max_workers=4)
    monkeypatch.setattr(executor, "_pool", pool)
    assert default_pool() is pool
    assert busy_threads() == 0
    started = threading.Semaphore(0)
    futs = [SerialQueue(pool).submit(lambda: (started.release(), blocker.wait(10))) for _ in range(2)]
    for _ in range(2):
        assert started.acquire(timeout=10)
    assert busy_threads() == 2
    blocker.set()
    concurrent.futures.wait(futs, timeout=10)
    wait_for(lambda: busy_threads() == 0, timeout=5, what="no busy thread")


# ---------------------------------------------------------------------- stress
def test_stress_free_queues_never_wait_for_a_blocked_one(blocker: threading.Event) -> None:
    """Submitters on several threads, short jobs, timers coming and going, while one
    queue holds a thread for the whole test: every job of the other queues starts soon
    after it is submitted (help within HELP_AFTER, never after the blocked job)."""
    pool = SessionPool(max_workers=4)
    stuck = SerialQueue(pool)
    started = threading.Event()
    stuck.submit(lambda: (started.set(), blocker.wait(30)))
    assert started.wait(10)
    worst: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 1.5

    def submitter(k: int) -> None:
        rnd = random.Random(k)
        queues = [SerialQueue(pool) for _ in range(3)]
        handles: list[TimerHandle] = []
        while time.monotonic() < stop:
            q = queues[rnd.randrange(3)]
            r = rnd.random()
            if r < 0.2:
                handles.append(q.call_later(rnd.choice([0.0, 0.001, 0.01, 5.0]), lambda: None))
            elif r < 0.25 and handles:
                handles.pop(rnd.randrange(len(handles))).cancel()
            else:
                t0 = time.monotonic()
                lag = q.submit(lambda t0=t0: time.monotonic() - t0).result(timeout=10)
                with lock:
                    worst.append(lag)
            if rnd.random() < 0.3:
                time.sleep(rnd.choice([0.0, 0.0005, 0.003]))
        for h in handles:
            h.cancel()

    ts = [threading.Thread(target=submitter, args=(k,)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert worst, "no job ran"
    assert max(worst) < 0.5, f"a job waited {max(worst):.3f} s (of {len(worst)} jobs)"
    assert not math.isnan(sum(worst))


def test_queues_and_timers_are_forgotten_once_unused(pool: SessionPool) -> None:
    """The scheduling core drops a queue when its Python object is gone and it has no jobs
    or timers left, and a timer once it fired (one-shot) or was cancelled."""
    import gc

    base_queues, base_timers = pool._core.held
    done: list[int] = []
    periodic: list[TimerHandle] = []
    for i in range(200):
        q = SerialQueue(pool)
        q.submit(lambda i=i: done.append(i))
        q.call_later(0.01, lambda: done.append(-1))
        periodic.append(q.call_every(0.02, lambda: None))
        q.call_later(3600, lambda: None).cancel()  # cancelled long before it is due
    del q
    wait_for(lambda: len(done) == 400, timeout=10, what="the jobs and one-shot timers")
    assert pool._core.held[1] >= base_timers + 200  # the periodic ones are live
    for h in periodic:
        h.cancel()
    del periodic
    gc.collect()
    # cancelled entries leave the timer heap when they reach its top, whatever their
    # deadline: the keeper's next wake-up clears them all
    wait_for(lambda: pool._core.held == (base_queues, base_timers), timeout=10, what="queues and timers forgotten")


def test_interpreter_exit_with_sleeping_and_busy_workers_is_clean() -> None:
    """Workers sleep in the engine with the GIL released. At exit the pools are stopped
    first: a worker that woke up during finalization would be ended by pthread_exit
    inside Rust frames and abort the process ("FATAL: exception not rethrown", checked:
    it did, every time, before the pools were stopped at exit)."""
    import subprocess
    import sys

    code = (
        "import time\n"
        "from docsync.server.executor import SessionPool, SerialQueue\n"
        "pool = SessionPool(4)\n"
        "SerialQueue(pool).call_every(0.001, lambda: sum(range(1000)))  # a keeper waking often\n"
        "SerialQueue(pool).submit(lambda: time.sleep(30))  # a worker busy in a job\n"
        "time.sleep(0.3)\n"
        "print('done', flush=True)\n"
    )
    for _ in range(3):
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == "done" and "FATAL" not in proc.stderr
        assert time.monotonic() - t0 < 20, "exit waited for the busy job"


def test_a_stopped_pool_runs_nothing_and_its_threads_end() -> None:
    pool = SessionPool(max_workers=3)
    q = SerialQueue(pool)
    ticks: list[float] = []
    q.call_every(0.01, lambda: ticks.append(time.monotonic()))
    assert q.submit(lambda: 42).result(timeout=10) == 42
    wait_for(lambda: len(ticks) >= 3, timeout=10, what="ticks")
    pool._core.stop()
    for t in pool._threads:
        t.join(5)
        assert not t.is_alive()
    seen = len(ticks)
    time.sleep(0.1)
    assert len(ticks) == seen
