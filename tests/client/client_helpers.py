"""Helpers for the client tests: a real `docsync serve` subprocess on 127.0.0.1, port 0
(tests/support.py's DocsyncServe with the names these tests use)."""

from __future__ import annotations

import os
import signal
from typing import Any, Callable

from support import ROOT, DocsyncServe, subprocess_env, wait_until

__all__ = ["ROOT", "Server", "wait_for"]


class Server(DocsyncServe):
    """A `docsync serve` process; ``url`` is the URL it logs (the first app's)."""

    def __init__(self, *args: str, port: int = 0, env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        super().__init__(["--address", "127.0.0.1", *args], port=port, env=subprocess_env(**(env or {})), timeout=timeout)

    @property
    def url(self) -> str:
        return next(iter(self.urls.values()))

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if sig == signal.SIGTERM or self.proc.poll() is not None:
            super().stop()
            return
        os.killpg(self.proc.pid, sig)
        self.proc.wait(10)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy (bounded)."""
    return wait_until(predicate, timeout, interval=0.01, what=what)
