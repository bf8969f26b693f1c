"""docsync.core.Document: state, schemas, events and flush, atomic apply, snapshots."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
from engine_helpers import ops, run_op, sample_document
from hypothesis import given
from hypothesis import strategies as st

from docsync import errors
from docsync.core import Change, Document, Patch, Ref, register_type, registered_types


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, strict_map_key=False, ext_hook=lambda code, b: (code, bytes(b)))


# ---- schemas ------------------------------------------------------------------------


def test_registered_types_lists_registrations() -> None:
    assert {"CoreSlider", "CoreBox", "CoreSource"} <= set(registered_types())


@pytest.mark.parametrize("spec", ["integer", "list(", "list(int", "enum()", "tuple(int,)", "ref()", ""])
def test_bad_type_spec_is_a_schema_error(spec: str) -> None:
    with pytest.raises(errors.SchemaError, match="CoreBad.p"):
        register_type("CoreBad", [("p", spec, None, False)])
    assert "CoreBad" not in registered_types()


@pytest.mark.parametrize(
    ("spec", "default"),
    [("int", "x"), ("float", None), ("enum(a|b)", "c"), ("list(int)", [1, "2"]), ("tuple(int,str)", [1]), ("color", [1, 2])],
)
def test_default_that_does_not_fit_is_a_schema_error(spec: str, default: Any) -> None:
    with pytest.raises(errors.SchemaError, match="default"):
        register_type("CoreBad", [("p", spec, default, False)])


@pytest.mark.parametrize(
    ("spec", "good", "bad"),
    [
        ("any", [None, 1, "x", [1], {"a": 1}], []),
        ("bool", [True, False], [1, "true", None]),
        ("int", [0, -5, 2**62], [1.5, "1", None, True]),
        ("float", [1.5, 2, float("inf")], ["1.5", None]),
        ("str", ["", "x"], [1, None, b"x"]),
        ("bytes", [b"", b"x"], ["x"]),
        ("color", ["red", "#ff0000", [1, 2, 3], [1, 2, 3, 0.5]], [[1, 2], 5, [1, 2, "x"]]),
        ("ref", [Ref("a")], ["a", None]),
        ("array", [np.arange(3), [1, 2]], ["x", 1]),
        ("list(int)", [[], [1, 2]], [[1.5], "x", (1, "a")]),
        ("map(float)", [{}, {"a": 1.0}], [{"a": "x"}, [1]]),
        ("nullable(int)", [None, 3], ["x"]),
        ("enum(a|b)", ["a", "b"], ["c", 1]),
        ("either(int|str)", [1, "x"], [1.5, None]),
        ("tuple(int,str)", [(1, "x"), [2, "y"]], [[1], [1, 2], ["x", 1]]),
        ("columns", [{}, {"x": np.arange(2), "y": ["a", "b"]}], [{"x": np.arange(2), "y": ["a"]}, {"x": 1}, 5]),
    ],
)
def test_every_type_spec_validates(spec: str, good: list[Any], bad: list[Any]) -> None:
    register_type("CoreSpec", [("p", spec, good[0], False)])
    d = Document()
    d.add_model("m", "CoreSpec", {})
    for v in good:
        d.set("m", "p", v)
    for v in bad:
        with pytest.raises((errors.ValidationError, errors.ColumnError)):
            d.set("m", "p", v)


def test_validation_message_names_type_prop_and_value() -> None:
    d = sample_document()
    with pytest.raises(errors.ValidationError, match=r"^CoreSlider\.value expects float, got str 'abc'$"):
        d.set("s1", "value", "abc")
    with pytest.raises(ValueError):  # builtin mix-in
        d.set("s1", "value", "abc")


# ---- state ---------------------------------------------------------------------------


def test_get_set_props_and_defaults() -> None:
    d = sample_document()
    assert d.get("s1", "value") == 1.5
    assert d.get("s1", "align") == "start"  # default
    assert d.props("s1") == {"value": 1.5, "title": "speed"}
    assert d.set("s1", "value", 2.5) == 1.5
    assert d.set("s1", "value", 0.0) == 2.5
    assert "value" not in d.props("s1"), "a value equal to the default is not stored"
    assert d.model_type("s1") == "CoreSlider"
    assert d.has_model("src") and not d.has_model("nope")
    assert sorted(d.model_ids()) == ["box", "s1", "src"]
    assert d.roots() == ["box"]
    assert d.title == "sample"


def test_unknown_model_and_property_errors() -> None:
    d = sample_document()
    with pytest.raises(errors.UnknownModelError, match="nope"):
        d.get("nope", "value")
    with pytest.raises(KeyError):
        d.set("nope", "value", 1.0)
    with pytest.raises(errors.UnknownPropertyError, match=r"CoreSlider has no property .colour. \(its properties: align, color"):
        d.set("s1", "colour", "red")
    with pytest.raises(AttributeError):
        d.get("s1", "colour")
    with pytest.raises(errors.UnknownModelError, match="register"):
        d.add_model("x", "CoreNoSuchType", {})
    with pytest.raises(errors.PatchError, match="already"):
        d.add_model("s1", "CoreSlider", {})


def test_version_increments_on_changes() -> None:
    d = sample_document()
    v = d.version
    d.set("s1", "value", 9.0)
    assert d.version > v
    v = d.version
    d.apply(Patch.from_events([{"k": "set", "id": "s1", "prop": "value", "value": 1.0}]))
    assert d.version > v


def test_remove_root_releases_unreachable_models_and_take_model_returns_them() -> None:
    d = sample_document()
    d.add_model("other", "CoreSlider", {"value": 3.0})
    d.add_root("other")
    d.flush()
    assert sorted(d.remove_root("box")) == ["box", "s1", "src"]
    assert d.roots() == ["other"]
    assert not d.has_model("s1")
    assert d.take_model("s1") == ("CoreSlider", {"value": 1.5, "title": "speed"})
    assert d.take_model("other") == ("CoreSlider", {"value": 3.0})
    events = Patch.events(d.flush())  # type: ignore[arg-type]
    assert events[0] == {"k": "root-", "id": "box"}
    assert sorted(e["id"] for e in events if e["k"] == "del") == ["box", "s1", "src"]
    with pytest.raises(errors.UnknownModelError):
        d.remove_root("box")


def test_collect_removes_models_no_root_reaches() -> None:
    d = sample_document()
    d.set("box", "children", [Ref("s1")])
    assert d.collect() == ["src"]
    assert d.collect() == []
    assert d.has_model("s1")  # still reachable through box.child


def test_theme_overrides_defaults() -> None:
    d = sample_document()
    d.set_theme({"CoreSlider": {"align": "end"}})
    assert d.get("s1", "align") == "end"
    payload = unpack(d.snapshot())
    assert payload["defaults"]["CoreSlider"]["align"] == "end"
    with pytest.raises(errors.ValidationError):
        d.set_theme({"CoreSlider": {"align": "sideways"}})
    d2 = Document.from_snapshot(d.snapshot())
    assert d2.get("s1", "align") == "end"


def test_copy_is_independent() -> None:
    d = sample_document()
    c = d.copy()
    assert c == d
    c.set("s1", "value", 42.0)
    c.stream("src", "data", {"x": np.array([4.0]), "y": ["d"]})
    assert d.get("s1", "value") == 1.5
    assert d.column_len("src", "data") == 3
    assert c.column_len("src", "data") == 4
    assert c != d
    assert not c.has_pending() or c.flush() is not None


# ---- columns -------------------------------------------------------------------------


def test_column_operations() -> None:
    d = sample_document()
    assert d.column_names("src", "data") == ["x", "y"]
    assert d.column_len("src", "data") == 3
    x = d.get_column("src", "data", "x")
    assert isinstance(x, np.ndarray) and list(x) == [1.0, 2.0, 3.0]
    d.stream("src", "data", {"x": [4.0, 5.0], "y": ["d", "e"]}, rollover=4)
    assert list(d.get_column("src", "data", "x")) == [2.0, 3.0, 4.0, 5.0]
    assert list(x) == [1.0, 2.0, 3.0], "an earlier view keeps its values"
    d.patch_columns("src", "data", {"x": [(0, 20.0), (slice(2, 4), [40.0, 50.0])], "y": [(1, "B")]})
    assert list(d.get_column("src", "data", "x")) == [20.0, 3.0, 40.0, 50.0]
    assert d.get_column("src", "data", "y") == ["b", "B", "d", "e"]
    d.set_column("src", "data", "x", np.zeros(4))
    assert list(d.get_column("src", "data", "x")) == [0.0] * 4
    events = d.flush().events()  # type: ignore[union-attr]
    assert [e["k"] for e in events] == ["stream", "patch", "data"]
    assert events[2]["replace"] is False


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: d.stream("src", "data", {"x": [1.0]}), "missing"),
        (lambda d: d.stream("src", "data", {"x": [1.0], "y": ["a"], "z": [1]}), "unknown"),
        (lambda d: d.stream("src", "data", {"x": [1.0, 2.0], "y": ["a"]}), "same length"),
        (lambda d: d.stream("src", "data", {"x": [1.0], "y": ["a"]}, rollover=0), "rollover"),
        (lambda d: d.patch_columns("src", "data", {"x": [(3, 1.0)]}), "range"),
        (lambda d: d.patch_columns("src", "data", {"q": [(0, 1.0)]}), "unknown column"),
        (lambda d: d.get_column("src", "data", "q"), "no column"),
    ],
)
def test_column_errors_change_nothing(call: Any, match: str) -> None:
    d = sample_document()
    before = d.snapshot()
    with pytest.raises(errors.ColumnError, match=match):
        call(d)
    assert d.snapshot() == before
    assert not d.has_pending()


def test_columns_calls_on_a_non_columns_prop() -> None:
    d = sample_document()
    with pytest.raises(errors.ValidationError, match="not a columns property"):
        d.stream("s1", "value", {"x": [1.0]})


# ---- flush ---------------------------------------------------------------------------


def test_flush_returns_none_without_changes() -> None:
    d = sample_document()
    assert not d.has_pending()
    assert d.flush() is None
    d.set("s1", "value", 3.0)
    assert d.has_pending()
    d.discard_pending()
    assert d.flush() is None


def test_flush_encodes_once_into_a_valid_envelope() -> None:
    d = sample_document()
    d.set("s1", "value", 2.0)
    p = d.flush()
    assert p is not None
    msg = unpack(p.to_message(7))
    assert msg == {"v": 1, "t": "patch", "seq": 7, "p": {"events": [{"k": "set", "id": "s1", "prop": "value", "value": 2.0}]}}
    assert unpack(p.encode()) == msg["p"]
    assert p.encode() == p.encode()


def test_send_message_records_msg() -> None:
    d = sample_document()
    d.send_message("s1", "button_click", {"n": 1})
    d.send_message(None, "hello", None)
    events = d.flush().events()  # type: ignore[union-attr]
    assert events == [
        {"k": "msg", "id": "s1", "name": "button_click", "data": {"n": 1}},
        {"k": "msg", "id": None, "name": "hello", "data": None},
    ]
    with pytest.raises(errors.UnknownModelError):
        d.send_message("nope", "x", None)


# ---- apply ---------------------------------------------------------------------------


def test_apply_returns_changes_with_old_values_and_records_nothing() -> None:
    d = sample_document()
    p = Patch.from_events(
        [
            {"k": "set", "id": "s1", "prop": "value", "value": 9.0},
            {"k": "stream", "id": "src", "prop": "data", "columns": {"x": np.array([4.0]), "y": ["d"]}, "rollover": None},
            {"k": "title", "title": "new"},
            {"k": "msg", "id": "s1", "name": "tap", "data": {"x": 1}},
        ]
    )
    changes = d.apply(p, client=True) if False else d.apply(p)
    assert all(isinstance(c, Change) for c in changes)
    assert [(c.kind, c.id, c.prop) for c in changes] == [
        ("set", "s1", "value"),
        ("stream", "src", "data"),
        ("title", None, None),
        ("msg", "s1", None),
    ]
    assert changes[0].old == 1.5 and changes[0].new == 9.0
    assert list(changes[1].new["x"]) == [4.0]
    assert changes[2].old == "sample" and changes[2].new == "new"
    assert changes[3].name == "tap" and changes[3].new == {"x": 1}
    assert not d.has_pending(), "applied events are not echoed"
    assert d.column_len("src", "data") == 4


def test_apply_new_models_may_refer_to_each_other_in_any_order() -> None:
    d = sample_document()
    p = Patch.from_events(
        [
            {"k": "new", "id": "b2", "type": "CoreBox", "props": {"children": [Ref("s2")]}},
            {"k": "new", "id": "s2", "type": "CoreSlider", "props": {"value": 4.0}},
            {"k": "root+", "id": "b2"},
        ]
    )
    changes = d.apply(p)
    assert [c.kind for c in changes] == ["new", "new", "root+"]
    assert changes[0].name == "CoreBox"
    assert d.roots() == ["box", "b2"]
    assert d.get("b2", "children") == [Ref("s2")]


BAD_PATCHES: list[tuple[str, list[dict[str, Any]], type[Exception], str]] = [
    ("unknown model", [{"k": "set", "id": "ghost", "prop": "value", "value": 1.0}], errors.UnknownModelError, "ghost"),
    ("unknown property", [{"k": "set", "id": "s1", "prop": "nope", "value": 1.0}], errors.UnknownPropertyError, "nope"),
    ("wrong value type", [{"k": "set", "id": "s1", "prop": "value", "value": "x"}], errors.ValidationError, "expects float"),
    ("unknown type", [{"k": "new", "id": "n", "type": "CoreNoSuch", "props": {}}], errors.UnknownModelError, "CoreNoSuch"),
    ("duplicate id", [{"k": "new", "id": "s1", "type": "CoreSlider", "props": {}}], errors.PatchError, "already"),
    ("bad reference", [{"k": "set", "id": "box", "prop": "children", "value": [Ref("ghost")]}], errors.PatchError, "unresolved"),
    ("bad root", [{"k": "root+", "id": "ghost"}], errors.PatchError, "unresolved"),
    ("remove a non-root", [{"k": "root-", "id": "s1"}], errors.UnknownModelError, "not a root"),
    ("delete unknown", [{"k": "del", "id": "ghost"}], errors.UnknownModelError, "ghost"),
    ("stream missing column", [{"k": "stream", "id": "src", "prop": "data", "columns": {"x": [1.0]}, "rollover": None}], errors.ColumnError, "missing"),
    ("stream unequal lengths", [{"k": "stream", "id": "src", "prop": "data", "columns": {"x": [1.0], "y": []}, "rollover": None}], errors.ColumnError, "same length"),
    ("stream wrong dtype", [{"k": "stream", "id": "src", "prop": "data", "columns": {"x": ["a"], "y": ["a"]}, "rollover": None}], errors.ColumnError, "x"),
    ("patch out of range", [{"k": "patch", "id": "src", "prop": "data", "patches": {"x": [[3, 1.0]]}}], errors.ColumnError, "range"),
    ("data unequal lengths", [{"k": "data", "id": "src", "prop": "data", "columns": {"x": [1.0], "y": []}, "replace": True}], errors.ColumnError, "length"),
    ("set after delete", [{"k": "del", "id": "s1"}, {"k": "set", "id": "s1", "prop": "value", "value": 1.0}], errors.UnknownModelError, "s1"),
]


@pytest.mark.parametrize(("case", "events", "error", "match"), BAD_PATCHES, ids=[c[0] for c in BAD_PATCHES])
def test_bad_patch_is_rejected_whole_and_changes_nothing(case: str, events: list[dict[str, Any]], error: type[Exception], match: str) -> None:
    d = sample_document()
    before = d.snapshot()
    # A good event first: it must be rolled back too.
    good = {"k": "set", "id": "s1", "prop": "title", "value": "changed"}
    with pytest.raises(error, match=match):
        d.apply(Patch.from_events([good, *events]))
    assert d.snapshot() == before
    assert d.get("s1", "title") == "speed"


def test_client_may_only_change_client_writable_props() -> None:
    d = sample_document()
    before = d.snapshot()
    for events in (
        [{"k": "set", "id": "s1", "prop": "title", "value": "x"}],
        [{"k": "set", "id": "s1", "prop": "value", "value": 2.0}, {"k": "set", "id": "box", "prop": "name", "value": "x"}],
    ):
        with pytest.raises(errors.ReadOnlyPropertyError, match="not client-writable"):
            d.apply(Patch.from_events(events), client=True)
        with pytest.raises(PermissionError):
            d.apply(Patch.from_events(events), client=True)
        assert d.snapshot() == before
    d.apply(Patch.from_events([{"k": "set", "id": "s1", "prop": "value", "value": 2.0}]), client=True)
    assert d.get("s1", "value") == 2.0
    d.apply(Patch.from_events([{"k": "set", "id": "s1", "prop": "title", "value": "x"}]), client=False)
    assert d.get("s1", "title") == "x"


def test_client_may_not_reshape_the_document() -> None:
    d = sample_document()
    before = d.snapshot()
    for event in (
        {"k": "new", "id": "evil", "type": "CoreSlider", "props": {"title": "<img src=x onerror=alert(1)>"}},
        {"k": "root+", "id": "s1"},
        {"k": "root-", "id": d.roots()[0]},
        {"k": "title", "title": "owned"},
        {"k": "del", "id": "s1"},
    ):
        with pytest.raises(errors.ReadOnlyPropertyError, match="may not"):
            d.apply(Patch.from_events([{"k": "set", "id": "s1", "prop": "value", "value": 2.0}, event]), client=True)
        assert d.snapshot() == before
    # the same events are fine from a trusted source (a pushed session's owner)
    d.apply(Patch.from_events([{"k": "title", "title": "owned"}]), client=False)
    assert d.title == "owned"


def test_apply_validates_patches_after_streams_in_the_same_patch() -> None:
    d = sample_document()
    stream = {"k": "stream", "id": "src", "prop": "data", "columns": {"x": [4.0], "y": ["d"]}, "rollover": None}
    patch_row3 = {"k": "patch", "id": "src", "prop": "data", "patches": {"x": [[3, 40.0]]}}
    before = d.snapshot()
    with pytest.raises(errors.ColumnError):
        d.apply(Patch.from_events([patch_row3]))
    assert d.snapshot() == before
    d.apply(Patch.from_events([stream, patch_row3]))
    assert list(d.get_column("src", "data", "x")) == [1.0, 2.0, 3.0, 40.0]


# ---- snapshots -----------------------------------------------------------------------


def test_snapshot_payload_format() -> None:
    d = sample_document()
    snap = unpack(d.snapshot())
    assert snap["title"] == "sample"
    assert snap["roots"] == ["box"]
    assert {m["id"]: m["type"] for m in snap["models"]} == {"s1": "CoreSlider", "src": "CoreSource", "box": "CoreBox"}
    s1 = next(m for m in snap["models"] if m["id"] == "s1")
    assert s1["props"] == {"value": 1.5, "title": "speed"}
    assert set(snap["defaults"]) == {"CoreSlider", "CoreSource", "CoreBox"}
    assert snap["defaults"]["CoreSlider"]["align"] == "start"
    assert snap["defaults"]["CoreSlider"]["value"] == 0.0
    box = next(m for m in snap["models"] if m["id"] == "box")
    assert box["props"]["children"] == [(1, b"s1"), (1, b"src")]
    msg = unpack(d.snapshot_message(5))
    assert msg["t"] == "snapshot" and msg["seq"] == 5
    # Array padding depends on the position in the message; everything else is the same.
    assert {k: v for k, v in msg["p"].items() if k != "models"} == {k: v for k, v in snap.items() if k != "models"}


def test_snapshot_round_trip() -> None:
    d = sample_document()
    d2 = Document.from_snapshot(d.snapshot())
    assert d2 == d
    assert d2.version == d.version
    assert list(d2.get_column("src", "data", "x")) == [1.0, 2.0, 3.0]
    assert d2.title == "sample"


def test_load_snapshot_replaces_state_and_reports_changes() -> None:
    d = sample_document()
    other = sample_document()
    other.set("s1", "value", 7.0)
    other.set_title("other")
    changes = d.load_snapshot(other.snapshot())
    assert d == other
    kinds = {(c.kind, c.id, c.prop) for c in changes}
    assert ("set", "s1", "value") in kinds and ("title", None, None) in kinds


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (msgpack.packb([1, 2]), errors.ProtocolError),
        (msgpack.packb({"title": "t", "roots": [], "models": [{"id": "a", "type": "CoreNoSuch", "props": {}}]}), errors.UnknownModelError),
        (msgpack.packb({"title": "t", "roots": ["zz"], "models": []}), errors.PatchError),
        (msgpack.packb({"title": "t", "roots": [], "models": [{"id": "a", "type": "CoreSlider", "props": {"value": "x"}}]}), errors.ValidationError),
        (b"\x93\x01", errors.DecodeError),
        (b"\x91" * 100 + b"\xc0", errors.LimitError),
    ],
)
def test_bad_snapshots(payload: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        Document.from_snapshot(payload)
    d = sample_document()
    before = d.snapshot()
    with pytest.raises(error):
        d.load_snapshot(payload)
    assert d.snapshot() == before


# ---- properties ----------------------------------------------------------------------


@given(st.lists(ops, max_size=25))
def test_coalesced_patch_equals_events_one_by_one(operations: list[tuple[Any, ...]]) -> None:
    stepwise = sample_document()
    batched = sample_document()
    receiver_steps = Document.from_snapshot(stepwise.snapshot())
    receiver_batch = Document.from_snapshot(batched.snapshot())
    for op in operations:
        ok = run_op(stepwise, op)
        assert run_op(batched, op) == ok
        p = stepwise.flush()
        if p is not None:
            receiver_steps.apply(Patch.decode(p.encode()))
    coalesced = batched.flush()
    if coalesced is not None:
        receiver_batch.apply(Patch.decode(coalesced.encode()))
    assert stepwise == batched
    assert receiver_steps == stepwise
    assert receiver_batch == batched


@given(st.binary(max_size=200))
def test_random_bytes_never_change_a_document(data: bytes) -> None:
    d = sample_document()
    before = d.snapshot()
    try:
        p = Patch.decode(data)
    except errors.DocsyncError:
        pass
    else:
        try:
            d.apply(p, client=True)
        except errors.DocsyncError:
            assert d.snapshot() == before
    before = d.snapshot()
    try:
        Document.from_snapshot(data)
    except errors.DocsyncError:
        pass
    try:
        d.load_snapshot(data)
    except errors.DocsyncError:
        assert d.snapshot() == before


# random well-formed patches against a real document: applied whole or rejected whole,
# never a panic (pyo3's PanicException is not a DocsyncError, so it would fail here)
_ids = st.sampled_from(["s1", "src", "box", "ghost"])
_props = st.sampled_from(["value", "title", "data", "children", "child", "align", "nope"])
_vals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5),
    st.floats(allow_nan=True),
    st.sampled_from(["start", "x", ""]),
    st.lists(st.sampled_from([Ref("s1"), Ref("ghost"), 1, "a"]), max_size=3),
    st.just({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "c"]}),
    st.just({"x": [1.0], "y": []}),
)
_cols = st.one_of(
    st.just({"x": [4.0], "y": ["d"]}),
    st.just({"x": np.array([4.0, 5.0]), "y": ["d", "e"]}),
    st.just({"x": [4.0]}),
    st.just({"x": ["bad"], "y": ["d"]}),
    st.just({"x": np.array([1, 2], dtype=np.int8), "y": [1, 2]}),
)
_index = st.one_of(st.integers(-1, 4), st.just({"start": 0, "stop": 2, "step": None}), st.just({"start": 2, "stop": 0, "step": 1}))
_events = st.one_of(
    st.fixed_dictionaries({"k": st.just("set"), "id": _ids, "prop": _props, "value": _vals}),
    st.fixed_dictionaries({"k": st.just("stream"), "id": _ids, "prop": _props, "columns": _cols, "rollover": st.one_of(st.none(), st.integers(1, 4))}),
    st.fixed_dictionaries({"k": st.just("data"), "id": _ids, "prop": _props, "columns": _cols, "replace": st.booleans()}),
    st.fixed_dictionaries({"k": st.just("patch"), "id": _ids, "prop": _props, "patches": st.dictionaries(st.sampled_from(["x", "y", "z"]), st.lists(st.tuples(_index, _vals).map(list), max_size=2), max_size=2)}),
    st.fixed_dictionaries({"k": st.just("new"), "id": st.sampled_from(["n1", "n2", "s1"]), "type": st.sampled_from(["CoreSlider", "CoreBox", "CoreNope"]), "props": st.dictionaries(_props, _vals, max_size=2)}),
    st.fixed_dictionaries({"k": st.sampled_from(["root+", "root-", "del"]), "id": st.sampled_from(["s1", "src", "box", "n1", "ghost"])}),
    st.fixed_dictionaries({"k": st.just("title"), "title": st.text(max_size=3)}),
    st.fixed_dictionaries({"k": st.just("msg"), "id": st.one_of(st.none(), _ids), "name": st.just("tap"), "data": _vals}),
)


@given(st.lists(_events, min_size=1, max_size=5), st.booleans())
def test_random_patches_apply_whole_or_not_at_all(events: list[dict[str, Any]], client: bool) -> None:
    d = sample_document()
    before = d.snapshot()
    reference = Document.from_snapshot(before)
    try:
        changes = d.apply(Patch.from_events(events), client=client)
    except errors.DocsyncError:
        assert d.snapshot() == before
        return
    assert len(changes) == len(events)
    assert not d.has_pending()
    # the same events one patch at a time give the same document (when each one stands
    # alone: a reference may be resolved by a later `new` of the same patch)
    try:
        for e in events:
            reference.apply(Patch.from_events([e]), client=client)
    except errors.PatchError:
        return
    assert reference == d


def test_threads_share_a_document_without_deadlock() -> None:
    import threading

    d = sample_document()
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            i = 0
            while not stop.is_set() and i < 2000:
                d.set("s1", "value", float(i * k))
                d.stream("src", "data", {"x": [float(i)], "y": ["t"]}, rollover=50)
                d.flush()
                i += 1
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    def reader() -> None:
        try:
            while not stop.is_set():
                Document.from_snapshot(d.snapshot())
                d.copy() == d  # noqa: B015
        except BaseException as e:  # pragma: no cover
            failures.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in (1, 2)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads[:2]:
        t.join(timeout=60)
    stop.set()
    threads[2].join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert not failures
    assert d.column_len("src", "data") == 50


def test_documents_and_patches_can_be_weakly_referenced_and_are_freed() -> None:
    import gc
    import weakref

    d = sample_document()
    d.set("s1", "value", 2.0)
    p = d.flush()
    refs = [weakref.ref(d), weakref.ref(p)]
    view = d.get_column("src", "data", "x")
    del d, p
    gc.collect()
    assert all(r() is None for r in refs)
    assert list(view) == [1.0, 2.0, 3.0], "a column view outlives its document"
