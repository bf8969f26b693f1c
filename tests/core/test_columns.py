"""The column store through the Python API (docsync.core.Document): streams with
rollover, patches, dtype rules, atomic errors, and numpy views that never move."""

from __future__ import annotations

import gc
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docsync import errors
from docsync.core import ColumnArray, Document, register_type

settings.register_profile("fast", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("slow", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

TYPE = "ColumnsTestSource"
register_type(TYPE, [("data", "columns", {}, False)])


def make(data: dict[str, Any]) -> Document:
    doc = Document()
    doc.add_model("s", TYPE, {"data": data})
    doc.add_root("s")
    return doc


def col(doc: Document, name: str) -> Any:
    return doc.get_column("s", "data", name)


def address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def snapshot(doc: Document) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in doc.column_names("s", "data"):
        v = col(doc, name)
        out[name] = np.array(v).copy() if isinstance(v, np.ndarray) else list(v)
    return out


def same_data(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if list(a) != list(b):
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            if not (isinstance(y, np.ndarray) and x.dtype == y.dtype and x.shape == y.shape):
                return False
            if x.tobytes() != y.tobytes():
                return False
        elif x != y:
            return False
    return True


# ------------------------------------------------------------------ basics


def test_columns_read_back_as_read_only_views() -> None:
    doc = make({"x": np.arange(5.0), "s": list("abcde")})
    assert doc.column_names("s", "data") == ["x", "s"]
    assert doc.column_len("s", "data") == 5
    x = col(doc, "x")
    assert isinstance(x, ColumnArray) and not x.flags.writeable
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert col(doc, "s") == list("abcde")
    # reading twice shares the same memory (no copy of the column)
    assert address(col(doc, "x")) == address(x)
    with pytest.raises(errors.ColumnError, match="stream"):
        x[0] = 10.0
    with pytest.raises(errors.ColumnError, match="patch"):
        x += 1


def test_input_arrays_are_copied_once_so_later_writes_do_not_leak_in() -> None:
    src = np.arange(3.0)
    doc = make({"x": src})
    src[0] = 99.0
    assert col(doc, "x").tolist() == [0.0, 1.0, 2.0]


def test_unequal_lengths_name_the_columns() -> None:
    with pytest.raises(errors.ColumnError) as info:
        make({"x": np.arange(3.0), "y": [1, 2]})
    assert '"x": 3' in str(info.value) and '"y": 2' in str(info.value)


# ------------------------------------------------------------------ stream


def test_stream_and_rollover() -> None:
    doc = make({"x": np.arange(3.0), "n": np.arange(3, dtype="int32"), "s": ["a", "b", "c"]})
    doc.flush()
    doc.stream("s", "data", {"x": [3.0, 4.0], "n": np.array([3, 4], dtype="int64"), "s": ["d", "e"]}, rollover=4)
    assert col(doc, "x").tolist() == [1.0, 2.0, 3.0, 4.0]
    assert col(doc, "n").dtype == np.int32 and col(doc, "n").tolist() == [1, 2, 3, 4]
    assert col(doc, "s") == ["b", "c", "d", "e"]
    patch = doc.flush()
    assert patch is not None
    (event,) = [e for e in patch.events() if e["k"] == "stream"]
    assert event["rollover"] == 4
    assert list(event["columns"]["x"]) == [3.0, 4.0]  # the event carries only the new rows


@pytest.mark.parametrize(
    "columns",
    [
        {"x": [3.0]},  # a list column: the model layer normalises it
        {"x": np.array([3.0], dtype=">f8")},  # other byte order
        {"x": np.array([3.0], dtype="float16")},  # made float32 by the model layer
        {"x": np.array(["2024-01-01"], dtype="datetime64[ms]")},
        {"x": np.array([3.0]).view(np.recarray)},  # an ndarray subclass
        {b"x": np.array([3.0])},  # a key that is not a str
        [("x", np.array([3.0]))],  # not a dict
    ],
)
def test_try_stream_takes_only_ready_numpy_columns_and_changes_nothing_otherwise(columns: Any) -> None:
    doc = make({"x": np.arange(2.0)})
    doc.flush()
    before = snapshot(doc)
    assert doc.try_stream("s", "data", columns, 10) is False
    assert same_data(snapshot(doc), before) and doc.flush() is None


def test_try_stream_streams_ready_columns_as_stream_does() -> None:
    doc = make({"x": np.arange(2.0), "n": np.arange(2, dtype="int16")})
    doc.flush()
    assert doc.try_stream("s", "data", {"x": np.array([2.0, 3.0]), "n": np.array([2, 3], dtype="int64")}, 3) is True
    assert col(doc, "x").tolist() == [1.0, 2.0, 3.0] and col(doc, "n").tolist() == [1, 2, 3]
    (event,) = doc.flush().events()
    assert event["k"] == "stream" and event["rollover"] == 3
    before = snapshot(doc)
    with pytest.raises(errors.ColumnError):  # ready arrays, wrong columns: the engine's error
        doc.try_stream("s", "data", {"x": np.array([4.0])})
    assert same_data(snapshot(doc), before)


def test_ints_stream_into_float_columns_but_not_floats_into_ints() -> None:
    doc = make({"f": np.zeros(1), "i": np.zeros(1, dtype="int16")})
    doc.stream("s", "data", {"f": np.array([7], dtype="int64"), "i": [True]})
    assert col(doc, "f").tolist() == [0.0, 7.0] and col(doc, "i").tolist() == [0, 1]
    before = snapshot(doc)
    with pytest.raises(errors.ColumnError, match="float"):
        doc.stream("s", "data", {"f": [1.0], "i": [1.5]})
    with pytest.raises(errors.ColumnError, match="does not fit"):
        doc.stream("s", "data", {"f": [1.0], "i": [70000]})
    assert same_data(snapshot(doc), before)


def test_none_streams_as_nan_into_float_columns() -> None:
    doc = make({"f": np.zeros(1)})
    doc.stream("s", "data", {"f": [None]})
    assert np.isnan(col(doc, "f")[1])


@pytest.mark.parametrize(
    ("new", "rollover", "match"),
    [
        ({"x": [1.0]}, None, "missing columns"),
        ({"x": [1.0], "s": ["a"], "z": [1]}, None, "unknown columns"),
        ({"x": [1.0, 2.0], "s": ["a"]}, None, r'"x": 2.*"s": 1'),
        ({"x": ["a"], "s": ["a"]}, None, "str"),
        ({"x": [1.0], "s": ["a"]}, 0, "rollover"),
        ({"x": [1.0], "s": ["a"]}, -5, "rollover"),
        ({"x": np.zeros((1, 2)), "s": ["a"]}, None, "shape"),
        ({"x": 1.0, "s": ["a"]}, None, "array or a list"),
    ],
)
def test_bad_streams_change_nothing(new: dict[str, Any], rollover: int | None, match: str) -> None:
    doc = make({"x": np.arange(3.0), "s": ["a", "b", "c"]})
    doc.flush()
    before, version = snapshot(doc), doc.version
    with pytest.raises(errors.ColumnError, match=match):
        doc.stream("s", "data", new, rollover=rollover)
    assert same_data(snapshot(doc), before)
    assert doc.version == version and not doc.has_pending()


def test_set_column_may_leave_lengths_unequal_until_fixed() -> None:
    doc = make({"x": np.arange(2.0), "y": np.arange(2.0)})
    doc.set_column("s", "data", "x", np.arange(3.0))
    with pytest.raises(errors.ColumnError, match="same length"):
        doc.stream("s", "data", {"x": [1.0], "y": [1.0]})
    doc.set_column("s", "data", "y", np.arange(3.0))
    doc.stream("s", "data", {"x": [1.0], "y": [1.0]})
    assert doc.column_len("s", "data") == 4


# ------------------------------------------------------------------ patch


def test_patch_by_index_slice_and_multi_index() -> None:
    img = np.arange(12.0).reshape(2, 2, 3)
    doc = make({"x": np.arange(6.0), "s": list("abcdef"), "img": np.stack([img[0], img[1], img[0], img[1], img[0], img[1]])})
    doc.patch_columns(
        "s",
        "data",
        {
            "x": [(0, 10.0), (slice(2, 6, 2), [20.0, 40.0]), (slice(None, 1), np.array([-1.0]))],
            "s": [(5, "F"), (slice(0, 2), ["A", "B"])],
            "img": [([1, 0, slice(1, None)], [-1.0, -2.0]), ([0, 1, 2], 99.0), (3, np.zeros((2, 3)))],
        },
    )
    assert col(doc, "x").tolist() == [-1.0, 1.0, 20.0, 3.0, 40.0, 5.0]
    assert col(doc, "s") == ["A", "B", "c", "d", "e", "F"]
    got = col(doc, "img")
    assert got[1, 0].tolist() == [6.0, -1.0, -2.0]
    assert got[0, 1, 2] == 99.0
    assert got[3].tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize(
    ("patches", "match"),
    [
        ({"x": [(3, 1.0)]}, "out of range"),  # i == len
        ({"x": [(-1, 1.0)]}, "negative"),
        ({"x": [(slice(2, 1), [])]}, "reversed"),
        ({"x": [(slice(-2, None), [1.0, 2.0])]}, "negative"),
        ({"x": [(slice(0, 4), [1.0] * 4)]}, "out of range"),
        ({"x": [(slice(0, 3, 0), [])]}, "step"),
        ({"x": [(slice(0, 2), [1.0])]}, "2 element"),
        ({"x": [(0, "a")]}, "str"),
        ({"i": [(0, 1.5)]}, "float"),
        ({"zz": [(0, 1)]}, "unknown column"),
        ({"x": [([0, 1], 1.0)]}, "multi-index"),
        ({"s": [(3, "z")]}, "out of range"),
    ],
)
def test_bad_patches_change_nothing(patches: dict[str, Any], match: str) -> None:
    doc = make({"x": np.arange(3.0), "i": np.arange(3), "s": ["a", "b", "c"]})
    doc.flush()
    before, version = snapshot(doc), doc.version
    # a valid patch first: it must not be applied either
    with pytest.raises(errors.ColumnError, match=match):
        doc.patch_columns("s", "data", {"i": [(0, 100)], **patches} if "i" not in patches else patches)
    assert same_data(snapshot(doc), before)
    assert doc.version == version and not doc.has_pending()


# ------------------------------------------------------------------ views never move


def test_view_survives_appends_rollovers_patches_and_deletion() -> None:
    doc = make({"x": np.arange(10.0), "s": [str(i) for i in range(10)]})
    early = col(doc, "x")
    early_values = early.tolist()
    views = []
    for i in range(1000):
        doc.stream("s", "data", {"x": [float(i)], "s": [str(i)]}, rollover=50)
        if i % 100 == 0:
            doc.patch_columns("s", "data", {"x": [(0, -1.0)]})
            v = col(doc, "x")
            views.append((v, v.tolist()))
    del doc
    gc.collect()
    assert early.tolist() == early_values
    for v, values in views:
        assert v.tolist() == values


def test_appends_do_not_copy_the_column() -> None:
    n = 1_000_000
    doc = make({"x": np.zeros(n)})
    doc.stream("s", "data", {"x": [1.0]}, rollover=n)  # first append moves into growable memory
    addrs = []
    for i in range(100):
        doc.stream("s", "data", {"x": [float(i)]}, rollover=n)
        addrs.append(address(col(doc, "x")))
    # rollover by one row moves the start by 8 bytes: same buffer, no copy
    steps = [b - a for a, b in zip(addrs, addrs[1:])]
    assert steps == [8] * len(steps)
    assert col(doc, "x")[-1] == 99.0 and doc.column_len("s", "data") == n


def test_patch_with_a_live_view_copies_and_leaves_the_view_alone() -> None:
    doc = make({"x": np.arange(4.0)})
    doc.stream("s", "data", {"x": [4.0]})
    view = col(doc, "x")
    doc.patch_columns("s", "data", {"x": [(0, 100.0)]})
    assert view.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert col(doc, "x").tolist() == [100.0, 1.0, 2.0, 3.0, 4.0]


def test_copies_of_a_document_share_columns_copy_on_write() -> None:
    doc = make({"x": np.arange(3.0)})
    doc.stream("s", "data", {"x": [3.0]})
    other = doc.copy()
    doc.stream("s", "data", {"x": [4.0]})
    other.stream("s", "data", {"x": [-4.0]})
    assert col(doc, "x").tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert col(other, "x").tolist() == [0.0, 1.0, 2.0, 3.0, -4.0]


# ------------------------------------------------------------------ against numpy


ops = st.lists(
    st.one_of(
        st.tuples(st.just("stream"), st.integers(0, 40), st.none() | st.integers(1, 60)),
        st.tuples(st.just("index"), st.integers(0, 200), st.floats(-1e6, 1e6)),
        st.tuples(st.just("slice"), st.integers(0, 200), st.integers(0, 200), st.integers(1, 4)),
    ),
    max_size=30,
)


@given(st.integers(0, 30), ops, st.integers(0, 2**31))
def test_streams_and_patches_match_numpy(n0: int, operations: list[Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref: dict[str, Any] = {"x": rng.random(n0), "i": rng.integers(-100, 100, n0).astype("int32"), "s": [f"r{j}" for j in range(n0)]}
    doc = make({k: (v.copy() if isinstance(v, np.ndarray) else list(v)) for k, v in ref.items()})
    held = []
    for op in operations:
        n = len(ref["s"])
        if op[0] == "stream":
            k, rollover = op[1], op[2]
            new = {"x": rng.random(k), "i": rng.integers(-100, 100, k).astype("int64"), "s": [f"n{j}" for j in range(k)]}
            doc.stream("s", "data", new, rollover=rollover)
            ref["x"] = np.concatenate([ref["x"], new["x"]])
            ref["i"] = np.concatenate([ref["i"], new["i"].astype("int32")])
            ref["s"] = ref["s"] + new["s"]
            if rollover is not None:
                ref = {k2: v[-rollover:] if len(v) > rollover else v for k2, v in ref.items()}
        elif op[0] == "index":
            i, value = op[1], op[2]
            if i >= n:
                with pytest.raises(errors.ColumnError):
                    doc.patch_columns("s", "data", {"x": [(i, value)]})
                continue
            doc.patch_columns("s", "data", {"x": [(i, value)], "s": [(i, "p")]})
            ref["x"] = ref["x"].copy()
            ref["x"][i] = value
            ref["s"] = list(ref["s"])
            ref["s"][i] = "p"
        else:
            start, stop, step = op[1], op[2], op[3]
            if start > stop or stop > n:
                with pytest.raises(errors.ColumnError):
                    doc.patch_columns("s", "data", {"i": [(slice(start, stop, step), [])]})
                continue
            count = len(range(start, stop, step))
            values = np.arange(count, dtype="int32")
            doc.patch_columns("s", "data", {"i": [(slice(start, stop, step), values)]})
            ref["i"] = ref["i"].copy()
            ref["i"][start:stop:step] = values
        got = snapshot(doc)
        assert np.array_equal(got["x"], ref["x"]) and got["x"].dtype == np.float64
        assert np.array_equal(got["i"], ref["i"]) and got["i"].dtype == np.int32
        assert got["s"] == list(ref["s"])
        held.append((col(doc, "x"), np.array(ref["x"]).copy()))
    for view, expected in held:
        assert np.array_equal(view, expected)


def test_multi_index_into_a_list_of_images() -> None:
    img = np.arange(6.0).reshape(2, 3)
    doc = make({"image": [img, img * 10]})
    doc.patch_columns("s", "data", {"image": [([1, 0, slice(0, 2)], [-1.0, -2.0]), ([0, 1, 2], 99.0)]})
    rows = col(doc, "image")
    assert rows[1].tolist() == [[-1.0, -2.0, 20.0], [30.0, 40.0, 50.0]]
    assert rows[0][1, 2] == 99.0
    assert img.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(errors.ColumnError, match="out of range"):
        doc.patch_columns("s", "data", {"image": [([0, 2, 0], 1.0)]})


junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=3)
    | st.builds(slice, st.none() | st.integers(-3, 8), st.none() | st.integers(-3, 8), st.none() | st.integers(-2, 3))
    | st.builds(lambda n, d: np.zeros(n, dtype=d), st.integers(0, 4), st.sampled_from(["float64", "int8", "bool", "uint64"])),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["start", "stop", "step", "x"]), children, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["x", "s", "img", "nope"]), st.lists(st.tuples(junk, junk), max_size=3) | junk, max_size=3))
