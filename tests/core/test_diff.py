"""docsync.core.diff / apply: documents (keyed by model id, smallest patch) and plain
trees with RFC 6902 conversion, checked against the `jsonpatch` package."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import numpy as np
import pytest
from engine_helpers import ops, run_op, sample_document
from hypothesis import given
from hypothesis import strategies as st

from docsync import errors
from docsync.core import Document, Patch, Ref, apply, diff

# ---- documents -----------------------------------------------------------------------


def test_diff_of_equal_documents_is_empty() -> None:
    a = sample_document()
    assert diff(a, a.copy()).is_empty()
    assert diff(a, Document.from_snapshot(a.snapshot())).is_empty()


def test_diff_holds_only_the_changed_property() -> None:
    a = sample_document()
    b = a.copy()
    b.set("s1", "value", 3.0)
    assert diff(a, b).events() == [{"k": "set", "id": "s1", "prop": "value", "value": 3.0}]


def test_diff_sends_a_grown_column_as_a_stream() -> None:
    a = sample_document()
    b = a.copy()
    b.set("src", "data", {"x": np.array([1.0, 2.0, 3.0, 4.0, 5.0]), "y": ["a", "b", "c", "d", "e"]})
    (e,) = diff(a, b).events()
    assert e["k"] == "stream" and e["rollover"] is None
    assert list(e["columns"]["x"]) == [4.0, 5.0] and e["columns"]["y"] == ["d", "e"]
    c = a.copy()
    apply(c, diff(a, b))
    assert c == b


def test_diff_sends_only_changed_columns() -> None:
    a = sample_document()
    b = a.copy()
    b.set_column("src", "data", "x", np.array([9.0, 9.0, 9.0]))
    (e,) = diff(a, b).events()
    assert e["k"] == "data" and e["replace"] is False and list(e["columns"]) == ["x"]


def test_diff_of_structure_changes() -> None:
    a = sample_document()
    b = a.copy()
    b.add_model("n", "CoreSlider", {"value": 2.0})
    b.add_root("n")
    b.set("box", "children", [Ref("s1")])
    b.collect()
    b.set_title("t2")
    p = diff(a, b)
    assert sorted(e["k"] for e in p.events()) == ["del", "new", "root+", "set", "title"]
    assert apply(a, p) is a
    assert a == b


def test_diff_does_not_look_at_unchanged_models() -> None:
    # 2,000 models, one change: the diff holds exactly one event (and is fast; see benches).
    a = Document()
    a.add_model("root", "CoreBox", {"children": [Ref(f"s{i}") for i in range(2000)]})
    for i in range(2000):
        a.add_model(f"s{i}", "CoreSlider", {"value": float(i)})
    a.add_root("root")
    b = a.copy()
    b.set("s1234", "title", "changed")
    assert diff(a, b).events() == [{"k": "set", "id": "s1234", "prop": "title", "value": "changed"}]


@given(st.lists(ops, max_size=15), st.lists(ops, max_size=15), st.booleans())
def test_apply_of_diff_gives_the_target(first: list[Any], second: list[Any], independent: bool) -> None:
    a = sample_document()
    for op in first:
        run_op(a, op)
    a.flush()
    # b either shares a's models (a copy, then changed) or is built on its own.
    b = sample_document() if independent else a.copy()
    for op in second:
        run_op(b, op)
    b.flush()
    p = diff(a, b)
    assert Patch.decode(p.encode()) == p
    target = Document.from_snapshot(a.snapshot())
    apply(target, p)
    assert target == b
    shared = a.copy()
    shared.apply(p)
    assert shared == b


# ---- plain trees ---------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4))
trees = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=15,
)


@given(trees, trees)
def test_tree_apply_of_diff_gives_the_target(a: Any, b: Any) -> None:
    assert apply(a, diff(a, b)) == b


@given(trees, trees)
def test_json_patch_agrees_with_jsonpatch(a: Any, b: Any) -> None:
    ops = diff(a, b).to_json_patch()
    assert jsonpatch.apply_patch(copy.deepcopy(a), ops) == b
    theirs = jsonpatch.make_patch(a, b).patch
    assert apply(a, Patch.from_json_patch(theirs)) == b
    assert Patch.from_json_patch(ops).to_json_patch() == ops


def test_tree_diff_with_numpy_arrays() -> None:
    a = {"x": np.arange(3.0), "meta": {"n": 1}}
    b = {"x": np.arange(4.0), "meta": {"n": 2}}
    out = apply(a, diff(a, b))
    assert out["meta"] == {"n": 2} and list(out["x"]) == [0.0, 1.0, 2.0, 3.0]
    assert list(a["x"]) == [0.0, 1.0, 2.0], "apply returns a new tree"


def test_every_json_patch_operation() -> None:
    doc = {"a": [1, 2, 3], "b": {"c": "x"}}
    ops = [
        {"op": "add", "path": "/a/-", "value": 4},
        {"op": "remove", "path": "/a/0"},
        {"op": "replace", "path": "/b/c", "value": "y"},
        {"op": "move", "from": "/b/c", "path": "/d"},
        {"op": "copy", "from": "/a", "path": "/e"},
        {"op": "test", "path": "/d", "value": "y"},
    ]
    assert apply(doc, Patch.from_json_patch(ops)) == jsonpatch.apply_patch(doc, ops)
    assert Patch.from_json_patch(ops).to_json_patch() == ops


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "remove", "path": "/nope"}],
        [{"op": "replace", "path": "/a/5", "value": 1}],
        [{"op": "add", "path": "/a/01", "value": 1}],
        [{"op": "test", "path": "/a/0", "value": 99}],
        [{"op": "move", "from": "/b", "path": "/b/c/d"}],
        [{"op": "add", "path": "no-slash", "value": 1}],
    ],
)
def test_bad_json_patch_operations(ops: list[dict[str, Any]]) -> None:
    doc = {"a": [1], "b": {"c": {}}}
    with pytest.raises(errors.PatchError):
        apply(doc, Patch.from_json_patch(ops))
    assert doc == {"a": [1], "b": {"c": {}}}


def test_malformed_json_patch_operations() -> None:
    for op in [{"op": "jump", "path": "/a"}, {"path": "/a"}, {"op": "add", "path": "/a"}, {"op": "move", "path": "/a"}]:
        with pytest.raises(errors.PatchError):
            Patch.from_json_patch([op])


def test_document_patch_is_not_a_tree_patch() -> None:
    with pytest.raises(errors.PatchError):
        Patch.from_events([{"k": "title", "title": "x"}]).to_json_patch()


def test_diff_sends_props_that_went_back_to_their_default() -> None:
    a = sample_document()
    b = a.copy()
    b.set("s1", "title", "")  # the default: no longer stored in b
    assert "title" not in b.props("s1")
    assert diff(a, b).events() == [{"k": "set", "id": "s1", "prop": "title", "value": ""}]
    apply(a, diff(a, b))
    assert a == b and "title" not in a.props("s1")


def test_diff_of_a_model_whose_type_changed() -> None:
    a = sample_document()
    b = Document.from_snapshot(a.snapshot())
    b.remove_root("box")
    b.add_model("s1", "CoreBox", {"name": "now a box"})
    b.add_root("s1")
    p = diff(a, b)
    kinds = [e["k"] for e in p.events()]
    assert kinds.index("del") < kinds.index("new")
    apply(a, p)
    assert a == b and a.model_type("s1") == "CoreBox"
