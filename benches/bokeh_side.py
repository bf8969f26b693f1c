"""The Bokeh server's side of each workload, done the way the Bokeh server does it.

The Bokeh server turns every document event into a PATCH-DOC message
(`bokeh.server.session.ServerSession._document_patched` → `protocol.create("PATCH-DOC",
[event])`, one message per event) and a page load into a PULL-DOC-REPLY. These helpers
build exactly those messages and count the bytes that would go on the wire.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Slider
from bokeh.plotting import figure
from bokeh.protocol import Protocol

PROTOCOL = Protocol()


def message_bytes(msg: Any) -> int:
    """Bytes the Bokeh server writes for one message (header, metadata, content, buffers)."""
    size = len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
    for buf in msg.buffers:
        size += memoryview(buf.data).nbytes + len(buf.ref["id"]) + 16  # buffer header frame, approx.
    return size


class RecordingDocument:
    """A Bokeh Document with its events captured, as a server session sees them."""

    def __init__(self) -> None:
        self.doc = Document()
        self.events: list[Any] = []
        self.doc.callbacks.on_change(self.events.append)

    def patch_messages(self) -> list[Any]:
        """One PATCH-DOC per event, as the Bokeh server sends them; clears the events."""
        msgs = [PROTOCOL.create("PATCH-DOC", [event]) for event in self.events]
        for msg in msgs:  # serialise, as sending does
            msg.content_json  # noqa: B018
        self.events.clear()
        return msgs


def line_document(nrows: int) -> tuple[RecordingDocument, ColumnDataSource]:
    """A figure with one line over a `nrows` × 3 float64 source."""
    rec = RecordingDocument()
    source = ColumnDataSource(
        data={name: np.arange(nrows, dtype=np.float64) for name in ("x", "y", "z")}
    )
    p = figure(width=600, height=400)
    p.line("x", "y", source=source)
    rec.doc.add_root(p)
    rec.events.clear()
    return rec, source


def first_load(doc: Document) -> Any:
    msg = PROTOCOL.create("PULL-DOC-REPLY", "1", doc)
    msg.content_json  # noqa: B018
    return msg


def sliders_document(nmodels: int) -> tuple[RecordingDocument, list[Slider]]:
    rec = RecordingDocument()
    sliders = [Slider(start=-10, end=1000, value=0) for _ in range(nmodels)]
    rec.doc.add_root(column(*sliders))
    rec.events.clear()
    return rec, sliders


def apply_messages(doc: Document, msgs: list[Any]) -> None:
    for msg in msgs:
        msg.apply_to_document(doc)