def test_arbitrary_patches_fail_cleanly_or_apply(patches: dict[str, Any]) -> None:
    doc = make({"x": np.arange(4.0), "s": list("abcd"), "img": np.zeros((4, 2, 2), dtype="int16")})
    before = snapshot(doc)
    try:
        doc.patch_columns("s", "data", patches)
    except (errors.DocsyncError, TypeError):  # TypeError: a patches value that is not a dict
        assert same_data(snapshot(doc), before)


@given(st.dictionaries(st.sampled_from(["x", "s", "img", "nope"]), junk, max_size=4), st.none() | st.integers(-2, 10))
def test_arbitrary_streams_fail_cleanly_or_apply(new: dict[str, Any], rollover: int | None) -> None:
    doc = make({"x": np.arange(4.0), "s": list("abcd"), "img": np.zeros((4, 2, 2), dtype="int16")})
    before = snapshot(doc)
    try:
        doc.stream("s", "data", new, rollover=rollover)
    except errors.DocsyncError:
        assert same_data(snapshot(doc), before)


def test_datetimes_stream_into_datetime_columns() -> None:
    import datetime as dt

    doc = make({"t": np.array(["2024-01-01T00:00:00"], dtype="datetime64[ms]"), "y": [1]})
    doc.stream("s", "data", {"t": [dt.datetime(2024, 1, 1, 0, 0, 1), None], "y": [2, 3]})
    doc.stream("s", "data", {"t": np.array(["2024-01-01T00:00:02"], dtype="datetime64[s]"), "y": [4]})
    t = col(doc, "t")
    assert t.dtype == np.dtype("datetime64[ms]")
    assert t[1] == np.datetime64("2024-01-01T00:00:01.000") and np.isnat(t[2])
    assert t[3] == np.datetime64("2024-01-01T00:00:02.000")


