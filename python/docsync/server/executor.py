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
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import heapq
import itertools
import logging
import math
import os
import threading
import time
from typing import Any, Callable

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

    __slots__ = ("pool", "queue", "fn", "deadline", "period", "in_flight", "cancelled", "armed")

    def __init__(self, pool: "SessionPool", queue: "SerialQueue", fn: Callable[[], Any], deadline: float, period: float | None) -> None:
        self.pool = pool
        self.queue = queue
        self.fn = fn
        self.deadline = deadline
        self.period = period
        self.in_flight = False
        self.cancelled = False
        self.armed = False  # in the pool's heap

    def cancel(self) -> None:
        self.pool._cancel(self)

    def __call__(self) -> None:
        """The job a firing enqueues on its queue."""
        try:
            if not self.cancelled:
                self.fn()
        finally:
            self.in_flight = False


class SerialQueue:
    """Runs submitted callables one at a time, in order, on a :class:`SessionPool`.
    Its state is guarded by the pool's lock."""

    def __init__(self, pool: "SessionPool | None" = None) -> None:
        self._pool = pool or default_pool()
        self._jobs: collections.deque[tuple[Callable[[], Any], concurrent.futures.Future[Any] | None]] = collections.deque()
        self._scheduled = False  # in the ready line or running
        self._closed = False

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._pool._submit(self, fn, fut)
        return fut

    async def run(self, fn: Callable[[], Any]) -> Any:
        """Submit from the event loop and await the result."""
        return await asyncio.wrap_future(self.submit(fn))

    def call_later(self, delay: float, fn: Callable[[], Any]) -> TimerHandle:
        """Run ``fn`` as a job of this queue after ``delay`` seconds."""
        return self._pool._add_timer(self, fn, time.monotonic() + max(0.0, delay), None)

    def call_every(self, period: float, fn: Callable[[], Any]) -> TimerHandle:
        """Run ``fn`` as a job of this queue every ``period`` seconds, the first time after
        one period (rounded up to the grid). A firing while the previous run is queued
        or running is skipped: runs never pile up."""
        period = max(0.001, period)
        grid = min(period, GRID)
        first = math.ceil((time.monotonic() + period) / grid) * grid
        return self._pool._add_timer(self, fn, first, period)

    def pending(self) -> int:
        with self._pool._lock:
            return len(self._jobs)

    def close(self) -> None:
        """Refuse new jobs; queued ones still run."""
        with self._pool._lock:
            self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


class _Worker:
    __slots__ = ("thread", "wake", "queue")

    def __init__(self) -> None:
        # a binary semaphore: held while the thread sleeps, released to wake it (cheaper
        # than a Condition: no lock allocated per wait; ~40 µs less per wake-up here)
        self.wake = threading.Lock()
        self.wake.acquire()
        self.queue: SerialQueue | None = None  # the queue whose job it runs now
        self.thread: threading.Thread | None = None

    def sleep(self, pool_lock: threading.Lock, timeout: float | None) -> None:
        """Release ``pool_lock``, sleep until woken or ``timeout``, take it again."""
        pool_lock.release()
        try:
            self.wake.acquire(True, -1 if timeout is None else timeout)
        finally:
            pool_lock.acquire()
        self.wake.acquire(False)  # a wake that raced a timeout must not end the next sleep early


