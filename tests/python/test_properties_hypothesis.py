"""Property-based: any valid value survives set -> engine -> snapshot -> get."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from docsync.document import Document
from docsync.model import Model
from docsync.properties import Color, Dict, Either, Float, Int, List, Nullable, String, Tuple


class Sample(Model):
    f = Float(0.0)
    i = Int(0)
    s = String("")
    n = Nullable(Float())
    li = List(Either(Int(), String()))
    d = Dict(String, List(Float()))
    t = Tuple(Int(), String(), default=(0, ""))
    c = Color("black")


floats = st.floats(allow_nan=False)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
colors = st.one_of(
    st.sampled_from(["red", "navy", "#fff", "#123456", "#12345678"]),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.floats(0, 1)),
)


@settings(max_examples=60, deadline=None)
@given(
    f=floats, i=ints, s=st.text(), n=st.one_of(st.none(), floats),
    li=st.lists(st.one_of(ints, st.text()), max_size=5),
    d=st.dictionaries(st.text(max_size=5), st.lists(floats, max_size=3), max_size=3),
    t=st.tuples(ints, st.text(max_size=5)), c=colors,
)
def test_values_round_trip(f, i, s, n, li, d, t, c):
    values = dict(f=f, i=i, s=s, n=n, li=li, d=d, t=t, c=c)
    m = Sample(**values)
    doc = Document()
    doc.add_root(m)
    back = Document.from_snapshot(doc._snapshot()).get_model_by_id(m.id)
    for k, v in values.items():
        assert getattr(m, k) == v, k
        assert getattr(back, k) == v, k
