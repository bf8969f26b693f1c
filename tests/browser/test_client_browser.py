"""docsync.js in a real browser against a real server (issue 6, "Tests").

One `python -m docsync serve --port 0` subprocess serves the small apps in
tests/browser/apps/; Debian's chromium (pytest-playwright, see tests/conftest.py) opens
them. Covered: a button click runs Python and the change shows; a slider drag reaches
Python as few changes with the right final value; a WebSocket dropped by the server
mid-stream is resumed with every streamed row, in order, and the notice shows and clears;
every root has its `data-model-id` element; changes from Python update widgets in place
(focus, caret and typed text kept); a screenshot of the widget gallery; changes made while
disconnected reach Python after the resume; a session the server no longer has is said to
have expired (not silently replaced).
"""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, WebSocketRoute, expect

from support import DocsyncServe, wait_until

pytestmark = pytest.mark.browser

APPS = Path(__file__).resolve().parent / "apps"
APP_NAMES = ["client_clicks", "client_ticker", "client_stream", "client_gallery"]

# Helpers evaluated in the page: models of the live mirrors (window.Docsync.documents) by
# name, and the element rendered for a model.
HELPERS = """
window.__t = {
  docs() { return Array.from(window.Docsync.documents); },
  models(type) {
    return this.docs().flatMap((d) => [...d.models.values()].filter((m) => !type || m.type === type));
  },
  byName(name) {
    const found = this.models().filter((m) => m.get("name") === name);
    if (found.length !== 1) throw new Error(`${found.length} models named ${name}`);
    return found[0];
  },
  el(name) { return document.querySelector(`[data-model-id="${CSS.escape(this.byName(name).id)}"]`); },
};
"""


@pytest.fixture(scope="module")
def server() -> Iterator[DocsyncServe]:
    with DocsyncServe([str(APPS / f"{name}.py") for name in APP_NAMES], expect=len(APP_NAMES)) as s:
        yield s


class Console:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console.error: {msg.text}")


def open_app(page: Page, server: DocsyncServe, name: str, query: str = "") -> Console:
    console = Console(page)
    page.goto(server.urls[name] + query)
    page.wait_for_function(
        "() => window.Docsync && window.Docsync.documents.length > 0"
        " && window.Docsync.documents.every((d) => d.roots.length > 0)"
        " && document.querySelector('.docsync-root-container [data-model-id]')",
        timeout=30_000,
    )
    page.evaluate(HELPERS)
    return console


def el(page: Page, name: str) -> Any:
    """A locator for the element of the model called `name`."""
    model_id = page.evaluate("(n) => window.__t.byName(n).id", name)
    return page.locator(f'[data-model-id="{model_id}"]')


def metrics(server: DocsyncServe) -> dict[str, float]:
    """The server's /metrics as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def pump_until(page: Page, predicate: Any, timeout: float, what: str) -> None:
    """Like wait_until, but lets Playwright dispatch events (route handlers) meanwhile."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        page.wait_for_timeout(50)


# ---------------------------------------------------------------------------------------


def test_button_click_runs_python_callback(page: Page, server: DocsyncServe) -> None:
    console = open_app(page, server, "client_clicks")
    clicks = el(page, "clicks")
    moved_input = el(page, "moved").locator("input[type=range]")
    expect(clicks).to_have_text("clicks: 0")
    expect(moved_input).to_have_value("0")
    moved_input.evaluate("(e) => { e.__marker = 'original'; }")

    button = el(page, "click-button").locator("button")
    expect(button).to_have_text("Click me")
    button.click()
    expect(clicks).to_have_text("clicks: 1")
    expect(moved_input).to_have_value("2")
    button.click()
    button.click()
    expect(clicks).to_have_text("clicks: 3")
    expect(moved_input).to_have_value("6")
    # the slider was updated in place, not re-created
    assert moved_input.evaluate("(e) => e.__marker") == "original"
    assert page.evaluate("() => window.__t.byName('moved').get('value')") == 6
    assert console.errors == []