def test_views_passed_back_to_the_engine_are_not_copied() -> None:
    doc = make({"x": np.arange(10.0), "y": np.arange(10.0)})
    x = col(doc, "x")
    doc.set_column("s", "data", "y", x)
    assert address(col(doc, "y")) == address(x)
    doc.set_column("s", "data", "y", x[2:4])  # a contiguous slice of a view: still shared
    assert address(col(doc, "y")) == address(x) + 16
    doc.set_column("s", "data", "y", x[::2])  # not contiguous: copied
    assert col(doc, "y").tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    # later appends and patches of x never show through y
    doc.set_column("s", "data", "y", x)
    doc.stream("s", "data", {"x": [10.0], "y": [10.0]})
    doc.patch_columns("s", "data", {"x": [(0, -1.0)]})
    assert col(doc, "y").tolist() == [*np.arange(10.0).tolist(), 10.0]
    assert col(doc, "x")[0] == -1.0


class _Subclass(np.ndarray):
    pass


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def test_streamed_numpy_rows_are_copied_so_later_writes_do_not_leak_in() -> None:
    # numpy input is read in place during the call: neither the column, the list column
    # of images nor the pending stream event may keep seeing the caller's memory.
    doc = make({"x": np.arange(2.0), "img": [np.zeros((2, 2)), np.ones((2, 2))]})
    doc.flush()
    x, img = np.array([5.0, 6.0]), np.full((2, 2, 2), 7.0)
    doc.stream("s", "data", {"x": x, "img": img})
    x[:] = -1.0
    img[:] = -1.0
    assert col(doc, "x").tolist() == [0.0, 1.0, 5.0, 6.0]
    assert col(doc, "img")[2].tolist() == [[7.0, 7.0], [7.0, 7.0]]
    [event] = doc.flush().events()
    assert event["columns"]["x"].tolist() == [5.0, 6.0]
    assert np.asarray(event["columns"]["img"]).tolist() == [[[7.0, 7.0], [7.0, 7.0]]] * 2


