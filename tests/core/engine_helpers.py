"""Model types and random-document machinery shared by the engine tests.

The type names carry a ``Core`` prefix so they never collide with the model layer's
registrations (the registry is process-wide)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from docsync import errors
from docsync.core import Document, Ref, register_type

TYPES: dict[str, list[tuple[str, str, Any, bool]]] = {
    "CoreSlider": [
        ("value", "float", 0.0, True),
        ("title", "str", "", False),
        ("step", "nullable(float)", None, False),
        ("align", "enum(start|center|end)", "start", False),
        ("color", "color", "red", False),
        ("tags", "list(any)", [], False),
    ],
    "CoreBox": [
        ("children", "list(ref)", [], False),
        ("child", "nullable(ref(CoreSlider))", None, False),
        ("name", "str", "", False),
    ],
    "CoreSource": [
        ("data", "columns", {}, True),
        ("selected", "list(int)", [], True),
    ],
}


def register_all() -> None:
    for name, props in TYPES.items():
        register_type(name, props)


register_all()

IDS = [f"m{i}" for i in range(8)]


def sample_document() -> Document:
    """A small document: a box holding a slider and a source."""
    d = Document()
    d.add_model("s1", "CoreSlider", {"value": 1.5, "title": "speed"})
    d.add_model("src", "CoreSource", {"data": {"x": np.array([1.0, 2.0, 3.0]), "y": ["a", "b", "c"]}})
    d.add_model("box", "CoreBox", {"children": [Ref("s1"), Ref("src")], "child": Ref("s1")})
    d.add_root("box")
    d.set_title("sample")
    d.flush()
    return d


# ---- random operations on documents -------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), finite, st.text(max_size=5))
ids = st.sampled_from(IDS)


def slider_values() -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(st.just("value"), st.one_of(finite, st.integers(-100, 100))),
        st.tuples(st.just("title"), st.text(max_size=6)),
        st.tuples(st.just("step"), st.one_of(st.none(), finite)),
        st.tuples(st.just("align"), st.sampled_from(["start", "center", "end"])),
        st.tuples(st.just("color"), st.one_of(st.sampled_from(["red", "#00ff00"]), st.lists(st.integers(0, 255), min_size=3, max_size=3))),
        st.tuples(st.just("tags"), st.lists(scalars, max_size=3)),
    )


def source_data(n: int) -> dict[str, Any]:
    return {"x": np.arange(n, dtype=np.float64) * 0.5, "y": [f"r{i}" for i in range(n)]}


ops = st.one_of(
    st.tuples(st.just("add"), ids, st.sampled_from(["CoreSlider", "CoreBox", "CoreSource"])),
    st.tuples(st.just("root+"), ids),
    st.tuples(st.just("root-"), ids),
    st.tuples(st.just("set_slider"), ids, slider_values()),
    st.tuples(st.just("set_child"), ids, st.one_of(st.none(), ids)),
    st.tuples(st.just("set_children"), ids, st.lists(ids, max_size=3)),
    st.tuples(st.just("set_data"), ids, st.integers(0, 4)),
    st.tuples(st.just("stream"), ids, st.integers(0, 3), st.one_of(st.none(), st.integers(1, 6))),
    st.tuples(st.just("patch"), ids, st.integers(0, 5), finite),
    st.tuples(st.just("set_column"), ids, st.integers(0, 5)),
    st.tuples(st.just("title"), st.text(max_size=4)),
    st.tuples(st.just("msg"), st.one_of(st.none(), ids), st.text(max_size=4)),
    st.tuples(st.just("collect")),
)


def run_op(d: Document, op: tuple[Any, ...]) -> bool:
    """Performs one random operation; False if the engine refused it (then nothing
    changed, which this checks)."""
    before = d.snapshot()
    pending = d._pending_events()
    try:
        kind = op[0]
        if kind == "add":
            props: dict[str, Any] = {"data": source_data(2)} if op[2] == "CoreSource" else {}
            d.add_model(op[1], op[2], props)
        elif kind == "root+":
            d.add_root(op[1])
        elif kind == "root-":
            d.remove_root(op[1])
        elif kind == "set_slider":
            d.set(op[1], op[2][0], op[2][1])
        elif kind == "set_child":
            # The model layer adds a model before referring to it; so do we.
            if op[2] is not None and not d.has_model(op[2]):
                return False
            d.set(op[1], "child", None if op[2] is None else Ref(op[2]))
        elif kind == "set_children":
            if not all(d.has_model(i) for i in op[2]):
                return False
            d.set(op[1], "children", [Ref(i) for i in op[2]])
        elif kind == "set_data":
            d.set(op[1], "data", source_data(op[2]))
        elif kind == "stream":
            n = op[2]
            d.stream(op[1], "data", {"x": np.full(n, 7.0), "y": ["s"] * n}, rollover=op[3])
        elif kind == "patch":
            d.patch_columns(op[1], "data", {"x": [(op[2], op[3])]})
        elif kind == "set_column":
            n = d.column_len(op[1], "data")
            d.set_column(op[1], "data", "x", np.full(n, float(op[2])))
        elif kind == "title":
            d.set_title(op[1])
        elif kind == "msg":
            d.send_message(op[1], "ping", {"n": op[2]})
        elif kind == "collect":
            d.collect()
        return True
    except errors.DocsyncError:
        assert d.snapshot() == before, f"{op} failed but changed the document"
        assert len(d._pending_events()) == len(pending), f"{op} failed but recorded events"
        return False
