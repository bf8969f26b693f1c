"""Helpers shared by the model-layer tests."""

from __future__ import annotations

from docsync.document import Document


def remote_copy(doc: Document) -> Document:
    """Another document with the same state (what a browser or client mirrors)."""
    doc._flush()
    return Document.from_snapshot(doc._snapshot())
