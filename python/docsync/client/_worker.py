"""The document thread of a client session.

Everything a client session does to its document — applying server patches (which runs
the user's ``on_change`` / ``on_click`` callbacks), running the document's periodic,
timeout and next-tick callbacks, and flushing local changes into outgoing patches — runs
on one thread per session, in order. The I/O loop only moves bytes, so a slow user
callback never stops the connection from answering pings or receiving, and the document
is never touched by two client threads at once. Timers live here too (a heap), so a
periodic callback costs one wake-up per run.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable

__all__ = ["DocumentThread", "Timer"]

log = logging.getLogger("docsync.client")


class Timer:
    """A handle for a job scheduled on a :class:`DocumentThread`."""

    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when: float, fn: Callable[[], Any]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class DocumentThread:
    """One daemon thread running submitted jobs and timers in order.

    ``after_each`` runs after every job and timer (the session flushes there);
    ``idle`` runs when the thread has been idle for a while (the session flushes changes
    made by other threads there) and returns whether it found work: the wait starts at
    ``idle_interval`` and doubles up to ``idle_max_interval`` while it finds none."""

    def __init__(
        self,
        name: str,
        after_each: Callable[[], None] | None = None,
        idle: Callable[[], bool] | None = None,
        idle_interval: float = 0.005,
        idle_max_interval: float = 0.04,
    ) -> None:
        self._cv = threading.Condition(threading.Lock())
        self._jobs: deque[tuple[Callable[[], Any], Future[Any] | None]] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._counter = itertools.count()
        self._stopped = False
        self._drain = False
        self._after_each = after_each
        self._idle = idle
        # the idle check backs off while nothing happens (idle sessions cost next to
        # nothing) and is quick again as soon as anything does
        self._idle_min = idle_interval
        self._idle_max = idle_max_interval
        self._idle_interval = idle_interval
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def in_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, fn: Callable[[], Any], want_result: bool = False) -> Future[Any] | None:
        fut: Future[Any] | None = Future() if want_result else None
        with self._cv:
            if self._stopped:
                if fut is not None:
                    fut.set_exception(RuntimeError("the client session is closed"))
                return fut
            self._jobs.append((fn, fut))
            self._cv.notify()
        return fut

    def call_later(self, delay: float, fn: Callable[[], Any]) -> Timer:
        timer = Timer(time.monotonic() + max(0.0, delay), fn)
        self._push_timer(timer)
        return timer

    def call_at(self, when: float, fn: Callable[[], Any]) -> Timer:
        timer = Timer(when, fn)
        self._push_timer(timer)
        return timer

    def _push_timer(self, timer: Timer) -> None:
        with self._cv:
            if self._stopped:
                return
            heapq.heappush(self._timers, (timer.when, next(self._counter), timer))
            if self._timers[0][2] is timer:
                self._cv.notify()

    def stop(self, wait: bool = True, timeout: float = 5.0, drain: bool = False) -> None:
        """Stop the thread; with ``drain`` the jobs already submitted run first (timers
        never do)."""
        with self._cv:
            self._stopped = True
            self._drain = drain
            self._cv.notify()
        if wait and not self.in_thread():
            self._thread.join(timeout)

    def _next(self) -> tuple[Callable[[], Any], Future[Any] | None] | None:
        """Wait for the next job or due timer; None when stopped (or on idle)."""
        with self._cv:
            while True:
                if self._stopped and self._drain and self._jobs:
                    return self._jobs.popleft()
                if self._stopped:
                    # fail whatever still waits for a result
                    for _, fut in self._jobs:
                        if fut is not None and not fut.done():
                            fut.set_exception(RuntimeError("the client session is closed"))
                    self._jobs.clear()
                    self._timers.clear()
                    return None
                if self._jobs:
                    return self._jobs.popleft()
                now = time.monotonic()
                while self._timers and self._timers[0][2].cancelled:
                    heapq.heappop(self._timers)
                if self._timers and self._timers[0][0] <= now:
                    timer = heapq.heappop(self._timers)[2]
                    return timer.fn, None
                wait = self._idle_interval if self._idle is not None else None
                if self._timers:
                    due = self._timers[0][0] - now
                    wait = due if wait is None else min(wait, due)
                if not self._cv.wait(wait) and self._idle is not None and not self._jobs:
                    if not self._timers or self._timers[0][0] > time.monotonic():
                        return self._idle, None

    def _main(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            fn, fut = item
            if fn is not self._idle:
                self._idle_interval = self._idle_min
            try:
                result = fn()
            except BaseException as e:  # noqa: BLE001 - reported, the thread keeps going
                if fut is not None:
                    fut.set_exception(e)
                else:
                    log.exception("error in client session job %r", fn)
            else:
                if fut is not None:
                    fut.set_result(result)
                if fn is self._idle:
                    self._idle_interval = (
                        self._idle_min if result else min(self._idle_max, self._idle_interval * 2)
                    )
            if self._after_each is not None and fn is not self._idle:
                try:
                    self._after_each()
                except Exception:
                    log.exception("error while flushing client session changes")
