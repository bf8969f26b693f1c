"""Running session work off the I/O loop: in order per session, on few threads, with few
wake-ups.

All sessions share one :class:`SessionPool` of worker threads; each session owns a
:class:`SerialQueue` on it. Jobs of one session run one at a time in submission order (app
code, client patches, callbacks, snapshots), so the document is never touched by two
threads at once; jobs of different sessions may run in parallel, and after each job a
session goes to the back of the ready line (round robin), so one busy session cannot
starve the others.

Why not a ``ThreadPoolExecutor`` with timers on the I/O loop: on a typical (virtual)
machine, waking a sleeping thread costs 0.1–0.3 ms of CPU, ten times the work of a
typical streaming callback. The old path (loop timer → worker → loop → socket) woke three
threads per update. Here:

* **Timers live in the pool.** One idle thread, the *keeper*, sleeps until the next
  deadline and then runs the callback itself; with the session's direct socket writes
  (:mod:`docsync.server.writer`) an update costs one wake-up.
* **Periodic deadlines are rounded up to a common grid** (the period, at most 50 ms), so
  the periodic callbacks of many sessions with the same period run in one wake-up.
* **A thread that finishes a job takes the next ready one without sleeping.** Another
  thread is woken only when there is work that the running ones might hold up: ready jobs
  of other sessions, or timers of other sessions. Woken as keeper, it helps only when the
  running threads make no progress for :data:`HELP_AFTER` (5 ms) — a callback that sleeps
  2 s delays other sessions by about that much, not 2 s.

The bookkeeping (queues, ready line, timer heap, who sleeps and who is woken) and the
sleeping itself live in the engine, ``docsync._core.PoolCore``
(``rust/docsync-py/src/pool.rs``): in Python they were ~70 lines per wake-up, all run
with cold caches. A worker is a Python thread looping on ``PoolCore.next_job``, which
returns its next job and sleeps (GIL released) while there is none; at interpreter exit
the pools are stopped so that no worker sleeps in the engine while the interpreter
finalizes.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import math
import os
import threading
import time
import weakref
from typing import Any, Callable

from docsync._core import PoolCore

__all__ = ["SessionPool", "SerialQueue", "TimerHandle", "default_pool", "busy_threads", "run_awaitable"]

log = logging.getLogger("docsync.server")

HELP_AFTER = 0.005  # seconds without progress before an idle thread helps with waiting jobs
GRID = 0.05  # periodic deadlines are rounded up to multiples of min(period, GRID)

_pool: "SessionPool | None" = None
_pool_lock = threading.Lock()


def default_pool(max_workers: int | None = None) -> "SessionPool":
    """The process-wide pool for session work (created on first use). Its size is
    ``DOCSYNC_WORKER_THREADS`` (default 16): how many sessions can run app code at the
    same time (callbacks that sleep or wait for I/O each hold a thread)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            size = max_workers or int(os.environ.get("DOCSYNC_WORKER_THREADS", "") or 16)
            _pool = SessionPool(max(1, size))
        return _pool


def busy_threads() -> int:
    """Pool threads running a job now (used at shutdown)."""
    return 0 if _pool is None else _pool.running


class TimerHandle:
    """A timer of the pool; ``cancel()`` from any thread."""

    __slots__ = ("_core", "_id", "_deadline", "period", "cancelled")

    def __init__(self, core: PoolCore, timer_id: int, deadline: float, period: float | None) -> None:
        self._core = core
        self._id = timer_id
        self._deadline = deadline
        self.period = period
        self.cancelled = False

    @property
    def deadline(self) -> float:
        """When it fires next (``time.monotonic()`` seconds); a one-shot's keeps its own."""
        d = self._core.timer_deadline(self._id)
        return self._deadline if d is None else d

    def cancel(self) -> None:
        self.cancelled = True
        self._core.cancel(self._id)