@pytest.mark.parametrize(
    "new",
    [
        np.arange(4, dtype=">f8")[1:3],  # non-native byte order: refused with a hint below
        np.arange(6.0)[::3],  # strided
        np.arange(2, dtype="int16"),  # converted to the column's dtype
        np.frombuffer(bytes([0, 2]), dtype=bool),  # bools of any non-zero byte (read-only)
        np.array([0, 2], dtype=np.uint8).view(bool),  # the same, writable
        np.arange(2.0).view(_Subclass),  # an ndarray subclass (read through the buffer protocol)
        _read_only(np.arange(2.0)),
        np.arange(2.0).reshape(2, 1)[:, 0],  # a column of a 2-d array
        np.require(np.arange(2.0), requirements="C").copy(),
    ],
)
def test_streamed_arrays_of_every_layout_read_as_numpy_does(new: np.ndarray) -> None:
    doc = make({"x": np.arange(1.0), "b": np.zeros(1, dtype=bool)})
    if new.dtype.byteorder == ">":
        with pytest.raises(errors.EncodeError, match="byte order"):
            doc.stream("s", "data", {"x": new, "b": np.zeros(2, dtype=bool)})
        return
    b = new.astype(bool) if new.dtype != bool else new
    doc.stream("s", "data", {"x": new.astype(np.float64) if new.dtype == bool else new, "b": b})
    assert col(doc, "x").tolist()[1:] == np.asarray(new, dtype=np.float64).tolist()
    assert col(doc, "b").tolist()[1:] == [bool(v) for v in b]
    assert set(col(doc, "b").view(np.uint8).tolist()) <= {0, 1}


