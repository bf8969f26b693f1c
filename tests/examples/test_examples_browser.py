"""Every gallery app renders in chromium without console errors, and its Python side
answers: a real `python -m docsync serve --port 0 <gallery>` subprocess, a real browser.

Screenshots of every example go to test-output/gallery-<app>.png.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page

from gallery_helpers import (flask_embed, GALLERY_APPS, PYTHON, ROOT, ServedApps, client_script, env_for_subprocess,
                             wait_until)

pytestmark = pytest.mark.browser

# Small helpers evaluated in the page: the live document mirrors (window.Docsync.documents).
HELPERS = """
window.__t = {
  docs() {
    const d = window.Docsync && window.Docsync.documents;
    if (!d) return [];
    return d instanceof Map ? [...d.values()] : Array.from(d);
  },
  models(type) {
    return this.docs().flatMap((d) => [...d.models.values()].filter((m) => !type || m.type === type));
  },
  column(name) {           // the longest column called `name` in any ColumnDataSource
    let best = null;
    for (const m of this.models("ColumnDataSource")) {
      const data = m.get("data") || {};
      const col = data[name];
      if (col && (best === null || col.length > best.length)) best = col;
    }
    return best;
  },
  len(name) { const c = this.column(name); return c ? c.length : -1; },
  text(type) { return this.models(type).map((m) => String(m.get("text"))).join("\\n"); },
};
"""


class Console:
    """Console errors and uncaught page errors of one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if url.endswith("/favicon.ico"):      # browsers ask for it; no app serves one
            return
        self.errors.append(f"console.error: {msg.text} ({url})")


def open_app(page: Page, url: str, root_type: str) -> Console:
    console = Console(page)
    page.goto(url)
    page.wait_for_selector(f'[data-model-type="{root_type}"]', timeout=30_000)
    page.wait_for_function("() => window.Docsync && window.Docsync.documents", timeout=30_000)
    page.evaluate(HELPERS)
    return console


def settle(page: Page) -> None:
    """Two animation frames: pending redraws have run."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def shoot(page: Page, test_output: Path, name: str) -> None:
    settle(page)
    page.screenshot(path=str(test_output / f"gallery-{name}.png"), full_page=True)


@pytest.fixture()
def app_page(page: Page, gallery_server: ServedApps, test_output: Path) -> Iterator[Any]:
    """Opens a gallery app; after the test: screenshot, and no console errors allowed."""
    opened: dict[str, Any] = {}

    def go(name: str, shot: str = "") -> Console:
        """Open app `name`; the screenshot is gallery-<name>[-<shot>].png."""
        _, roots, _ = GALLERY_APPS[name]
        console = open_app(page, gallery_server.urls[name], roots[0])
        opened.update(name=f"{name}-{shot}" if shot else name, console=console)
        return console

    yield go
    if opened:
        shoot(page, test_output, opened["name"])
        assert not opened["console"].errors, "\n".join(opened["console"].errors)


def test_gallery_index_lists_every_app(page: Page, gallery_server: ServedApps, test_output: Path) -> None:
    """`/` of the gallery server: one link per app, with its one-line description."""
    page.goto(gallery_server.base + "/")
    for name in GALLERY_APPS:
        link = page.locator(f'a[href$="/{name}"]')
        assert link.count() == 1, f"the index does not link {name}"
        entry = page.locator("li", has=link).inner_text()
        assert summary(name) in entry, f"the index shows no description for {name}: {entry!r}"
    page.screenshot(path=str(test_output / "gallery-index.png"), full_page=True)


def summary(name: str) -> str:
    """The first line of an app's module docstring (its description on the index page)."""
    path, _, _ = GALLERY_APPS[name]
    doc = ast.get_docstring(ast.parse((path / "main.py" if path.is_dir() else path).read_text()))
    assert doc
    return doc.strip().splitlines()[0]


