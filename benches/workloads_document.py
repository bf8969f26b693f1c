"""Document workloads: first load, streaming, many small changes, receiving.

Both sides do the same logical work down to the bytes a server writes: docsync records
events in the Rust engine and encodes one coalesced message; the Bokeh side builds the
PATCH-DOC / PULL-DOC-REPLY messages its server sends (benches/bokeh_side.py).
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from benches import bokeh_side
from benches.harness import Result, compare
from docsync.document import Document
from docsync.layouts import column
from docsync.models import ColumnDataSource, Slider
from docsync.plotting import figure


def docsync_line_document(nrows: int) -> tuple[Document, ColumnDataSource]:
    doc = Document()
    source = ColumnDataSource(data={name: np.arange(nrows, dtype=np.float64) for name in ("x", "y", "z")})
    p = figure(width=600, height=400)
    p.line("x", "y", source=source)
    doc.add_root(p)
    doc._flush()
    return doc, source


def _ext_hook(code: int, data: bytes) -> Any:
    return msgpack.ExtType(code, data)


def _decode(message: bytes) -> Any:
    return msgpack.unpackb(message, raw=False, ext_hook=_ext_hook, strict_map_key=False)


def _typed_len(ext: Any) -> int:
    """Rows of a docsync typed-array ext payload (ext type 2: dtype, ndim, shape...)."""
    assert isinstance(ext, msgpack.ExtType) and ext.code == 2, f"expected a typed array, got {ext!r}"
    ndim = ext.data[1]
    return int.from_bytes(ext.data[2:6], "little") if ndim else 0


def first_load(quick: bool) -> list[Result]:
    results = []
    for nrows in ((10_000,) if quick else (10_000, 100_000, 1_000_000)):
        ddoc, _ = docsync_line_document(nrows)
        brec, _ = bokeh_side.line_document(nrows)

        def check_docsync(message: bytes, nrows: int = nrows) -> None:
            snap = _decode(message)["p"]
            sources = [m for m in snap["models"] if m["type"] == "ColumnDataSource"]
            assert len(sources) == 1
            cols = sources[0]["props"]["data"]
            assert sorted(cols) == ["x", "y", "z"] and all(_typed_len(c) == nrows for c in cols.values())

        def check_bokeh(msg: Any, nrows: int = nrows) -> None:
            assert sum(memoryview(b.data).nbytes for b in msg.buffers) >= 3 * 8 * nrows

        results.append(
            compare(
                "first load", f"{nrows:,} rows × 3 float64 + figure",
                lambda ddoc=ddoc: ddoc._engine.snapshot_message(0),
                lambda brec=brec: bokeh_side.first_load(brec.doc),
                check_docsync=check_docsync, check_bokeh=check_bokeh,
                repeat=3 if quick else 7,
                size_docsync=len, size_bokeh=bokeh_side.message_bytes,
            )
        )
    return results


def streaming(quick: bool) -> list[Result]:
    results = []
    cases = [(1, 10_000), (100, 10_000)] if quick else [
        (rows, rollover) for rollover in (10_000, 1_000_000) for rows in (1, 100, 10_000)
    ]
    for rows, rollover in cases:
        ddoc, dsrc = docsync_line_document(rollover)
        brec, bsrc = bokeh_side.line_document(rollover)
        new = {name: np.arange(rows, dtype=np.float64) + 0.5 for name in ("x", "y", "z")}
        seq = [0]

        def docsync_stream(ddoc: Document = ddoc, dsrc: Any = dsrc, new: Any = new) -> bytes:
            dsrc.stream(new, rollover=rollover)
            seq[0] += 1
            return ddoc._flush().to_message(seq[0])  # type: ignore[no-any-return]

        def bokeh_stream(brec: Any = brec, bsrc: Any = bsrc, new: Any = new) -> list[Any]:
            bsrc.stream(new, rollover=rollover)
            return brec.patch_messages()

        def check_docsync(message: bytes, dsrc: Any = dsrc, rows: int = rows) -> None:
            events = _decode(message)["p"]["events"]
            assert len(events) == 1 and events[0]["k"] == "stream", events
            assert _typed_len(events[0]["columns"]["y"]) == rows
            y = dsrc.data["y"]
            assert len(y) == rollover and y[-1] == rows - 0.5

        def check_bokeh(msgs: list[Any], bsrc: Any = bsrc, rows: int = rows) -> None:
            assert len(msgs) == 1
            y = bsrc.data["y"]
            assert len(y) == rollover and y[-1] == rows - 0.5

        # The same number of calls per sample at every rollover: a sample of one call
        # right after gc.collect() and Bokeh's stream measures refilling cold caches and
        # TLBs (~150-250 µs on the 2-core VM, at rollover 10,000 as much as 1,000,000),
        # not what a call costs at that length.
        number = 1 if rows == 10_000 else 20
        results.append(
            compare(
                "streaming", f"{rows:,} rows × 3 cols, rollover {rollover:,}",
                docsync_stream, bokeh_stream,
                check_docsync=check_docsync, check_bokeh=check_bokeh,
                repeat=3 if quick else 9, number=number,
                size_docsync=len, size_bokeh=lambda msgs: sum(map(bokeh_side.message_bytes, msgs)),
            )
        )
    return results


def many_small_changes(quick: bool) -> list[Result]:
    nmodels, per_model = (20, 10) if quick else (100, 100)
    total = nmodels * per_model

    ddoc = Document()
    dranges = [Slider(start=-10, end=1000, value=0) for _ in range(nmodels)]
    ddoc.add_root(column(*dranges))
    ddoc._flush()
    brec, branges = bokeh_side.sliders_document(nmodels)

    replica_docsync = Document.from_snapshot(ddoc._snapshot())
    from bokeh.document import Document as BokehDocument

    replica_bokeh = BokehDocument.from_json(brec.doc.to_json())

    def docsync_callback() -> bytes:
        for k in range(per_model):
            for r in dranges:
                r.value = float(k)
        return ddoc._flush().to_message(1)  # type: ignore[no-any-return]

    def bokeh_callback() -> list[Any]:
        for k in range(per_model):
            for r in branges:
                r.value = float(k)
        return brec.patch_messages()

    def check_docsync(message: bytes) -> None:
        events = _decode(message)["p"]["events"]
        assert len(events) == nmodels and all(e["k"] == "set" for e in events), "one set per model after coalescing"
        assert all(r.value == per_model - 1 for r in dranges)

    def check_bokeh(msgs: list[Any]) -> None:
        assert len(msgs) >= total - nmodels  # one message per effective change
        assert all(r.value == per_model - 1 for r in branges)

    results = [
        compare(
            "many small changes", f"{total:,} property sets over {nmodels} models, to messages",
            docsync_callback, bokeh_callback,
            check_docsync=check_docsync, check_bokeh=check_bokeh,
            repeat=3 if quick else 7,
            size_docsync=len, size_bokeh=lambda msgs: sum(map(bokeh_side.message_bytes, msgs)),
            note="docsync: 1 coalesced message; Bokeh: 1 message per change",
        )
    ]

    # receiving: apply what one callback produced on a replica
    from docsync.core import Patch

    def fresh_docsync_message() -> bytes:
        for r in dranges:
            r.value = -1.0
        ddoc._flush()
        return docsync_callback()

    def fresh_bokeh_messages() -> list[Any]:
        for r in branges:
            r.value = -1.0
        brec.patch_messages()
        return bokeh_callback()

    dmsg = fresh_docsync_message()
    bmsgs = fresh_bokeh_messages()

    def docsync_receive() -> Any:
        from docsync.core import decode_message

        patch = decode_message(dmsg).patch
        assert isinstance(patch, Patch)
        return replica_docsync._apply_patch(patch, client=False)

    def bokeh_receive() -> Any:
        bokeh_side.apply_messages(replica_bokeh, bmsgs)
        return bmsgs

    def check_replica_docsync(_: Any) -> None:
        starts = [replica_docsync.get_model_by_id(r.id).value for r in dranges]  # type: ignore[union-attr]
        assert starts == [per_model - 1] * nmodels, starts[:5]

    def check_replica_bokeh(_: Any) -> None:
        starts = [replica_bokeh.get_model_by_id(r.id).value for r in branges]  # type: ignore[union-attr]
        assert starts == [per_model - 1] * nmodels, starts[:5]

    results.append(
        compare(
            "receiving", f"apply the messages of {total:,} property sets",
            docsync_receive, bokeh_receive,
            check_docsync=check_replica_docsync, check_bokeh=check_replica_bokeh,
            repeat=3 if quick else 7,
        )
    )
    return results


def model_layer(quick: bool) -> list[Result]:
    """A property set from Python, recorded (Bokeh: its descriptor plus the event its
    document records), and building a document of 2,000 models."""
    ddoc = Document()
    dslider = Slider(start=0, end=1000, value=0)
    ddoc.add_root(column(dslider))
    ddoc._flush()
    brec, bsliders = bokeh_side.sliders_document(1)
    state = {"k": 0}

    def docsync_set() -> Any:
        state["k"] += 1
        dslider.value = float(state["k"] % 1000)
        return dslider

    def bokeh_set() -> Any:
        state["k"] += 1
        bsliders[0].value = float(state["k"] % 1000)
        if len(brec.events) > 1000:
            brec.events.clear()
        return bsliders[0]

    def check_set(slider: Any) -> None:
        assert slider.value == float(state["k"] % 1000)

    number = 1_000 if quick else 20_000
    results = [
        compare(
            "model layer", "one property set from Python, recorded (no flush)",
            docsync_set, bokeh_set, check_docsync=check_set, check_bokeh=check_set,
            repeat=5 if quick else 9, number=number,
        )
    ]
    ddoc._flush()

    nmodels = 200 if quick else 2_000

    def docsync_build() -> Document:
        doc = Document()
        doc.add_root(column(*[Slider(start=0, end=100, value=i % 100, title=f"s{i}") for i in range(nmodels)]))
        doc._flush()
        return doc

    def bokeh_build() -> Any:
        from bokeh.document import Document as BokehDocument
        from bokeh.layouts import column as bokeh_column
        from bokeh.models import Slider as BokehSlider

        doc = BokehDocument()
        doc.add_root(bokeh_column(*[BokehSlider(start=0, end=100, value=i % 100, title=f"s{i}") for i in range(nmodels)]))
        return doc

    def check_docsync_doc(doc: Document) -> None:
        assert sum(1 for m in doc.models if type(m).__name__ == "Slider") == nmodels

    def check_bokeh_doc(doc: Any) -> None:
        assert sum(1 for m in doc.models if type(m).__name__ == "Slider") == nmodels

    results.append(
        compare(
            "model layer", f"build a document of {nmodels:,} sliders in a column",
            docsync_build, bokeh_build, check_docsync=check_docsync_doc, check_bokeh=check_bokeh_doc,
            repeat=3 if quick else 7,
        )
    )
    return results


def run(quick: bool, memcpy: float) -> list[Result]:
    return [*first_load(quick), *streaming(quick), *many_small_changes(quick), *model_layer(quick)]
