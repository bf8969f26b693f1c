"""Helpers for the client tests: a real `docsync serve` subprocess on 127.0.0.1, port 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator


ROOT = Path(__file__).resolve().parents[2]
SERVING = re.compile(r"docsync: serving (http://\S+)")


class Server:
    """A `docsync serve` process; ``url`` is the URL it logs (the first app's)."""

    def __init__(self, *args: str, port: int = 0, env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        cmd = [
            sys.executable, "-c", "import sys; from docsync.command import main; main(sys.argv[1:])",
            "serve", "--address", "127.0.0.1", "--port", str(port), *args,
        ]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        found = threading.Event()
        self.url = ""

        def read() -> None:
            assert self.proc.stdout is not None
            with self.proc.stdout:
                for line in self.proc.stdout:
                    self.lines.append(line)
                    m = SERVING.search(line)
                    if m and not self.url:
                        self.url = m.group(1)
                        found.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("docsync serve did not start:\n" + "".join(self.lines))

    @property
    def port(self) -> int:
        m = re.match(r"http://[^:/]+:(\d+)", self.url)
        assert m
        return int(m.group(1))

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def output(self) -> str:
        return "".join(self.lines)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
