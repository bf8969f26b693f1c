"""The page of a pushed session in Debian's chromium (Playwright): live both ways."""

from __future__ import annotations

from typing import Any

import pytest
from client_helpers import Server, wait_for

from docsync.client import push_session

pytestmark = pytest.mark.browser


def test_pushed_session_page_shows_python_changes(server: Server, page: Any) -> None:
    from docsync.document import Document
    from docsync.models import Button

    doc = Document()
    button = Button(label="Press Me")
    doc.add_root(button)
    with push_session(doc, url=server.root) as session:
        page.goto(session.page_url)
        page.wait_for_selector('[data-model-type="Button"]', timeout=15000)
        assert "Press Me" in page.inner_text('[data-model-type="Button"]')
        button.label = "Changed in Python"
        session.force_roundtrip()
        page.wait_for_function("() => document.body.innerText.includes('Changed in Python')", timeout=10000)


def test_browser_click_reaches_the_pushing_process(server: Server, page: Any) -> None:
    from docsync.document import Document
    from docsync.models import Button

    doc = Document()
    clicks: list[Any] = []
    button = Button(label="Press Me")
    button.on_click(lambda *args: clicks.append(args))
    doc.add_root(button)
    with push_session(doc, url=server.root) as session:
        page.goto(session.page_url)
        page.wait_for_selector('[data-model-type="Button"]', timeout=15000)
        target = page.query_selector('[data-model-type="Button"] button') or page.query_selector(
            '[data-model-type="Button"]'
        )
        target.click()
        wait_for(lambda: clicks, 10, "the click in the pushing process")
        assert len(clicks) == 1