class SessionPool:
    """Worker threads running :class:`SerialQueue` jobs and their timers (see the module
    docstring for the policy). One lock guards the pool and all its queues."""

    def __init__(self, max_workers: int = 16, help_after: float = HELP_AFTER) -> None:
        self.max_workers = max_workers
        self.help_after = help_after
        self._lock = threading.Lock()
        self._ready: collections.deque[SerialQueue] = collections.deque()
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._timer_owners: dict[SerialQueue, int] = {}  # live timers per queue
        self._timer_count = 0  # live timers
        self._order = itertools.count()
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []  # sleeping without a timeout (LIFO: the warmest first)
        self._keeper: _Worker | None = None  # sleeping until the next deadline
        self._keeper_until = math.inf
        self._running: list[_Worker] = []
        self._waking = 0  # notified, not yet awake
        self._progress = 0  # jobs finished
        self._firing = False  # a worker is moving due timers to the ready line (it takes them)

    @property
    def running(self) -> int:
        return len(self._running)

    # ------------------------------------------------------------------ any thread
    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` once, outside any session."""
        return SerialQueue(self).submit(lambda: fn(*args))

    def _submit(self, q: SerialQueue, fn: Callable[[], Any], fut: concurrent.futures.Future[Any] | None) -> None:
        with self._lock:
            if q._closed:
                if fut is not None:
                    fut.set_exception(RuntimeError("session queue closed"))
                return
            self._enqueue_locked(q, fn, fut)

    def _add_timer(self, q: SerialQueue, fn: Callable[[], Any], deadline: float, period: float | None) -> TimerHandle:
        handle = TimerHandle(self, q, fn, deadline, period)
        with self._lock:
            self._push_timer_locked(handle)
            if deadline < self._keeper_until:
                if self._keeper is not None:
                    self._wake_locked(self._keeper)  # it sleeps past the new deadline
                elif not self._waking and not (self._running and self._only_own_timers_locked()):
                    self._wake_idle_locked()
        return handle

    def _cancel(self, handle: TimerHandle) -> None:
        with self._lock:
            handle.cancelled = True
            if handle.armed:
                self._forget_timer_locked(handle)

    # ------------------------------------------------------------------ lock held
    def _enqueue_locked(self, q: SerialQueue, fn: Callable[[], Any], fut: concurrent.futures.Future[Any] | None) -> None:
        q._jobs.append((fn, fut))
        if q._scheduled:
            return
        q._scheduled = True
        self._ready.append(q)
        if self._waking or self._firing:
            return
        if not self._running:
            if self._keeper is not None:
                self._wake_locked(self._keeper)
            else:
                self._wake_idle_locked()
        elif self._keeper is None:
            self._wake_idle_locked()  # someone must watch for a stuck job
        elif self._keeper_until > time.monotonic() + self.help_after:
            self._wake_locked(self._keeper)  # re-time its watch

    def _push_timer_locked(self, handle: TimerHandle) -> None:
        heapq.heappush(self._timers, (handle.deadline, next(self._order), handle))
        handle.armed = True
        self._timer_owners[handle.queue] = self._timer_owners.get(handle.queue, 0) + 1
        self._timer_count += 1

    def _forget_timer_locked(self, handle: TimerHandle) -> None:
        handle.armed = False
        self._timer_count -= 1
        left = self._timer_owners[handle.queue] - 1
        if left:
            self._timer_owners[handle.queue] = left
        else:
            del self._timer_owners[handle.queue]

    def _fire_due_locked(self, now: float) -> None:
        """Move the due timers to the ready line (the caller saw the first one due)."""
        self._firing = True
        try:
            self._fire_locked(now)
        finally:
            self._firing = False

    def _fire_locked(self, now: float) -> None:
        timers = self._timers
        while timers and (timers[0][2].cancelled or timers[0][0] <= now):
            if timers[0][2].cancelled:
                heapq.heappop(timers)
                continue
            h = timers[0][2]
            if h.period is not None:  # re-armed in place: same handle, same counts
                while h.deadline <= now:
                    h.deadline += h.period
                heapq.heapreplace(timers, (h.deadline, next(self._order), h))
                if h.in_flight:
                    continue  # the previous run is not done: skip this one
                h.in_flight = True
            else:
                heapq.heappop(timers)
                self._forget_timer_locked(h)
            if h.queue._closed:
                continue
            self._enqueue_locked(h.queue, h, None)

    def _only_own_timers_locked(self) -> bool:
        """True when every live timer belongs to a queue that is running now (such a
        timer cannot be held up by the running job more than the job itself holds it)."""
        own = 0
        owners = self._timer_owners
        for w in self._running:
            if w.queue is not None:
                own += owners.get(w.queue, 0)
        return own >= self._timer_count

    def _needs_keeper_locked(self) -> bool:
        return bool(self._ready) or (self._timer_count > 0 and not self._only_own_timers_locked())

    def _wake_locked(self, w: _Worker) -> None:
        self._waking += 1
        if w.wake.locked():
            w.wake.release()
        # a woken keeper is no longer watching; a woken idle one left the stack
        if self._keeper is w:
            self._keeper = None
            self._keeper_until = math.inf
        elif w in self._idle:
            self._idle.remove(w)

    def _wake_idle_locked(self) -> None:
        if self._idle:
            self._wake_locked(self._idle[-1])
        elif len(self._workers) < self.max_workers:
            w = _Worker()
            self._workers.append(w)
            self._waking += 1
            w.thread = threading.Thread(
                target=self._work, args=(w,), name=f"docsync-session_{len(self._workers) - 1}", daemon=True
            )
            w.thread.start()

    # ------------------------------------------------------------------ worker threads
    def _work(self, me: _Worker) -> None:
        lock = self._lock
        lock.acquire()
        self._waking -= 1
        watched_progress = -1
        watched_since = 0.0
        awake = False  # just ran a job: taking the next one costs no wake-up
        timers = self._timers
        monotonic = time.monotonic
        try:
            while True:
                now = monotonic()
                if timers and timers[0][0] <= now:
                    self._fire_due_locked(now)
                q: SerialQueue | None = None
                if self._ready:
                    if awake or not self._running:
                        q = self._ready.popleft()
                    elif self._progress != watched_progress:  # the running ones move on
                        watched_progress, watched_since = self._progress, now
                    elif now - watched_since >= self.help_after:  # stuck: help
                        q = self._ready.popleft()
                else:
                    watched_progress = -1
                if q is not None:
                    watched_progress = -1
                    self._run_locked(me, q)
                    awake = True
                    continue
                awake = False
                # nothing to take now: watch (keeper) or sleep
                if self._keeper is None and (self._ready or self._timer_count > 0):
                    deadline = timers[0][0] if timers else math.inf
                    if self._ready:
                        deadline = min(deadline, now + self.help_after)
                    self._keeper = me
                    self._keeper_until = deadline
                    me.sleep(lock, None if deadline == math.inf else max(0.0, deadline - now))
                    if self._keeper is me:  # timed out (a notify clears it)
                        self._keeper = None
                        self._keeper_until = math.inf
                    else:
                        self._waking -= 1
                else:
                    if self._ready and self._keeper is not None and self._keeper_until > now + self.help_after:
                        # Jobs wait, but the keeper set its watch before they were queued
                        # (_enqueue_locked left them to this thread, then waking): re-time
                        # it, or they wait for its next deadline or a running job's end.
                        self._wake_locked(self._keeper)
                    self._idle.append(me)
                    me.sleep(lock, None)
                    self._waking -= 1
        finally:
            lock.release()

    def _run_locked(self, me: _Worker, q: SerialQueue) -> None:
        """Run one job of ``q`` (called and returns with the lock held)."""
        fn, fut = q._jobs.popleft()
        me.queue = q
        self._running.append(me)
        if self._keeper is None and not self._waking and self._needs_keeper_locked():
            self._wake_idle_locked()
        self._lock.release()
        try:
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
        finally:
            self._lock.acquire()
            self._running.remove(me)
            me.queue = None
            self._progress += 1
            if q._jobs:
                self._ready.append(q)  # to the back of the line
            else:
                q._scheduled = False


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