@pytest.mark.parametrize("name", sorted(GALLERY_APPS))
def test_app_renders(name: str, app_page: Any, page: Page) -> None:
    app_page(name)
    _, roots, needed = GALLERY_APPS[name]
    for model_type in sorted(needed & {"Plot", "Button", "Slider", "DataTable", "StockGauge", "Select", "TextInput"}):
        assert page.locator(f'[data-model-type="{model_type}"]').count() >= 1, f"no {model_type} view in {name}"
    if "Plot" in needed or any(t in needed for t in ("Line", "Scatter", "Text")):
        page.wait_for_selector('[data-model-type="Plot"] canvas', timeout=15_000)


def test_button_click_draws_numbers(app_page: Any, page: Page) -> None:
    app_page("button", "pressed")
    button = page.locator('[data-model-type="Button"]').first
    for n in (1, 2, 3):
        clickable = button.locator("button") if button.locator("button").count() else button
        clickable.click()
        page.wait_for_function(f"() => window.__t.len('text') >= {n}", timeout=10_000)
    assert page.evaluate("() => Array.from(window.__t.column('text'))") == ["0", "1", "2"]


def test_animated_line_moves(app_page: Any, page: Page) -> None:
    app_page("animated", "moving")
    alpha = page.evaluate("() => window.__t.models('Line').map((m) => m.get('line_alpha'))")
    page.wait_for_function(
        f"(before) => JSON.stringify(window.__t.models('Line').map((m) => m.get('line_alpha'))) !== before",
        arg=str(alpha).replace("'", '"'), timeout=10_000)


def test_streaming_dashboard_streams_with_rollover(app_page: Any, page: Page) -> None:
    app_page("streaming", "streamed")
    page.wait_for_function("() => window.__t.len('price') >= 10 && window.__t.len('volume') >= 10", timeout=20_000)
    page.wait_for_function("() => window.__t.text('Div').includes('ticks streamed')", timeout=10_000)


def set_model(page: Page, js_filter: str, prop: str, value: Any) -> None:
    """model.set(prop, value) on the first mirror model matching the filter: the change is
    sent to the server like a user's edit."""
    page.evaluate(
        f"([prop, value]) => {{ const m = window.__t.models().find({js_filter}); m.set(prop, value); }}",
        [prop, value],
    )


def test_sliders_recompute_in_python(app_page: Any, page: Page) -> None:
    app_page("sliders", "20-harmonics")
    set_model(page, "(m) => m.type === 'Slider' && m.get('title') === 'Harmonics'", "value", 20)
    page.wait_for_function("() => window.__t.text('Div').includes('20 harmonics')", timeout=10_000)


def test_widgets_text_input_sets_the_title(app_page: Any, page: Page) -> None:
    app_page("widgets", "edited")
    field = page.locator('[data-model-type="TextInput"] input').first
    field.fill("Typed in the browser")
    field.press("Enter")
    page.wait_for_function(
        "() => window.__t.models('Title').some((m) => m.get('text') === 'Typed in the browser')", timeout=10_000)
    set_model(page, "(m) => m.type === 'Slider' && String(m.get('title')).startsWith('Amplitude')", "value", 2)
    page.wait_for_function("() => window.__t.text('PreText').includes('amplitude  2.00')", timeout=10_000)
    # the RangeSlider's CustomJS moves the x range in the page (no Python involved)
    set_model(page, "(m) => m.type === 'RangeSlider'", "value", [2, 6])
    page.wait_for_function("() => window.__t.models('Range1d').some((r) => r.get('start') === 2 && r.get('end') === 6)",
                           timeout=10_000)


def test_million_points_arrive_and_zoom_recounts(app_page: Any, page: Page) -> None:
    app_page("million", "zoomed")
    page.wait_for_function("() => window.__t.len('x') === 1000000", timeout=60_000)
    page.wait_for_function("() => window.__t.text('Div').includes('x -6.00')", timeout=20_000)
    # a real wheel zoom over the plot: the browser sends the new ranges, Python recounts
    canvas = page.locator('[data-model-type="Plot"] canvas').first
    box = canvas.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_function("() => !window.__t.text('Div').includes('x -6.00')", timeout=20_000)
    # and a range set from the page's model: same path as a pan
    set_model(page, "(m) => m.id === window.__t.models('Plot').find((p) => p.get('x_range').type === 'Range1d')"
                    ".get('x_range').id", "start", 0)
    page.wait_for_function("() => window.__t.text('Div').includes('x 0.00')", timeout=20_000)


