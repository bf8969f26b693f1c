"""Shared test helpers: real `docsync serve` subprocesses and condition waits.

`DocsyncServe` starts `python -m docsync serve ...` on 127.0.0.1 (port 0 by default),
reads the URLs it logs (`docsync: serving http://...`) and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SERVING = re.compile(r"docsync: serving (http://\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(n: int) -> int:
    """The first of ``n`` (≤ 10) consecutive free ports, a multiple of 10 (so a config
    can name them ``<base // 10><i>``), below the kernel's ephemeral range: no outgoing
    connection takes one of them between this check and the servers binding them (a
    block picked from the ephemeral range once lost a port that way)."""
    for _ in range(200):
        base = random.randrange(20000, 32000, 10)
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports found")


def subprocess_env(**extra: str) -> dict[str, str]:
    """The test's environment, with no browser opened by `show()`."""
    env = dict(os.environ)
    env["BROWSER"] = "true"  # webbrowser runs `true URL`: nothing opens
    env.pop("DOCSYNC_SECRET_KEY", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Polls `predicate` until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class DocsyncServe:
    """A `python -m docsync serve ...` subprocess and the URLs it logged."""

    def __init__(self, args: list[str], *, port: int = 0, expect: int = 1, env: dict[str, str] | None = None,
                 cwd: Path = ROOT, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "docsync", "serve", "--port", str(port), *args],
            cwd=cwd, env=env or subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        self.lines: list[str] = []
        self.urls: dict[str, str] = {}
        self._expect = expect
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout) or len(self.urls) < expect:
            self.stop()
            raise RuntimeError("docsync serve did not log its URLs:\n" + self.output())

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = SERVING.search(line)
            if m:
                url = m.group(1).rstrip("/")
                name = url.rsplit("/", 1)[-1] if url.count("/") > 2 else ""
                self.urls[name] = url
                if len(self.urls) >= self._expect:
                    self._ready.set()
        self._ready.set()  # the process ended: unblock the waiter

    @property
    def port(self) -> int:
        m = re.match(r"http://[^/:]+:(\d+)", next(iter(self.urls.values())))
        assert m
        return int(m.group(1))

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def __enter__(self) -> "DocsyncServe":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
