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


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    """`docsync serve` with no app: an empty root app that accepts pushed documents."""
    return start_server()