def test_table_row_click_selects(app_page: Any, page: Page) -> None:
    app_page("table", "clicked")
    page.locator('[data-model-type="DataTable"]').get_by_text("sample-004", exact=True).click()
    page.wait_for_function("() => window.__t.text('Div').includes('1</b> selected')", timeout=10_000)
    selections = page.evaluate("() => window.__t.models('Selection').map((m) => Array.from(m.get('indices')))")
    assert [4] in selections


def test_table_tap_on_plot_selects_the_nearest_row(app_page: Any, page: Page) -> None:
    app_page("table", "tapped")
    canvas = page.locator('[data-model-type="Plot"] canvas').first
    box = canvas.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45)
    page.wait_for_function("() => window.__t.text('Div').includes('1</b> selected')", timeout=10_000)
    # the table shows the same selection (Python set source.selected.indices)
    selections = page.evaluate("() => window.__t.models('Selection').map((m) => Array.from(m.get('indices')))")
    assert any(len(indices) == 1 for indices in selections)


def test_table_selection_highlights_points(app_page: Any, page: Page) -> None:
    app_page("table", "selected")
    set_model(page, "(m) => m.type === 'Selection'", "indices", [3, 5, 8])
    page.wait_for_function("() => window.__t.text('Div').includes('3</b> selected')", timeout=10_000)
    page.wait_for_function("() => window.__t.len('name') === 200 && window.__t.models('ColumnDataSource')"
                           ".some((m) => (m.get('data').name || []).length === 3)", timeout=10_000)


def test_myapp_template_static_theme_and_custom_model(app_page: Any, page: Page, gallery_server: ServedApps) -> None:
    app_page("myapp", "tools")
    # server_lifecycle.py: the hooks ran (logged) and counted this session (shown by main.py)
    assert "myapp: server loaded" in gallery_server.output()
    assert "myapp: session" in gallery_server.output()
    page.wait_for_function("() => /Sessions created since the server started: <b>[1-9]/"
                           ".test(window.__t.text('Div'))", timeout=10_000)
    assert page.locator("header.myapp h1").inner_text() == "myapp: a directory app"       # templates/index.html
    background = page.evaluate("() => getComputedStyle(document.querySelector('header.myapp')).backgroundColor")
    assert background == "rgb(236, 230, 214)"                                              # static/style.css
    assert page.evaluate("() => window.__t.models('Plot')[0].get('background_fill_color')") == "#fbfaf5"  # theme.yaml
    gauge = page.locator('[data-model-type="StockGauge"]')
    page.wait_for_function("() => document.querySelector('[data-model-type=\"StockGauge\"]')"
                           ".textContent.includes('Units in stock')", timeout=10_000)        # custom.js
    set_model(page, "(m) => m.type === 'Select'", "value", "tool")
    page.wait_for_function("() => document.querySelector('[data-model-type=\"StockGauge\"]')"
                           ".textContent.includes('(tool)')", timeout=10_000)
    assert "119 / 1500" in gauge.inner_text()     # tools in stock: 4 + 9 + 55 + 33 + 18 (data/things.csv)