def test_slider_drag_arrives_as_few_messages(page: Page, server: DocsyncServe) -> None:
    console = open_app(page, server, "client_clicks")
    calls = el(page, "calls")
    expect(calls).to_have_text("calls: 0 value: 0")
    slider = el(page, "drag").locator("input[type=range]")
    slider.evaluate("(e) => { window.__inputs = 0; e.addEventListener('input', () => window.__inputs++); }")
    box = slider.bounding_box()
    assert box is not None and box["width"] > 200
    y = box["y"] + box["height"] / 2
    before = metrics(server)
    seq = "() => window.Docsync.sessions[0].connection.clientSeq"  # client messages sent
    seq_before = page.evaluate(seq)

    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    t0 = time.perf_counter()
    page.mouse.move(box["x"] + box["width"] + 40, y, steps=150)  # one input event per step
    drag_seconds = time.perf_counter() - t0
    page.mouse.up()

    final = slider.input_value()
    assert final == "1000", "the drag ends beyond the right end: the slider is at its end"
    expect(calls).to_have_text(re.compile(r"calls: \d+ value: 1000$"), timeout=15_000)
    inputs = page.evaluate("() => window.__inputs")
    n_calls = int(re.match(r"calls: (\d+)", calls.inner_text()).group(1))  # type: ignore[union-attr]
    after = metrics(server)
    messages_in = after["docsync_messages_in_total"] - before["docsync_messages_in_total"]
    patches = page.evaluate(seq) - seq_before
    print(f"\nslider drag: {inputs} input events in {drag_seconds:.2f} s, {patches} patches sent, "
          f"{n_calls} Python callbacks, {messages_in:.0f} messages in at the server (patches + acks)")
    assert inputs >= 100, "the drag produced many input events"
    # One change in flight per property, then only the latest value: a callback taking
    # 250 ms sees at most one value per 250 ms of dragging (+ the first and the last),
    # not one per input event.
    bound = drag_seconds / 0.25 + 3
    assert n_calls <= bound and n_calls <= inputs / 2, (n_calls, inputs, drag_seconds)
    assert patches <= bound, (patches, inputs, drag_seconds)
    assert messages_in <= 2 * bound + 5, (messages_in, inputs, drag_seconds)
    # server, mirror and page agree on the final value
    assert page.evaluate("() => window.__t.byName('drag').get('value')") == 1000
    page.wait_for_function("() => window.Docsync.sessions[0].connection.unconfirmed === 0")
    assert console.errors == []


NOTICE_RECORDER = """
() => {
  window.__notices = [];
  const record = () => {
    const n = document.querySelector('.docsync-notice');
    const entry = n ? (n.hidden ? 'hidden' : `${n.dataset.kind}: ${n.textContent}`) : 'none';
    if (window.__notices[window.__notices.length - 1] !== entry) window.__notices.push(entry);
  };
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, attributes: true, characterData: true});
  record();
}
"""


@pytest.mark.parametrize("mode", ["abort", "close"])
def test_dropped_websocket_resumes_without_lost_rows(page: Page, server: DocsyncServe, mode: str) -> None:
    open_app(page, server, "client_stream", f"?drop={mode}")
    page.evaluate(NOTICE_RECORDER)
    rows = "() => window.__t.byName('rows').get('data').n.length"
    page.wait_for_function(f"() => ({rows})() >= 30", timeout=15_000)
    resumes_before = metrics(server).get('docsync_resumes_total{outcome="replay"}', 0.0)

    el(page, "drop").locator("button").click()
    page.wait_for_function(
        "() => window.__notices.some((n) => n.startsWith('lost: Connection lost — reconnecting…'))",
        timeout=10_000,
    )
    at_drop = page.evaluate(rows)
    page.wait_for_function(
        "() => window.__notices.some((n) => n === 'restored: Connection restored')", timeout=15_000)
    page.wait_for_function(f"() => ({rows})() >= {at_drop + 40}", timeout=15_000)

    values = page.evaluate("() => Array.from(window.__t.byName('rows').get('data').n)")
    assert values == [float(i) for i in range(len(values))], "every streamed row, once, in order"
    # the session lived on (a replay from the log, not a new session or a resync)
    expect(el(page, "drops")).to_have_text("drops: 1")  # the click was not applied twice
    assert metrics(server).get('docsync_resumes_total{outcome="replay"}', 0.0) >= resumes_before + 1
    # the notice clears by itself
    expect(page.locator(".docsync-notice")).to_be_hidden(timeout=10_000)
    notices = page.evaluate("() => window.__notices")
    lost = notices.index("lost: Connection lost — reconnecting…")
    restored = notices.index("restored: Connection restored")
    assert lost < restored and notices[-1] == "hidden", notices
    # the server's status line and the mirror agree (both change in the same patch)
    page.wait_for_function(
        f"() => window.__t.el('status').textContent === `rows: ${{({rows})()}}`", timeout=10_000)


@pytest.mark.parametrize("app", ["client_gallery", "client_stream", "client_clicks"])
def test_every_root_has_a_model_element(page: Page, server: DocsyncServe, app: str) -> None:
    console = open_app(page, server, app)
    roots = page.evaluate(
        "() => window.__t.docs().flatMap((d) => d.roots.map((r) => typeof r === 'string' ? d.get(r) : r))"
        ".map((m) => ({id: m.id, type: m.type}))"
    )
    assert roots, "the document has roots"
    if app in ("client_gallery", "client_stream"):
        assert len(roots) == 2
    for root in roots:
        loc = page.locator(f'[data-model-id="{root["id"]}"]')
        expect(loc).to_have_count(1)
        expect(loc).to_have_attribute("data-model-type", root["type"])
        expect(loc).to_be_visible()
    # every element carrying a model id names a model of the mirror
    ids = page.evaluate("() => [...document.querySelectorAll('[data-model-id]')].map((e) => e.dataset.modelId)")
    known = set(page.evaluate("() => window.__t.models().map((m) => m.id)"))
    assert set(ids) <= known
    assert console.errors == []


