"""Fixtures for the Python model layer tests."""

from __future__ import annotations

from typing import Iterator

import pytest

from docsync.document import Document, _reset_default_curdoc, set_curdoc


@pytest.fixture
def doc() -> Iterator[Document]:
    """A fresh document that is also curdoc() for the test."""
    d = Document()
    with set_curdoc(d):
        yield d


@pytest.fixture(autouse=True)
def _fresh_default_curdoc() -> Iterator[None]:
    _reset_default_curdoc()
    yield
    _reset_default_curdoc()

