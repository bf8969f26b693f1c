"""Document: roots, title, theme, hold, callbacks and schedulers, patches, snapshots."""

from __future__ import annotations

import asyncio
import inspect
import threading

import numpy as np
import pytest

from docsync import _core
from docsync.document import Document, SessionCallback, Theme, curdoc, set_curdoc
from docsync.events import ButtonClick
from docsync.model import _classes
from docsync.models import (
    Button, Column, ColumnDataSource, Div, Plot, Range1d, Row, Slider, TextInput, Title,
)
from docsync.plotting import figure

from model_layer_helpers import remote_copy


class FakeScheduler:
    def __init__(self) -> None:
        self.callbacks: list[SessionCallback] = []

    def add(self, cb: SessionCallback) -> None:
        self.callbacks.append(cb)

    def remove(self, cb: SessionCallback) -> None:
        self.callbacks.remove(cb)


def test_curdoc_default_and_set_curdoc():
    default = curdoc()
    assert curdoc() is default
    d = Document()
    with set_curdoc(d):
        assert curdoc() is d
        seen = []
        t = threading.Thread(target=lambda: seen.append(curdoc()))
        t.start()
        t.join()
        assert seen[0] is default  # other threads keep the default
    assert curdoc() is default


def test_roots_title_clear(doc):
    a, b = Button(), Div()
    doc.add_root(a)
    doc.add_root(b)
    doc.add_root(a)  # twice is once
    assert doc.roots == [a, b]
    doc.title = "Hello"
    assert doc.title == "Hello"
    with pytest.raises(TypeError):
        doc.title = 5
    doc.remove_root(a)
    assert doc.roots == [b] and a.document is None
    doc.clear()
    assert doc.roots == [] and b.document is None


def test_get_model_by_id_creates_wrappers_lazily(doc):
    s = Slider(value=3, title="t")
    doc.add_root(Column(s))
    copy = remote_copy(doc)
    s2 = copy.get_model_by_id(s.id)
    assert type(s2) is Slider and s2 is not s and s2.value == 3 and s2.title == "t"
    assert copy.get_model_by_id(s.id) is s2
    assert copy.get_model_by_id("nope") is None
    assert copy.roots[0].children == [s2]


def test_theme_from_dict_and_yaml(doc, tmp_path):
    p = figure()
    doc.add_root(p)
    doc.theme = {"attrs": {"Plot": {"background_fill_color": "#101010"}, "Axis": {"axis_label_text_font_size": "20px"}}}
    assert p.background_fill_color == "#101010"
    assert p.xaxis[0].axis_label_text_font_size == "20px"
    path = tmp_path / "theme.yaml"
    path.write_text("attrs:\n  Title:\n    text_color: red\n")
    doc.theme = str(path)
    assert isinstance(doc.theme, Theme) and p.title.text_color == "red"
    assert p.background_fill_color == "#ffffff"  # the old theme is gone
    snap = _core.decode(doc._snapshot())
    assert snap["defaults"]["Title"]["text_color"] == "red"
    with pytest.raises(Exception):
        doc.theme = {"attrs": {"Plot": {"background_fill_colour": "red"}}}


def test_one_callback_one_patch(doc):
    """All changes made in one callback arrive as one patch, coalesced."""
    s, t, src = Slider(), TextInput(), ColumnDataSource(data={"x": [1.0, 2.0]})
    doc.add_root(Column(s, t))
    doc.add_root(Div())
    doc._flush()

    def callback() -> None:
        s.value = 1
        s.value = 2
        t.value = "a"
        doc.add_root(Row())
        doc.title = "x"

    cb = doc.add_next_tick_callback(callback)
    cb.run()
    patch = doc._flush()
    assert patch is not None and doc._flush() is None
    events = patch.events()
    sets = [(e["id"], e["prop"], e["value"]) for e in events if e["k"] == "set"]
    assert (s.id, "value", 2) in sets and (s.id, "value", 1) not in sets and (t.id, "value", "a") in sets
    assert {e["k"] for e in events} >= {"set", "new", "root+", "title"}
    _ = src


def test_callbacks_fire_for_applied_patches(doc):
    s = Slider(start=0, end=10, value=1)
    src = ColumnDataSource(data={"x": np.array([1.0, 2.0])})
    t = TextInput()
    doc.add_root(Column(s, t))
    doc.add_root(Plot(renderers=[]))
    from docsync.models import GlyphRenderer, Line

    doc.roots[1].renderers.append(GlyphRenderer(data_source=src, glyph=Line(x="x", y="x")))
    seen = []
    s.on_change("value", lambda attr, old, new: seen.append((attr, old, new)))
    t.on_change("value", lambda attr, old, new: seen.append((attr, old, new)))
    src.on_change("data", lambda attr, old, new: seen.append((attr, list(new["x"]))))

    remote = remote_copy(doc)
    remote.get_model_by_id(s.id).value = 7
    remote.get_model_by_id(t.id).value = "typed"
    remote.get_model_by_id(src.id).stream({"x": [3.0]})
    patch = remote._flush()
    changes = doc._apply_patch(patch, client=False)
    assert {c.kind for c in changes} >= {"set", "stream"}
    assert ("value", 1, 7) in seen and ("value", "", "typed") in seen and ("data", [1.0, 2.0, 3.0]) in seen
    assert s.value == 7
    # applied changes are not echoed back
    assert doc._flush() is None