def test_python_changes_update_widgets_in_place(page: Page, server: DocsyncServe) -> None:
    console = open_app(page, server, "client_ticker")
    ticks = el(page, "ticks")
    level = el(page, "level").locator("input[type=range]")
    pick = el(page, "pick").locator("select")
    text = el(page, "typing").locator("input")
    expect(ticks).to_have_text(re.compile(r"ticks: [1-9]"))
    for loc in (ticks, level, pick, text):
        loc.evaluate("(e) => { e.__marker = 'original'; }")

    text.click()
    page.keyboard.type("hello wor", delay=20)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # caret in the middle: hello w|or
    start = int(ticks.inner_text().split()[1])
    wait_until(lambda: int(ticks.inner_text().split()[1]) >= start + 8, timeout=15, what="8 ticks from Python")

    state = text.evaluate(
        "(e) => ({focused: document.activeElement === e, value: e.value, caret: e.selectionStart})")
    assert state == {"focused": True, "value": "hello wor", "caret": 7}
    for loc in (ticks, level, pick, text):
        assert loc.evaluate("(e) => e.isConnected && e.__marker") == "original", "updated in place"
    # the other widgets follow Python: their controls show the mirror's values
    n = int(ticks.inner_text().split()[1])
    page.wait_for_function(
        """(min) => {
          const level = window.__t.byName('level'), pick = window.__t.byName('pick');
          const v = level.get('value');
          return v >= min && window.__t.el('level').querySelector('input').value === String(v)
            && window.__t.el('pick').querySelector('select').value === pick.get('value');
        }""", arg=n % 1000, timeout=5_000)
    # the typed text reaches Python when the person commits it
    page.keyboard.press("End")
    page.keyboard.type("ld")
    page.keyboard.press("Enter")
    expect(el(page, "echo")).to_have_text("echo: hello world")
    assert text.evaluate("(e) => document.activeElement === e")
    assert console.errors == []


def test_widget_gallery_screenshot(page: Page, server: DocsyncServe, test_output: Path) -> None:
    console = open_app(page, server, "client_gallery")
    page.set_viewport_size({"width": 1200, "height": 760})
    for type_name in ["Button", "Toggle", "Slider", "RangeSlider", "TextInput", "Select", "CheckboxGroup",
                      "RadioGroup", "Div", "Paragraph", "PreText", "DataTable", "Spacer", "Row", "Column"]:
        expect(page.locator(f'[data-model-type="{type_name}"]').first).to_be_attached()
    expect(page.locator('[data-model-type="DataTable"]')).to_contain_text("item 0")
    expect(page.locator('[data-model-type="Select"] select').first).to_have_value("two")
    expect(page.locator('[data-model-type="CheckboxGroup"] input:checked')).to_have_count(2)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    path = test_output / "client-widget-gallery.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    assert console.errors == []


def test_changes_made_while_disconnected_reach_python_after_resume(page: Page, server: DocsyncServe) -> None:
    # Every WebSocket of the page goes through Playwright; while `blocked`, reconnections
    # are refused, so the page stays disconnected as long as the test needs.
    blocked = {"on": False, "refused": 0}

    def route(ws: WebSocketRoute) -> None:
        if blocked["on"]:
            blocked["refused"] += 1
            ws.close(code=1011, reason="refused by the test")
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r"/client_stream/ws"), route)
    open_app(page, server, "client_stream", "?drop=abort")
    page.evaluate(NOTICE_RECORDER)
    rows = "() => window.__t.byName('rows').get('data').n.length"
    page.wait_for_function(f"() => ({rows})() >= 10", timeout=15_000)

    blocked["on"] = True
    el(page, "drop").locator("button").click()
    page.wait_for_function("() => window.__notices.some((n) => n.startsWith('lost: '))", timeout=10_000)
    at_drop = page.evaluate(rows)
    # the person keeps working while disconnected
    note = el(page, "note").locator("input")
    note.fill("written offline")
    note.press("Enter")
    el(page, "bump").locator("button").click()
    el(page, "bump").locator("button").click()
    pump_until(page, lambda: blocked["refused"] >= 2, timeout=15, what="two refused reconnections")
    assert page.evaluate("() => window.Docsync.sessions[0].connection.unconfirmed") > 0
    expect(el(page, "noted")).to_have_text("note: ")  # nothing reached Python yet
    assert page.evaluate(rows) == at_drop             # and nothing streamed in
    expect(page.locator(".docsync-notice")).to_have_attribute("data-kind", "lost")

    blocked["on"] = False
    page.wait_for_function("() => window.__notices.includes('restored: Connection restored')", timeout=20_000)
    expect(el(page, "noted")).to_have_text("note: written offline")
    expect(el(page, "bumps")).to_have_text("bumps: 2")
    expect(el(page, "drops")).to_have_text("drops: 1")
    page.wait_for_function("() => window.Docsync.sessions[0].connection.unconfirmed === 0")
    page.wait_for_function(f"() => ({rows})() >= {at_drop + 20}", timeout=15_000)
    values = page.evaluate("() => Array.from(window.__t.byName('rows').get('data').n)")
    assert values == [float(i) for i in range(len(values))]
    notices = page.evaluate("() => window.__notices")
    # lost, then restored once the network is back (not while reconnections were refused)
    first_lost = next(i for i, n in enumerate(notices) if n.startswith("lost: "))
    restored = notices.index("restored: Connection restored")
    assert first_lost < restored, notices