def test_shared_session_tabs_see_each_other(page: Page, gallery_server: ServedApps, test_output: Path) -> None:
    url = gallery_server.urls["shared"] + "?docsync-session-id=gallery-test"
    first = open_app(page, url, "Column")
    other = page.context.new_page()
    second = open_app(other, url, "Column")
    assert "session gallery-test" in page.locator('[data-model-type="Div"]').first.inner_text()
    # one stream: both tabs receive the rows of the one session
    for p in (page, other):
        p.wait_for_function("() => window.__t.len('value') >= 5", timeout=20_000)
    # an edit in one tab reaches the other through the server
    field = page.locator('[data-model-type="TextInput"] input').first
    field.fill("hello from tab one")
    field.press("Enter")
    other.wait_for_function("() => window.__t.text('Div').includes('hello from tab one')", timeout=10_000)
    set_model(other, "(m) => m.type === 'Slider'", "value", -2)
    page.wait_for_function("() => window.__t.models('Slider')[0].get('value') === -2", timeout=10_000)
    shoot(page, test_output, "shared")
    shoot(other, test_output, "shared-second-tab")
    errors = first.errors + second.errors
    other.close()
    assert not errors, "\n".join(errors)


def test_flask_page_embeds_a_live_app(page: Page, test_output: Path) -> None:
    """examples/embed/flask_app.py in chromium: the sliders app renders inside the Flask
    page (autoload.js and the client library come from the docsync server) and answers."""
    with flask_embed() as (url, _html):
        console = open_app(page, url, "Row")
        assert page.locator("h1").inner_text() == "A Flask page"
        set_model(page, "(m) => m.type === 'Slider' && m.get('title') === 'Harmonics'", "value", 12)
        page.wait_for_function("() => window.__t.text('Div').includes('12 harmonics')", timeout=10_000)
        shoot(page, test_output, "embed-flask")
        assert not console.errors, "\n".join(console.errors)


def run_seed_client_script(script: str, base: str, url_file: Path) -> subprocess.Popen[str]:
    """Run examples/client/<script> against `base`; the page it opens with show() is
    written to `url_file` (BROWSER is a command that records its argument)."""
    env = env_for_subprocess()
    env["BROWSER"] = f"{PYTHON} -c \"import sys; open({str(url_file)!r}, 'a').write(sys.argv[1] + '\\n')\" %s"
    return client_script(ROOT / "examples" / "client" / script, base, env)


@pytest.fixture()
def empty_server() -> Iterator[ServedApps]:
    server = ServedApps([])
    try:
        yield server
    finally:
        server.stop()


def test_output_server_page_shows_the_pushed_plot(page: Page, empty_server: ServedApps, tmp_path: Path,
                                                   test_output: Path) -> None:
    url_file = tmp_path / "opened.txt"
    proc = run_seed_client_script("output_server.py", empty_server.base, url_file)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    opened = url_file.read_text().split()
    assert opened == [empty_server.base + "/?docsync-session-id=hover"]
    console = open_app(page, opened[0], "Plot")
    page.wait_for_selector('[data-model-type="Plot"] canvas')
    assert page.evaluate("() => window.__t.models('Title').map((m) => m.get('text'))") == ["Server Plot"]
    assert page.evaluate("() => window.__t.len('x')") == 3
    shoot(page, test_output, "client-output-server")
    assert not console.errors, "\n".join(console.errors)


def test_animated_push_page_animates(page: Page, empty_server: ServedApps, tmp_path: Path, test_output: Path) -> None:
    """The seed's push_session script: the callback runs in the script, the page animates."""
    url_file = tmp_path / "opened.txt"
    proc = run_seed_client_script("animated_push.py", empty_server.base, url_file)
    try:
        wait_until(lambda: url_file.exists() and url_file.read_text().strip(), timeout=30, what="session.show()")
        url = url_file.read_text().split()[0]
        assert "docsync-session-id=" in url
        console = open_app(page, url, "Plot")
        alpha = page.evaluate("() => window.__t.models('Line').map((m) => m.get('line_alpha'))")
        page.wait_for_function(
            "(before) => JSON.stringify(window.__t.models('Line').map((m) => m.get('line_alpha'))) !== before",
            arg=str(alpha).replace("'", '"'), timeout=10_000)
        shoot(page, test_output, "client-animated-push")
        assert not console.errors, "\n".join(console.errors)
        assert proc.poll() is None
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "Traceback" not in out, out