def test_client_patches_respect_client_writable(doc):
    s = Slider(title="a")
    doc.add_root(s)
    remote = remote_copy(doc)
    remote.get_model_by_id(s.id).title = "hacked"
    patch = remote._flush()
    with pytest.raises(PermissionError):
        doc._apply_patch(patch, client=True)
    assert s.title == "a"


def test_button_click_message_runs_on_click(doc):
    b = Button()
    clicks = []
    b.on_click(lambda event: clicks.append(event))
    doc.add_root(b)
    doc._apply_patch(_core.Patch.from_events([{"k": "msg", "id": b.id, "name": "button_click", "data": {}}]), client=True)
    assert len(clicks) == 1 and isinstance(clicks[0], ButtonClick) and clicks[0].model is b
    doc._trigger_event(b, "button_click")
    assert len(clicks) == 2


def test_exceptions_in_patch_callbacks_are_logged_not_raised(doc, caplog):
    s = Slider()
    doc.add_root(s)
    s.on_change("value", lambda attr, old, new: 1 / 0)
    remote = remote_copy(doc)
    remote.get_model_by_id(s.id).value = 3
    doc._apply_patch(remote._flush(), client=True)
    assert s.value == 3 and "ZeroDivisionError" in caplog.text


def test_hold_and_unhold(doc):
    s = Slider()
    doc.add_root(s)
    doc._flush()
    doc.hold()
    s.value = 1
    assert doc._flush() is None
    s.value = 2
    doc.unhold()
    events = doc._flush().events()
    assert [e["value"] for e in events if e["k"] == "set"] == [2]


def test_session_callbacks_and_scheduler(doc):
    calls = []
    periodic = doc.add_periodic_callback(lambda: calls.append("p"), 50)
    sched = FakeScheduler()
    doc._attach_scheduler(sched)
    assert sched.callbacks == [periodic] and periodic.kind == "periodic" and periodic.period_ms == 50
    timeout = doc.add_timeout_callback(lambda: calls.append("t"), 10)
    tick = doc.add_next_tick_callback(lambda: calls.append("n"))
    assert timeout.timeout_ms == 10 and tick.kind == "next_tick"
    assert sched.callbacks == [periodic, timeout, tick]
    for cb in list(sched.callbacks):
        cb.run()
    assert calls == ["p", "t", "n"]
    assert doc.session_callbacks == [periodic]  # one-shot callbacks are forgotten after running
    doc.remove_periodic_callback(periodic)
    assert periodic not in sched.callbacks and doc.session_callbacks == []
    with pytest.raises(ValueError):
        doc.remove_periodic_callback(periodic)
    with pytest.raises(TypeError, match="no arguments"):
        doc.add_periodic_callback(lambda x: None, 10)

    def update() -> None:
        pass

    doc.add_periodic_callback(update, 20)
    doc.remove_periodic_callback(update)  # Bokeh 0.11 passed the function itself
    assert doc.session_callbacks == []
    doc._attach_scheduler(None)


def test_callbacks_run_with_curdoc_set(doc):
    other = Document()
    seen = []
    cb = other.add_next_tick_callback(lambda: seen.append(curdoc()))
    cb.run()
    assert seen == [other]


def test_next_tick_from_another_thread(doc):
    sched = FakeScheduler()
    doc._attach_scheduler(sched)
    s = Slider()
    doc.add_root(s)

    def worker() -> None:
        doc.add_next_tick_callback(lambda: setattr(s, "value", 5))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sched.callbacks) == 8
    for cb in list(sched.callbacks):
        cb.run()
    assert s.value == 5


def test_async_periodic_callbacks_do_not_pile_up(doc):
    running = []
    release = asyncio.Event()

    async def slow() -> None:
        running.append(1)
        await release.wait()

    cb = doc.add_periodic_callback(slow, 10)

    async def main() -> None:
        first = cb.run()
        assert inspect.isawaitable(first)
        task = asyncio.ensure_future(first)
        await asyncio.sleep(0)
        assert cb.run() is None  # the previous run is still going: skipped
        release.set()
        await task
        second = cb.run()
        assert second is not None
        await second

    asyncio.run(main())
    assert len(running) == 2


