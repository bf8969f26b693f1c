"""Model basics: ids, detached/attached values, callbacks, select, browser callbacks."""

from __future__ import annotations

import threading

import pytest

from docsync.document import Document
from docsync.errors import ValidationError
from docsync.events import ButtonClick
from docsync.model import DocumentOwnershipError, make_id
from docsync.models import (
    Button, Column, ColumnDataSource, CustomJS, Div, GlyphRenderer, Line, Plot, Row, Slider, Toggle,
    CheckboxGroup,
)


def test_ids_are_unique_across_threads():
    ids: list[str] = []

    def make() -> None:
        ids.extend(make_id() for _ in range(2000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 8000
    assert Button().id != Button().id
    assert Button(id="mine").id == "mine"


def test_name_tags_and_repr():
    b = Button(name="go", tags=["a", 1])
    assert b.name == "go" and b.tags == ["a", 1]
    assert "Button" in repr(b) and b.id in repr(b)


def test_detached_values_move_into_the_engine_and_back(doc):
    b = Button(label="one")
    assert b.document is None and b._values == {"label": "one"}
    doc.add_root(b)
    assert b.document is doc and b._values is None
    assert doc._engine.get(b.id, "label") == "one"
    b.label = "two"
    assert doc._engine.get(b.id, "label") == "two"
    doc.remove_root(b)
    assert b.document is None and b.label == "two"
    other = Document()
    other.add_root(b)
    assert other._engine.get(b.id, "label") == "two"


def test_children_join_and_leave_with_their_root(doc):
    b, d = Button(), Div(text="hi")
    col = Column(b, d)
    doc.add_root(col)
    assert b.document is doc and d.document is doc
    new = Div(text="late")
    col.children.append(new)  # a tracked list: the new child joins
    assert new.document is doc and doc.get_model_by_id(new.id) is new
    doc.remove_root(col)
    assert col.document is None and new.document is None
    assert [c.id for c in col.children] == [b.id, d.id, new.id]
    assert new.text == "late"


def test_models_of_two_documents_cannot_mix(doc):
    b = Button()
    doc.add_root(b)
    other = Document()
    with pytest.raises(DocumentOwnershipError):
        other.add_root(b)
    with pytest.raises(DocumentOwnershipError):
        other.add_root(Row(b))
    r = Row()
    other.add_root(r)
    with pytest.raises(DocumentOwnershipError, match="another document"):
        r.children = [b]


def test_on_change_fires_with_attr_old_new_detached_and_attached(doc):
    s = Slider(start=0, end=10, value=1)
    seen = []
    s.on_change("value", lambda attr, old, new: seen.append((attr, old, new)))
    s.value = 2
    doc.add_root(s)
    s.value = 3
    assert seen == [("value", 1, 2), ("value", 2, 3)]


def test_on_change_checks_the_signature():
    s = Slider()
    with pytest.raises(TypeError, match=r"must accept \(attr, old, new\)"):
        s.on_change("value", lambda new: None)
    with pytest.raises(TypeError, match="callable"):
        s.on_change("value", 5)
    s.on_change("value", lambda *args: None)  # varargs fit
    s.on_change("value", lambda attr, old, new, extra=1: None)


def test_list_mutation_fires_and_syncs(doc):
    p = Plot()
    doc.add_root(p)
    seen = []
    p.on_change("renderers", lambda attr, old, new: seen.append((len(old), len(new))))
    doc._flush()
    p.renderers.append(GlyphRenderer(glyph=Line()))
    assert seen == [(0, 1)]
    events = doc._flush().events()
    kinds = [e["k"] for e in events]
    assert kinds.count("new") == 4  # renderer, glyph, source, selection and ("set", "renderers") in [(e["k"], e.get("prop")) for e in events]


def test_on_click_with_and_without_event():
    b = Button()
    got = []
    b.on_click(lambda: got.append("plain"))
    b.on_click(lambda event: got.append(event))
    assert b.subscribed_events == ["button_click"]
    b._trigger_event(ButtonClick(b))
    assert got[0] == "plain" and isinstance(got[1], ButtonClick) and got[1].model is b
    with pytest.raises(TypeError, match="wrong signature"):
        b.on_click(lambda a, b: None)
    with pytest.raises(ValueError, match="did you mean 'button_click'"):
        b.on_event("button_clik", lambda: None)


def test_toggle_and_checkbox_on_click():
    t = Toggle()
    got = []
    t.on_click(got.append)
    t.active = True
    assert got == [True]
    c = CheckboxGroup(labels=["a", "b"])
    c.on_click(got.append)
    c.active = [1]
    assert got[-1] == [1]


def test_trigger_fires_callbacks():
    ds = ColumnDataSource(data={"x": [1]})
    seen = []
    ds.on_change("data", lambda attr, old, new: seen.append(attr))
    ds.trigger("data", ds.data, ds.data)
    assert seen == ["data"]


def test_js_callbacks(doc):
    s = Slider()
    cb = CustomJS(args={"s": s}, code="console.log(cb_obj.value)")
    s.js_on_change("value", cb)
    assert s.js_property_callbacks == {"change:value": [cb]}
    b = Button()
    b.js_on_event("button_click", cb)
    b.js_on_click(cb)  # no duplicates
    assert b.js_event_callbacks == {"button_click": [cb]}
    doc.add_root(Row(s, b))
    assert cb.document is doc
    snap = Document.from_snapshot(doc._snapshot())
    s2 = snap.get_model_by_id(s.id)
    assert [c.id for c in s2.js_property_callbacks["change:value"]] == [cb.id]
    assert snap.get_model_by_id(cb.id).args["s"] is s2
    with pytest.raises(AttributeError, match="did you mean 'value'"):
        s.js_on_change("valeu", cb)


def test_select(doc):
    b1, b2, d = Button(name="one"), Button(name="two", tags=["t"]), Div(name="one")
    col = Column(b1, Row(b2, d))
    assert set(col.select({"type": Button})) == {b1, b2}
    assert set(col.select(name="one")) == {b1, d}
    assert col.select_one({"type": Button, "name": "two"}) is b2
    assert col.select({"tags": "t"}) == [b2]
    assert col.select_one({"type": "Div"}) is d
    with pytest.raises(ValueError):
        col.select_one({"type": Button})
    doc.add_root(col)
    assert set(doc.select({"type": Button})) == {b1, b2}
    assert doc.select_one({"name": "two"}) is b2


def test_references_cover_the_whole_graph():
    b = Button()
    col = Column(Row(b))
    refs = col.references()
    assert b in refs and col in refs and len(refs) == 3


def test_validation_happens_before_anything_changes(doc):
    s = Slider(value=1)
    doc.add_root(s)
    doc._flush()
    with pytest.raises(ValidationError):
        s.value = "x"
    assert s.value == 1 and doc._flush() is None


def test_a_new_model_may_refer_to_an_attached_one(doc):
    """A callback adding a renderer over an existing source (a common pattern)."""
    src = ColumnDataSource(data={"x": [1.0]})
    p = Plot()
    doc.add_root(p)
    doc.add_root(Row(Plot(renderers=[GlyphRenderer(data_source=src, glyph=Line())])))
    r = GlyphRenderer(data_source=src, glyph=Line())
    assert r.document is None and src.document is doc
    p.renderers.append(r)
    assert r.document is doc and p.renderers[-1].data_source is src
    other = Document()
    with pytest.raises(DocumentOwnershipError):
        other.add_root(GlyphRenderer(data_source=src, glyph=Line()))


def test_setting_the_same_value_fires_nothing(doc):
    """Two sliders that follow each other settle instead of ping-ponging (Bokeh's rule)."""
    a, b = Slider(value=1), Slider(value=1)
    doc.add_root(Row(a, b))
    calls = []

    def follow(target):
        def cb(attr, old, new):
            calls.append(new)
            target.value = new
        return cb

    a.on_change("value", follow(b))
    b.on_change("value", follow(a))
    a.value = 5
    assert a.value == b.value == 5 and calls == [5, 5]
    a.value = 5
    assert calls == [5, 5]
    p = Plot()
    seen = []
    p.on_change("background_fill_color", lambda *args: seen.append(args))
    p.background_fill_color = "#ffffff"  # the default: no change
    p.background_fill_color = (1, 2, 3)
    p.background_fill_color = (1, 2, 3)
    assert len(seen) == 1
