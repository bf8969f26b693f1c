"""Fixtures for the server tests (helpers live in server_testlib.py)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from server_testlib import LiveServer


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """``live_server(apps, **Server options)`` starts a real server on 127.0.0.1:0."""
    servers: list[LiveServer] = []

    def make(apps: Any, **kw: Any) -> LiveServer:
        s = LiveServer(apps, **kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
