"""Running session work off the I/O loop, in order per session.

All sessions share one :class:`~concurrent.futures.ThreadPoolExecutor`; each session owns a
:class:`SerialQueue` over it. Jobs of one session run one at a time in submission order
(app code, client patches, callbacks, snapshots), so the document is never touched by
two threads at once; jobs of different sessions run in parallel, and after each job a
session's queue goes to the back of the pool's queue (round robin), so one busy session
cannot starve the others. A callback that sleeps 2 s delays only its own session.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import os
import threading
from typing import Any, Callable

__all__ = ["SerialQueue", "default_pool", "run_awaitable"]

log = logging.getLogger("docsync.server")

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def default_pool(max_workers: int | None = None) -> concurrent.futures.ThreadPoolExecutor:
    """The process-wide pool for session work (created on first use). Its size is
    ``DOCSYNC_WORKER_THREADS`` (default 16): how many sessions can run app code at the
    same time (callbacks that sleep or wait for I/O each hold a thread)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            size = max_workers or int(os.environ.get("DOCSYNC_WORKER_THREADS", "") or 16)
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix="docsync-session")
        return _pool


def busy_threads() -> int:
    """Pool threads still running a job (used at shutdown)."""
    return sum(1 for t in threading.enumerate() if t.name.startswith("docsync-session") and getattr(t, "_docsync_busy", False))


class SerialQueue:
    """Runs submitted callables one at a time, in order, on a shared pool."""

    def __init__(self, pool: concurrent.futures.Executor | None = None) -> None:
        self._pool = pool or default_pool()
        self._jobs: collections.deque[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = collections.deque()
        self._lock = threading.Lock()
        self._running = False
        self._closed = False
        self.thread: threading.Thread | None = None  # the thread running a job now

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                fut.set_exception(RuntimeError("session queue closed"))
                return fut
            self._jobs.append((fn, fut))
            if self._running:
                return fut
            self._running = True
        self._pool.submit(self._run_one)
        return fut

    async def run(self, fn: Callable[[], Any]) -> Any:
        """Submit from the event loop and await the result."""
        return await asyncio.wrap_future(self.submit(fn))

    def pending(self) -> int:
        with self._lock:
            return len(self._jobs)

    def close(self) -> None:
        """Refuse new jobs; queued ones still run."""
        with self._lock:
            self._closed = True

    def _run_one(self) -> None:
        with self._lock:
            if not self._jobs:
                self._running = False
                return
            fn, fut = self._jobs.popleft()
        if fut.set_running_or_notify_cancel():
            thread = threading.current_thread()
            self.thread = thread
            thread._docsync_busy = True  # type: ignore[attr-defined]
            try:
                fut.set_result(fn())
            except BaseException as e:  # delivered to whoever awaits the job
                fut.set_exception(e)
            finally:
                thread._docsync_busy = False  # type: ignore[attr-defined]
                self.thread = None
        with self._lock:
            if not self._jobs:
                self._running = False
                return
        self._pool.submit(self._run_one)


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
