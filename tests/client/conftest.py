"""Fixtures for the client tests: a real `docsync serve` on 127.0.0.1, port 0."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from client_helpers import Server


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(*args: str, **kw: Any) -> Server:
        s = Server(*args, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """`docsync serve` with no app: an empty root app that accepts pushed documents
    (shared by the tests of a module: each test uses its own sessions)."""
    s = Server()
    yield s
    s.stop()