class SerialQueue:
    """Runs submitted callables one at a time, in order, on a :class:`SessionPool`."""

    __slots__ = ("_core", "_id", "_closed", "__weakref__")

    def __init__(self, pool: "SessionPool | None" = None) -> None:
        self._core = (pool or default_pool())._core
        self._id = self._core.new_queue()
        self._closed = False

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # also at interpreter exit
            self._core.release_queue(self._id)

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if not self._core.submit(self._id, fn, fut):
            fut.set_exception(RuntimeError("session queue closed"))
        return fut

    async def run(self, fn: Callable[[], Any]) -> Any:
        """Submit from the event loop and await the result."""
        return await asyncio.wrap_future(self.submit(fn))

    def call_later(self, delay: float, fn: Callable[[], Any]) -> TimerHandle:
        """Run ``fn`` as a job of this queue after ``delay`` seconds."""
        deadline = time.monotonic() + max(0.0, delay)
        return TimerHandle(self._core, self._core.add_timer(self._id, fn, deadline), deadline, None)

    def call_every(self, period: float, fn: Callable[[], Any]) -> TimerHandle:
        """Run ``fn`` as a job of this queue every ``period`` seconds, the first time after
        one period (rounded up to the grid). A firing while the previous run is queued
        or running is skipped: runs never pile up."""
        period = max(0.001, period)
        grid = min(period, GRID)
        first = math.ceil((time.monotonic() + period) / grid) * grid
        return TimerHandle(self._core, self._core.add_timer(self._id, fn, first, period), first, period)

    def pending(self) -> int:
        return int(self._core.pending(self._id))

    def close(self) -> None:
        """Refuse new jobs; queued ones still run."""
        self._closed = True
        self._core.close(self._id)

    @property
    def closed(self) -> bool:
        return self._closed


class SessionPool:
    """Worker threads running :class:`SerialQueue` jobs and their timers (see the module
    docstring for the policy; the scheduling state lives in ``docsync._core.PoolCore``)."""

    def __init__(self, max_workers: int = 16, help_after: float = HELP_AFTER) -> None:
        self.max_workers = max_workers
        self.help_after = help_after
        self._core = PoolCore(max_workers, help_after, self._start_worker)
        self._threads: list[threading.Thread] = []
        _pools.add(self)

    @property
    def running(self) -> int:
        return int(self._core.running)

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` once, outside any session."""
        return SerialQueue(self).submit(lambda: fn(*args))

    def _start_worker(self, index: int) -> None:
        t = threading.Thread(target=self._work, args=(index,), name=f"docsync-session_{index}", daemon=True)
        self._threads.append(t)
        t.start()

    def _work(self, index: int) -> None:
        """A worker thread: take the next job from the core (which sleeps until there is
        one), run it, repeat; until the pool stops."""
        next_job = self._core.next_job
        while True:
            job = next_job(index)
            if job is None:
                return
            fn, fut = job
            if fut is None:
                try:
                    fn()
                except BaseException:
                    log.exception("error in a session job")
            elif fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as e:  # delivered to whoever awaits the job
                    fut.set_exception(e)
            del job, fn, fut  # no reference kept while sleeping


_pools: "weakref.WeakSet[SessionPool]" = weakref.WeakSet()


@atexit.register
def _stop_pools() -> None:
    """At interpreter exit: stop every pool and give its sleeping workers a moment to
    leave the engine (see ``PoolCore.stop``); a worker busy in a job is not waited for
    beyond one second."""
    pools = list(_pools)
    for pool in pools:
        pool._core.stop()
    deadline = time.monotonic() + 1.0
    for pool in pools:
        for t in pool._threads:
            t.join(max(0.0, deadline - time.monotonic()))


_thread_loops = threading.local()


def run_awaitable(awaitable: Any) -> Any:
    """Run a coroutine returned by an app callback to completion in this worker thread
    (each pool thread keeps its own event loop), so async callbacks stay off the I/O loop
    and in order with the session's other work."""
    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _thread_loops.loop = loop
    return loop.run_until_complete(awaitable)
