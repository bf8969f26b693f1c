"""The private background event loop behind the synchronous client API.

One daemon thread per process runs an asyncio loop that carries the WebSocket I/O of
every synchronous :class:`~docsync.client.ClientSession`. Because it is private, the sync
API works from plain scripts, from any thread (several sessions in several threads), and
inside code that already runs an event loop (Jupyter, asyncio apps) — no "event loop is
already running". It only moves bytes; documents are worked on by each session's own
document thread (``_worker.py``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import Future
from typing import Any, Coroutine, TypeVar

__all__ = ["background_loop", "run_sync"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The process's client I/O loop (started on first use, again after a fork)."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is not None and _pid == os.getpid() and _thread is not None and _thread.is_alive():
            return _loop
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=main, name="docsync-client-io", daemon=True)
        thread.start()
        ready.wait()
        _loop, _thread, _pid = loop, thread, os.getpid()
        return loop


def in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def run_sync(
    coro: Coroutine[Any, Any, T],
    loop: asyncio.AbstractEventLoop,
    timeout: float | None = None,
    what: str = "this call",
) -> T:
    """Run ``coro`` on ``loop`` from another thread and wait for its result."""
    if in_loop_thread(loop):
        coro.close()
        raise RuntimeError(
            f"{what} would block the event loop that runs this client session; "
            f"use the async API instead (await session.<name>_async(...))"
        )
    fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return fut.result(timeout)
    except BaseException:
        fut.cancel()
        raise
