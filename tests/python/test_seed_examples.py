"""The seed's examples (Bokeh 0.11 server guide) run with ``bokeh`` replaced by
``docsync`` and nothing else changed, and build the documents they describe."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pytest

import docsync.client
from docsync import _core
from docsync.document import Document, set_curdoc
from docsync.models import Button, Column, GlyphRenderer, Line, Plot, Text

BUTTON_APP = textwrap.dedent('''
    import numpy as np

    from bokeh.models import Button
    from bokeh.palettes import RdYlBu3
    from bokeh.plotting import figure, curdoc, vplot

    # create a plot and style its properties
    p = figure(x_range=(0, 100), y_range=(0, 100), toolbar_location=None)
    p.border_fill_color = 'black'
    p.background_fill_color = 'black'
    p.outline_line_color = None
    p.grid.grid_line_color = None

    # add a text renderer to out plot (no data yet)
    r = p.text(x=[], y=[], text=[], text_color=[], text_font_size="20pt",
               text_baseline="middle", text_align="center")

    i = 0

    ds = r.data_source

    # create a callback that will add a number in a random location
    def callback():
        global i
        ds.data['x'].append(np.random.random()*70 + 15)
        ds.data['y'].append(np.random.random()*70 + 15)
        ds.data['text_color'].append(RdYlBu3[i%3])
        ds.data['text'].append(str(i))
        ds.trigger('data', ds.data, ds.data)
        i = i + 1

    # add a button widget and configure with the call back
    button = Button(label="Press Me")
    button.on_click(callback)

    # put the button and plot in a layout and add to the document
    curdoc().add_root(vplot(button, p))
''')

ANIMATED_APP = textwrap.dedent('''
    import numpy as np
    from numpy import pi

    from bokeh.client import push_session
    from bokeh.driving import cosine
    from bokeh.plotting import figure, curdoc

    x = np.linspace(0, 4*pi, 80)
    y = np.sin(x)

    p = figure()
    r1 = p.line([0, 4*pi], [-1, 1], color="firebrick")
    r2 = p.line(x, y, color="navy", line_width=4)

    # open a session to keep our local document in sync with server
    session = push_session(curdoc())

    @cosine(w=0.03)
    def update(step):
        r2.data_source.data["y"] = y * step
        r2.glyph.line_alpha = 1 - 0.8 * abs(step)

    curdoc().add_periodic_callback(update, 50) # open the document in a browser

    session.loop_until_closed() # run forever
''')

SERVER_PLOT = textwrap.dedent('''
    from bokeh.plotting import figure, show, output_server

    output_server("hover")

    p = figure(title="Server Plot")
    p.circle([1, 2, 3], [4, 5, 6])

    show(p)
''')


def run_app(source: str, doc: Document) -> dict[str, Any]:
    """Run an app's code the way `docsync serve` does: curdoc() is the session's doc."""
    ns: dict[str, Any] = {"__name__": "bk_script"}
    with set_curdoc(doc):
        exec(compile(source.replace("bokeh", "docsync"), "app.py", "exec"), ns)
    return ns


def run_script(source: str) -> tuple[Document, dict[str, Any]]:
    """Run a script the way `python script.py` does (no server: the default curdoc())."""
    from docsync.document import curdoc

    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source.replace("bokeh", "docsync"), "script.py", "exec"), ns)
    return curdoc(), ns


def click(doc: Document, button: Button) -> list[Any]:
    """A click as the browser sends it: a msg event in a client patch."""
    patch = _core.Patch.from_events([{"k": "msg", "id": button.id, "name": "button_click", "data": {}}])
    return doc._apply_patch(patch, client=True)


def test_button_app_builds_the_document():
    doc = Document()
    ns = run_app(BUTTON_APP, doc)
    (root,) = doc.roots
    assert isinstance(root, Column)
    button, p = root.children
    assert isinstance(button, Button) and button.label == "Press Me"
    assert isinstance(p, Plot) and p.toolbar_location is None
    assert (p.x_range.start, p.x_range.end, p.y_range.start, p.y_range.end) == (0, 100, 0, 100)
    assert p.border_fill_color == "black" and p.background_fill_color == "black"
    assert p.outline_line_color is None and all(g.grid_line_color is None for g in p.grid)
    (r,) = [r for r in p.renderers if isinstance(r, GlyphRenderer)]
    g = r.glyph
    assert isinstance(g, Text)
    assert (g.x, g.y, g.text, g.text_color) == ("x", "y", "text", "text_color")
    assert (g.text_font_size, g.text_baseline, g.text_align) == ("20pt", "middle", "center")
    assert r.data_source is ns["ds"] and r.data_source.data == {"x": [], "y": [], "text": [], "text_color": []}
    assert button.subscribed_events == ["button_click"]


def test_button_clicks_append_text_in_one_patch_each():
    doc = Document()
    ns = run_app(BUTTON_APP, doc)
    ds, button = ns["ds"], ns["button"]
    remote = Document.from_snapshot(doc._snapshot())  # what the browser holds
    doc._flush()
    for n in range(3):
        click(doc, button)
        patch = doc._flush()
        assert patch is not None
        data_events = [e for e in patch.events() if e["k"] in ("data", "stream", "patch")]
        assert len(data_events) == 1, patch.events()  # the four appends travel together
        remote._apply_patch(_core.Patch.decode(patch.encode()), client=False)
        rds = remote.get_model_by_id(ds.id)
        assert rds.data["text"] == [str(k) for k in range(n + 1)]
        assert len(rds.data["x"]) == len(rds.data["y"]) == len(rds.data["text_color"]) == n + 1
    from docsync.palettes import RdYlBu3

    assert ds.data["text"] == ["0", "1", "2"] and ds.data["text_color"] == list(RdYlBu3)
    assert all(15 <= v <= 85 for v in ds.data["x"])


def test_button_app_through_the_python_event_dispatch():
    doc = Document()
    ns = run_app(BUTTON_APP, doc)
    doc._trigger_event(ns["button"], "button_click")
    assert ns["ds"].data["text"] == ["0"]


class FakeSession:
    def __init__(self, document: Document, session_id: str | None = None, url: str = "default", **kw: Any) -> None:
        self.document = document
        self.session_id = session_id
        self.url = url
        self.looped = False
        self.shown: list[Any] = []

    def loop_until_closed(self) -> None:
        self.looped = True

    def show(self, obj: Any = None, browser: Any = None, new: str = "tab") -> None:
        self.shown.append(obj)


@pytest.fixture
def fake_push(monkeypatch):
    sessions: list[FakeSession] = []

    def push_session(document: Document, session_id: str | None = None, url: str = "default", **kw: Any) -> FakeSession:
        s = FakeSession(document, session_id, url)
        sessions.append(s)
        return s

    monkeypatch.setattr(docsync.client, "push_session", push_session)
    return sessions


def test_animated_app(fake_push):
    doc, ns = run_script(ANIMATED_APP)
    (session,) = fake_push
    assert session.document is doc and session.looped
    # figure() outside a served app joins curdoc() (Bokeh 0.11's autoadd), so the pushed
    # document holds the plot
    doc._flush()
    (p,) = doc.roots
    assert p is ns["p"]
    r1, r2 = ns["r1"], ns["r2"]
    assert p.renderers == [r1, r2] and isinstance(r2.glyph, Line)
    assert r1.glyph.line_color == "firebrick" and r2.glyph.line_color == "navy" and r2.glyph.line_width == 4
    assert r1.data_source.data["x"] == [0, 4 * np.pi]
    np.testing.assert_allclose(r2.data_source.data["y"], np.sin(np.linspace(0, 4 * np.pi, 80)))
    (cb,) = doc.session_callbacks
    assert cb.kind == "periodic" and cb.period_ms == 50
    doc._flush()
    cb.run()
    cb.run()
    patch = doc._flush()
    kinds = sorted((e["k"], e.get("prop")) for e in patch.events())
    assert kinds == [("data", "data"), ("set", "line_alpha")]
    step = np.cos(0.03)
    np.testing.assert_allclose(r2.data_source.data["y"], ns["y"] * step)
    assert r2.glyph.line_alpha == pytest.approx(1 - 0.8 * abs(step))


def test_server_plot_with_output_server(fake_push, monkeypatch):
    from docsync.io import reset_output

    try:
        doc, _ = run_script(SERVER_PLOT)
        (session,) = fake_push
        assert session.session_id == "hover" and session.url == "http://localhost:5006/"
        (p,) = doc.roots
        assert session.shown == [p] and p.title.text == "Server Plot"
        (r,) = p.renderers
        assert r.data_source.data == {"x": [1, 2, 3], "y": [4, 5, 6]}
    finally:
        reset_output()


def test_autoadd_gives_way_to_layouts_and_other_documents():
    from docsync.document import curdoc
    from docsync.layouts import column
    from docsync.plotting import figure

    p1, p2, p3 = figure(), figure(), figure()
    curdoc().add_root(column(p1, Button()))
    other = Document()
    other.add_root(p2)
    assert [type(r).__name__ for r in curdoc().roots] == ["Column", "Figure"]
    assert curdoc().roots[1] is p3 and p2.document is other
    # inside a served app (set_curdoc) nothing is added implicitly
    served = Document()
    with set_curdoc(served):
        figure()
    assert served.roots == []


def test_show_without_output_server_explains():
    from docsync.io import show

    with pytest.raises(RuntimeError, match="output_server"):
        show(Button())