def test_to_json_and_from_json(doc):
    p = figure(title="T", x_range=(0, 10))
    p.line(np.arange(3.0), [1, 2, 3])
    doc.add_root(p)
    doc.title = "json"
    js = doc.to_json()
    assert js["title"] == "json" and js["roots"] == [p.id]
    types = {m["type"] for m in js["models"]}
    assert {"Plot", "Line", "ColumnDataSource", "Title", "Range1d", "GlyphRenderer"} <= types
    import json

    text = doc.to_json_string(indent=1)
    assert json.loads(text) == js
    back = Document.from_json(text)
    assert back.title == "json" and back.roots[0].id == p.id
    r = back.roots[0].renderers[0]
    assert list(r.data_source.data["x"]) == [0.0, 1.0, 2.0] and r.data_source.data["x"].dtype == np.float64
    assert back.roots[0].title.text == "T" and back.roots[0].x_range.end == 10


def _instance(cls):
    from docsync.models import GlyphRenderer, GridBox, Line

    if cls.__type_name__ == "GlyphRenderer":
        return cls(glyph=Line())
    if cls.__type_name__ == "GridBox":
        return cls(children=[(Div(), 0, 0)])
    return cls()


@pytest.mark.parametrize("type_name", sorted(_classes))
def test_every_model_class_round_trips_through_snapshot_and_diff(type_name):
    cls = _classes[type_name]
    m = _instance(cls)
    d = Document()
    d.add_root(m)
    d._flush()
    snap = d._snapshot()
    back = Document.from_snapshot(snap)
    m2 = back.get_model_by_id(m.id)
    assert m2.__type_name__ == type_name
    for name, prop in cls._props.items():
        a, b = getattr(m, name), getattr(m2, name)
        if prop.has_refs:
            continue
        if name == "data":
            assert dict(a) == dict(b)
        else:
            assert a == b, name
    assert back._snapshot() == snap
    # diff between two states of the same document restores the second
    before = d._engine.copy()
    d.add_root(Div(text="x"))
    patch = _core.diff(before, d._engine)
    _core.apply(before, patch)
    assert before == d._engine
    # JSON too
    assert Document.from_json(d.to_json())._engine == d._engine


def test_remove_root_of_shared_models_keeps_the_others(doc):
    src = ColumnDataSource(data={"x": [1]})
    from docsync.models import GlyphRenderer, Line

    r1 = GlyphRenderer(data_source=src, glyph=Line())
    r2 = GlyphRenderer(data_source=src, glyph=Line())
    p1, p2 = Plot(renderers=[r1]), Plot(renderers=[r2])
    doc.add_root(p1)
    doc.add_root(p2)
    doc.remove_root(p1)
    assert src.document is doc and p1.document is None and r1.document is None
    assert list(src.data["x"]) == [1]


def test_range_changes_from_browser(doc):
    r = Range1d(0, 10)
    doc.add_root(Plot(x_range=r))
    got = []
    r.on_change("start", lambda a, o, n: got.append((o, n)))
    remote = remote_copy(doc)
    remote.get_model_by_id(r.id).start = 2
    doc._apply_patch(remote._flush(), client=True)
    assert got == [(0, 2)]


def test_title_from_str():
    p = Plot(title="hello")
    assert isinstance(p.title, Title) and p.title.text == "hello"


def test_changes_from_threads_while_flushing(doc):
    """Sets from several threads interleaved with flushes: nothing lost, no errors."""
    sliders = [Slider(start=0, end=1000) for _ in range(4)]
    doc.add_root(Column(*sliders))
    remote = remote_copy(doc)
    errors: list[BaseException] = []

    def work(s: Slider) -> None:
        try:
            for v in range(300):
                s.value = v
                if v % 50 == 0:
                    s.title = f"t{v}"
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in sliders]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        patch = doc._flush()
        if patch is not None:
            remote._apply_patch(patch, client=False)
    for t in threads:
        t.join()
    patch = doc._flush()
    if patch is not None:
        remote._apply_patch(patch, client=False)
    assert not errors
    for s in sliders:
        r = remote.get_model_by_id(s.id)
        assert s.value == r.value == 299 and r.title == "t250"


def test_without_document_lock_and_session_destroyed(doc):
    from docsync.document import without_document_lock

    held = []

    @without_document_lock
    def free() -> None:
        held.append(doc._lock._is_owned())

    def locked() -> None:
        held.append(doc._lock._is_owned())

    doc.add_next_tick_callback(free).run()
    doc.add_next_tick_callback(locked).run()
    assert held == [False, True]
    ended = []
    doc.on_session_destroyed(lambda ctx: ended.append(ctx))
    doc.add_periodic_callback(lambda: None, 10)
    with pytest.raises(TypeError):
        doc.on_session_destroyed(lambda: None)
    doc._destroy("ctx")
    assert ended == ["ctx"] and doc.session_callbacks == []


def test_a_dropped_document_leaves_nothing_behind():
    import gc
    import weakref

    d = Document()
    p = figure()
    p.line([1, 2], [3, 4])
    b = Button()
    b.on_click(lambda: None)
    d.add_root(Column(b, p))
    d.add_periodic_callback(lambda: None, 100)
    d._flush()
    refs = [weakref.ref(d), weakref.ref(p), weakref.ref(b), weakref.ref(d.session_callbacks[0])]
    del d, p, b
    gc.collect()
    assert [r() for r in refs] == [None] * 4
