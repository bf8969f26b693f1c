"""ColumnDataSource: the data mapping, list columns, stream, patch, pandas."""

from __future__ import annotations

import numpy as np
import pytest

from docsync.document import Document
from docsync.errors import ColumnError, ValidationError
from docsync.models import ColumnDataSource, Div


@pytest.fixture(params=["detached", "attached"])
def where(request, doc):
    return request.param


def _source(doc, where, **data):
    src = ColumnDataSource(data=data)
    if where == "attached":
        doc.add_root(src)
    return src


def test_data_mapping(doc, where):
    src = _source(doc, where, x=[1, 2], y=np.array([3.0, 4.0]))
    assert sorted(src.data) == ["x", "y"] and len(src.data) == 2 and "x" in src.data
    assert src.data["x"] == [1, 2] and src.data["y"].tolist() == [3.0, 4.0]
    src.data["z"] = np.array([5, 6])
    assert src.data["z"].tolist() == [5, 6]
    src.data = {"a": ["p", "q", "r"]}
    assert list(src.data) == ["a"] and src.data["a"] == ["p", "q", "r"]
    assert src.data == {"a": ["p", "q", "r"]}
    del src.data["a"]
    assert list(src.data) == []
    with pytest.raises(ValidationError):
        src.data = {"a": object()}
    with pytest.raises(ValidationError):
        src.data = [1, 2]


def test_list_column_append_syncs(doc, where):
    src = _source(doc, where, x=[], y=[])
    seen = []
    src.on_change("data", lambda attr, old, new: seen.append(attr))
    src.data["x"].append(1.5)
    src.data["y"].append(2.5)
    assert src.data["x"] == [1.5] and src.data["y"] == [2.5]
    assert len(seen) == 2
    if where == "attached":
        doc._flush()
        c = Document.from_snapshot(doc._snapshot()).get_model_by_id(src.id)
        assert c.data["x"] == [1.5] and c.data["y"] == [2.5]


def test_engine_arrays_are_read_only(doc):
    src = ColumnDataSource(data={"x": np.arange(3.0)})
    doc.add_root(src)
    arr = src.data["x"]
    assert not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[0] = 10


def test_stream_with_rollover(doc, where):
    src = _source(doc, where, x=np.array([1.0, 2.0]), y=["a", "b"])
    seen = []
    src.on_change("data", lambda attr, old, new: seen.append((list(old["y"]), list(new["y"]))))
    src.stream({"x": np.array([3.0]), "y": ["c"]}, rollover=2)
    assert src.data["x"].tolist() == [2.0, 3.0] and src.data["y"] == ["b", "c"]
    assert seen == [(["a", "b"], ["b", "c"])]
    with pytest.raises(ColumnError):
        src.stream({"x": [1.0]})
    with pytest.raises(ValueError):
        src.stream({"x": [1.0], "y": ["d"]}, rollover=-1)


@pytest.mark.parametrize(
    "new",
    [
        np.array([3.0], dtype=">f8"),  # other byte order: made native
        np.array([3.0], dtype="float16"),  # half floats: made float32
        np.array([3], dtype="int8"),  # stays as it is
    ],
)
def test_streamed_numpy_columns_are_normalised_as_data_is(doc, where, new):
    # Ready-made columns skip the per-column normalisation; the others still get it.
    src = _source(doc, where, x=np.array([1.0, 2.0]))
    src.stream({"x": new})
    assert src.data["x"].tolist() == [1.0, 2.0, 3.0]


def test_stream_is_one_stream_event(doc):
    src = ColumnDataSource(data={"x": np.array([1.0])})
    doc.add_root(src)
    doc._flush()
    src.stream({"x": np.array([2.0])})
    src.stream({"x": np.array([3.0])})
    events = doc._flush().events()
    assert [e["k"] for e in events] == ["stream"]
    assert events[0]["columns"]["x"].tolist() == [2.0, 3.0]


def test_patch(doc, where):
    src = _source(doc, where, x=np.array([1.0, 2.0, 3.0]), s=["a", "b", "c"])
    src.patch({"x": [(0, 10.0), (slice(1, 3), [20.0, 30.0])], "s": [(2, "z")]})
    assert src.data["x"].tolist() == [10.0, 20.0, 30.0] and src.data["s"] == ["a", "b", "z"]
    with pytest.raises(ColumnError):
        src.patch({"x": [(3, 1.0)]})
    with pytest.raises(ColumnError, match="unknown column"):
        src.patch({"nope": [(0, 1.0)]})
    assert src.data["x"].tolist() == [10.0, 20.0, 30.0]


def test_pandas_dataframe(doc):
    import pandas as pd  # a test dependency (pyproject [test])
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}, index=pd.Index([10, 20], name="k"))
    src = ColumnDataSource(df)
    assert sorted(src.data) == ["a", "b", "k"] and src.data["b"] == ["x", "y"]
    assert src.data["k"].tolist() == [10, 20]
    doc.add_root(src)
    src.stream(pd.DataFrame({"a": [3.0], "b": ["z"]}, index=pd.Index([30], name="k")))
    assert src.data["a"].tolist() == [1.0, 2.0, 3.0] and src.data["k"].tolist() == [10, 20, 30]
    ts = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2020-01-02"])})
    src2 = ColumnDataSource(ts)
    assert src2.data["t"].dtype == np.dtype("datetime64[ms]")
    assert src.to_df()["a"].tolist() == [1.0, 2.0, 3.0]


def test_unequal_lengths_wait_until_they_agree(doc):
    """The seed appends to one column at a time; the data reach the engine when the
    columns agree again (at the latest at the flush / trigger)."""
    src = ColumnDataSource(data={"x": [], "y": []})
    doc.add_root(Div())
    doc.add_root(src)
    doc._flush()
    src.data["x"].append(1)
    assert src.data["x"] == [1] and src.data["y"] == []
    src.data["y"].append(2)
    events = doc._flush().events()
    data = [e for e in events if e["k"] in ("data", "stream")]
    assert len(data) == 1
    copy = Document.from_snapshot(doc._snapshot())
    assert copy.get_model_by_id(src.id).data == {"x": [1], "y": [2]}


def test_object_and_string_arrays_become_lists():
    src = ColumnDataSource(data={"s": np.array(["a", "b"]), "o": np.array([1, "x"], dtype=object)})
    assert src.data["s"] == ["a", "b"] and src.data["o"] == [1, "x"]


def test_add_and_remove():
    src = ColumnDataSource()
    name = src.add([1, 2])
    assert name == "Series 0" and src.column_names == ["Series 0"]
    src.remove(name)
    src.remove("missing")
    assert src.column_names == []