def test_expired_session_is_said_and_not_replaced(page: Page) -> None:
    """The server restarts (its sessions are gone): the page resumes, hears `expired`, says
    so, and does not silently start a fresh session."""
    app = str(APPS / "client_clicks.py")
    first = DocsyncServe([app])
    try:
        console = open_app(page, first, "client_clicks")
        page.evaluate(NOTICE_RECORDER)
        el(page, "click-button").locator("button").click()
        expect(el(page, "clicks")).to_have_text("clicks: 1")
        port = first.port
    finally:
        first.stop()
    page.wait_for_function("() => window.__notices.some((n) => n.startsWith('lost: '))", timeout=10_000)
    with DocsyncServe([app], port=port):
        expect(page.locator(".docsync-notice")).to_have_text(
            re.compile("^Session expired — reload the page"), timeout=30_000)
        expect(page.locator(".docsync-notice")).to_have_attribute("data-kind", "expired")
        assert page.evaluate("() => window.Docsync.sessions[0].connection.state") == "expired"
        # the page still shows what it had; no new session replaced it
        expect(el(page, "clicks")).to_have_text("clicks: 1")
    assert not [e for e in console.errors if "WebSocket" not in e and "ERR_CONNECTION_REFUSED" not in e]


def test_malformed_message_from_the_server_is_reported_and_survived(page: Page, server: DocsyncServe) -> None:
    routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(re.compile(r"/client_clicks/ws"), route)
    console = open_app(page, server, "client_clicks")
    el(page, "click-button").locator("button").click()
    expect(el(page, "clicks")).to_have_text("clicks: 1")
    assert len(routes) == 1

    routes[0].send(b"\xc1 not msgpack")  # 0xc1 is never used by msgpack
    notice = page.locator(".docsync-notice")
    expect(notice).to_have_attribute("data-kind", "error")
    expect(notice).to_contain_text("malformed message from the server")
    assert any("malformed message from the server" in e for e in console.errors)
    # the page reconnects (resume) and keeps working; the document was not touched
    pump_until(page, lambda: len(routes) >= 2, timeout=15, what="a new connection")
    expect(el(page, "clicks")).to_have_text("clicks: 1")
    el(page, "click-button").locator("button").click()
    expect(el(page, "clicks")).to_have_text("clicks: 2")
    expect(el(page, "moved").locator("input[type=range]")).to_have_value("4")


def test_two_pages_of_one_session_follow_each_other(page: Page, server: DocsyncServe) -> None:
    """Two pages on one session id: a change made in one shows in the other (through the
    server, which does not echo it back to its sender)."""
    query = f"?docsync-session-id=shared-{time.monotonic_ns()}"
    console_a = open_app(page, server, "client_ticker", query)
    other = page.context.new_page()
    console_b = open_app(other, server, "client_ticker", query)
    assert page.evaluate("() => window.__t.byName('typing').id") == other.evaluate(
        "() => window.__t.byName('typing').id")

    text_a = el(page, "typing").locator("input")
    text_a.fill("from page A")
    text_a.press("Enter")
    expect(el(other, "typing").locator("input")).to_have_value("from page A")
    expect(el(other, "echo")).to_have_text("echo: from page A")
    expect(el(page, "echo")).to_have_text("echo: from page A")
    # both pages see the same periodic changes from Python
    other.wait_for_function(
        "(n) => +window.__t.el('ticks').textContent.split(' ')[1] >= n",
        arg=int(el(page, "ticks").inner_text().split()[1]), timeout=5_000)
    other.close()
    assert console_a.errors == [] and console_b.errors == []
