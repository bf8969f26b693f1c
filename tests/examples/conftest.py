"""Fixtures for the example tests."""

from __future__ import annotations

from typing import Iterator

import pytest

from gallery_helpers import GALLERY_APPS, ServedApps, gallery_serve_args


@pytest.fixture(scope="session")
def gallery_server() -> Iterator[ServedApps]:
    server = ServedApps(gallery_serve_args(), expect=len(GALLERY_APPS))
    try:
        yield server
    finally:
        server.stop()
