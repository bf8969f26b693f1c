"""docsync.core.Patch: coalescing rules, encoding, decoding with limits, bad input."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
from engine_helpers import sample_document
from hypothesis import given
from hypothesis import strategies as st

from docsync import errors
from docsync.core import Document, Patch, Ref


def kinds(p: Patch | None) -> list[str]:
    assert p is not None
    return [e["k"] for e in p.events()]


# ---- coalescing rules (numbered as in docs/protocol.md) ------------------------------


def test_rule1_same_property_twice_keeps_the_last_value() -> None:
    d = sample_document()
    d.set("s1", "value", 2.0)
    d.set("s1", "title", "t")
    d.set("s1", "value", 3.0)
    events = d.flush().events()  # type: ignore[union-attr]
    assert events == [
        {"k": "set", "id": "s1", "prop": "title", "value": "t"},
        {"k": "set", "id": "s1", "prop": "value", "value": 3.0},
    ]


def test_rule2_new_model_absorbs_later_changes() -> None:
    d = sample_document()
    d.add_model("n", "CoreSlider", {"value": 1.0})
    d.set("n", "value", 5.0)
    d.set("n", "title", "x")
    d.set("box", "children", [Ref("s1"), Ref("src"), Ref("n")])
    events = d.flush().events()  # type: ignore[union-attr]
    assert events[0] == {"k": "new", "id": "n", "type": "CoreSlider", "props": {"value": 5.0, "title": "x"}}
    assert [e["k"] for e in events] == ["new", "set"]


def test_rule2_model_created_and_released_in_one_flush_leaves_nothing() -> None:
    d = sample_document()
    d.add_model("n", "CoreSlider", {})
    d.add_root("n")
    d.set("n", "value", 5.0)
    d.remove_root("n")
    assert d.flush() is None


def test_rule3_consecutive_streams_merge() -> None:
    d = sample_document()
    d.stream("src", "data", {"x": [4.0], "y": ["d"]})
    d.stream("src", "data", {"x": np.array([5.0, 6.0]), "y": ["e", "f"]})
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["k"] == "stream" and e["rollover"] is None
    assert e["y"] if False else list(e["columns"]["y"]) == ["d", "e", "f"]


def test_rule3_streams_merge_when_later_rollover_is_not_larger_and_trim() -> None:
    d = sample_document()
    d.stream("src", "data", {"x": np.array([4.0, 5.0]), "y": ["d", "e"]}, rollover=10)
    d.stream("src", "data", {"x": np.array([6.0, 7.0, 8.0]), "y": ["f", "g", "h"]}, rollover=2)
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["rollover"] == 2
    assert list(e["columns"]["x"]) == [7.0, 8.0], "rows the rollover drops anyway are not sent"
    assert e["columns"]["y"] == ["g", "h"]


def test_rule3_streams_do_not_merge_when_the_later_rollover_is_larger() -> None:
    d = sample_document()
    d.stream("src", "data", {"x": [4.0], "y": ["d"]}, rollover=2)
    d.stream("src", "data", {"x": [5.0], "y": ["e"]}, rollover=5)
    d.stream("src", "data", {"x": [6.0], "y": ["f"]})
    assert kinds(d.flush()) == ["stream", "stream", "stream"]


def test_rule4_replacing_data_drops_earlier_column_events() -> None:
    d = sample_document()
    d.stream("src", "data", {"x": [4.0], "y": ["d"]})
    d.patch_columns("src", "data", {"x": [(0, 9.0)]})
    d.set_column("src", "data", "x", np.zeros(4))
    d.set("src", "data", {"x": np.array([1.0]), "y": ["z"]})
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["k"] == "data" and e["replace"] is True and e["columns"]["y"] == ["z"]


def test_rule5_consecutive_patches_concatenate_in_order() -> None:
    d = sample_document()
    d.patch_columns("src", "data", {"x": [(0, 9.0)]})
    d.patch_columns("src", "data", {"x": [(0, 8.0)], "y": [(1, "B")]})
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["patches"] == {"x": [[0, 9.0], [0, 8.0]], "y": [[1, "B"]]}


def test_rule6_root_added_then_removed_cancel_and_last_title_wins() -> None:
    d = sample_document()
    d.add_model("n", "CoreSlider", {})
    d.flush()
    d.add_root("n")
    d.set_title("a")
    d.remove_root("n")
    d.set_title("b")
    events = d.flush().events()  # type: ignore[union-attr]
    assert events == [{"k": "title", "title": "b"}, {"k": "del", "id": "n"}]


def test_rule7_messages_are_kept() -> None:
    d = sample_document()
    for i in range(3):
        d.send_message("s1", "tick", i)
    assert [e["data"] for e in d.flush().events()] == [0, 1, 2]  # type: ignore[union-attr]


def test_rule8_deletes_go_last() -> None:
    d = sample_document()
    d.set("box", "children", [])
    d.set("box", "child", None)
    d.collect()
    d.set_title("after")
    assert kinds(d.flush()) == ["set", "set", "title", "del", "del"]


# ---- encoding ------------------------------------------------------------------------


def test_encode_is_the_payload_and_to_message_the_envelope() -> None:
    p = Patch.from_events([{"k": "title", "title": "x"}])
    assert msgpack.unpackb(p.encode()) == {"events": [{"k": "title", "title": "x"}]}
    assert msgpack.unpackb(p.to_message(3)) == {"v": 1, "t": "patch", "seq": 3, "p": {"events": [{"k": "title", "title": "x"}]}}
    assert len(p) == 1 and not p.is_empty()
    assert Patch.from_events([]).is_empty()


def test_arrays_in_messages_are_aligned() -> None:
    p = Patch.from_events([{"k": "stream", "id": "src", "prop": "data", "columns": {"x": np.arange(5.0)}, "rollover": None}])
    for data in (p.encode(), p.to_message(12345)):
        i = data.index(b"\xc9")  # ext 32
        pad_at = i + 6 + 2 + 4  # header, dtype+ndim, one u32 of shape
        pad = data[pad_at]
        assert (pad_at + 1 + pad) % 8 == 0


refs = st.text(min_size=1, max_size=4).map(Ref)
arrays = st.sampled_from(["float64", "int32", "uint8", "bool", "float32", "int64"]).flatmap(
    lambda dt: st.integers(0, 5).map(lambda n: (np.arange(n) % 2).astype(dt))
)
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.binary(max_size=6),
        refs,
        arrays,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8,
)
model_ids = st.text(min_size=1, max_size=5)
columns = st.dictionaries(st.text(min_size=1, max_size=3), st.one_of(arrays, st.lists(values, max_size=3)), max_size=3)
events = st.one_of(
    st.fixed_dictionaries({"k": st.just("new"), "id": model_ids, "type": st.text(min_size=1, max_size=5), "props": st.dictionaries(st.text(max_size=4), values, max_size=3)}),
    st.fixed_dictionaries({"k": st.just("set"), "id": model_ids, "prop": st.text(max_size=5), "value": values}),
    st.fixed_dictionaries({"k": st.just("data"), "id": model_ids, "prop": st.text(max_size=5), "columns": columns, "replace": st.booleans()}),
    st.fixed_dictionaries({"k": st.just("stream"), "id": model_ids, "prop": st.text(max_size=5), "columns": columns, "rollover": st.one_of(st.none(), st.integers(1, 2**40))}),
    st.fixed_dictionaries(
        {"k": st.just("patch"), "id": model_ids, "prop": st.text(max_size=5), "patches": st.dictionaries(st.text(max_size=3), st.lists(st.tuples(st.integers(0, 9), values).map(list), max_size=3), max_size=2)}
    ),
    st.fixed_dictionaries({"k": st.sampled_from(["root+", "root-", "del"]), "id": model_ids}),
    st.fixed_dictionaries({"k": st.just("title"), "title": st.text(max_size=8)}),
    st.fixed_dictionaries({"k": st.just("msg"), "id": st.one_of(st.none(), model_ids), "name": st.text(max_size=6), "data": values}),
)


@given(st.lists(events, max_size=6))
def test_decode_of_encode_is_identity(evs: list[dict[str, Any]]) -> None:
    p = Patch.from_events(evs)
    assert Patch.decode(p.encode()) == p
    assert Patch.from_events(p.events()) == p
    assert Patch.decode(bytearray(p.encode())) == p
    msg = msgpack.unpackb(p.to_message(1), strict_map_key=False, raw=False, ext_hook=lambda c, b: msgpack.ExtType(c, b))
    assert len(msg["p"]["events"]) == len(evs)


def test_decode_limits() -> None:
    p = Patch.from_events([{"k": "set", "id": "a", "prop": "p", "value": [[[[1]]]]}])
    data = p.encode()
    with pytest.raises(errors.LimitError):
        Patch.decode(data, max_size=len(data) - 1)
    with pytest.raises(errors.LimitError):
        Patch.decode(data, max_depth=5)
    assert Patch.decode(data, max_depth=8) == p
    bomb = b"\x81\xa6events" + b"\x91" * 10_000
    with pytest.raises(errors.LimitError):
        Patch.decode(bomb)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([1, 2], errors.ProtocolError),
        ({"events": 5}, errors.ProtocolError),
        ({"nope": []}, errors.ProtocolError),
        ({"events": [{"k": "jump"}]}, errors.ProtocolError),
        ({"events": [{"k": "set", "id": "a", "prop": "p"}]}, errors.ProtocolError),
        ({"events": [{"k": "set", "id": 5, "prop": "p", "value": 1}]}, errors.ProtocolError),
        ({"events": [{"k": "stream", "id": "a", "prop": "p", "columns": {}, "rollover": 0}]}, errors.ColumnError),
        ({"events": [{"k": "patch", "id": "a", "prop": "p", "patches": {"x": [1]}}]}, errors.ProtocolError),
    ],
)
def test_malformed_patches(payload: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Patch.decode(msgpack.packb(payload))


@pytest.mark.parametrize("data", [b"", b"\x81", b"\xc1", b"\x81\xa6events\x91\x85", b"\xdf\xff\xff\xff\xff"])
def test_truncated_or_malformed_bytes_are_decode_errors(data: bytes) -> None:
    with pytest.raises(errors.DecodeError):
        Patch.decode(data)


def test_from_events_rejects_bad_events() -> None:
    with pytest.raises(errors.ProtocolError, match="unknown event kind"):
        Patch.from_events([{"k": "nope"}])
    with pytest.raises(errors.ProtocolError):
        Patch.from_events([5])


def test_patch_equality_and_repr() -> None:
    a = Patch.from_events([{"k": "title", "title": "x"}])
    assert a == Patch.from_events([{"k": "title", "title": "x"}])
    assert a != Patch.from_events([{"k": "title", "title": "y"}])
    assert a != "x"
    assert "title" in repr(a)


def test_a_flushed_patch_applies_to_a_mirror() -> None:
    server = sample_document()
    mirror = Document.from_snapshot(server.snapshot())
    server.set("s1", "value", 4.0)
    server.stream("src", "data", {"x": [4.0], "y": ["d"]}, rollover=3)
    mirror.apply(Patch.decode(server.flush().encode()))  # type: ignore[union-attr]
    assert mirror == server


def test_reassigning_data_that_only_grew_records_a_stream() -> None:
    d = sample_document()
    d.set("src", "data", {"x": np.array([1.0, 2.0, 3.0, 4.0]), "y": ["a", "b", "c", "d"]})
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["k"] == "stream" and list(e["columns"]["x"]) == [4.0] and e["columns"]["y"] == ["d"]
    d.set("src", "data", {"x": np.array([1.0, 2.0, 3.0, 5.0]), "y": ["a", "b", "c", "d"]})
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["k"] == "data" and e["replace"] is False and list(e["columns"]) == ["x"]
    d.set("src", "data", {"x": np.array([1.0, 2.0, 3.0, 5.0]), "y": ["a", "b", "c", "d"]})
    assert d.flush() is None, "the same data again sends nothing"
    d.set("src", "data", {"x": np.array([0.0])})
    (e,) = d.flush().events()  # type: ignore[union-attr]
    assert e["k"] == "data" and e["replace"] is True


def test_snapshot_and_patches_say_defaults_and_writable_props_of_their_types() -> None:
    import msgpack

    d = Document()
    d.add_model("s1", "CoreSlider", {"value": 1.0})
    d.add_root("s1")
    snap = msgpack.unpackb(d.snapshot(), raw=False, strict_map_key=False)
    assert snap["writable"] == {"CoreSlider": ["value"]}
    assert snap["defaults"]["CoreSlider"]["title"] == ""
    d.flush()
    # a type first seen in a patch comes with its defaults and writable props
    d.add_model("b1", "CoreBox", {"child": Ref("s1")})
    d.add_root("b1")
    patch = d.flush()
    assert patch is not None
    payload = msgpack.unpackb(patch.encode(), raw=False, strict_map_key=False, ext_hook=lambda c, b: (c, b))
    assert payload["writable"] == {"CoreBox": []}
    assert payload["defaults"]["CoreBox"] == {"children": [], "child": None, "name": ""}
    assert Patch.decode(patch.encode()).encode() == patch.encode()
    # patches without new types carry only events
    d.set("s1", "value", 2.0)
    assert set(msgpack.unpackb(d.flush().encode(), raw=False)) == {"events"}  # type: ignore[union-attr]