@pytest.mark.parametrize(
    "dtype", ["?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d", "<f8", "=i4", np.intp, np.uintp]
)
@pytest.mark.parametrize("shape", [(3,), (3, 2), (3, 1, 2), (0,)])
def test_numpy_arrays_of_each_native_dtype_stream_as_numpy_reads_them(dtype: Any, shape: tuple[int, ...]) -> None:
    # exact ndarrays are read from numpy's struct, not through the buffer protocol:
    # every dtype character, byte-order spelling and shape must read back as numpy has it
    start = np.zeros((1, *shape[1:]), dtype=dtype)
    doc = make({"x": start})
    new = (np.arange(int(np.prod(shape))) % 3).astype(dtype).reshape(shape)
    doc.stream("s", "data", {"x": new})
    got = col(doc, "x")
    assert got.dtype == np.dtype(dtype).newbyteorder("=")
    assert got.shape == (1 + shape[0], *shape[1:])
    assert got[1:].tolist() == new.tolist()


def test_rolling_columns_reuse_their_buffer_and_keep_every_row_right() -> None:
    # With no view or pending event holding it, a full rolling column slides its rows back
    # to the start of its buffer; views taken along the way must never change.
    doc = make({"x": np.zeros(0), "n": np.zeros(0, dtype="int32")})
    ref = np.zeros(0)
    held = []
    for i in range(400):
        new = np.arange(i * 7, i * 7 + 7, dtype=np.float64)
        doc.stream("s", "data", {"x": new, "n": new.astype("int32")}, rollover=50)
        doc.discard_pending()
        ref = np.concatenate([ref, new])[-50:]
        if i % 97 == 0:
            held.append((col(doc, "x"), ref.copy()))
        assert col(doc, "x").tolist() == ref.tolist()
        assert col(doc, "n").tolist() == ref.astype("int32").tolist()
    for view, expected in held:
        assert view.tolist() == expected.tolist()
