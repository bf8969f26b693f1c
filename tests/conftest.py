"""Shared pytest set-up: Debian's chromium for Playwright, offline (see browser-testing.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium looks up Google hosts at start-up; keep all its DNS on loopback.
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"

#: Screenshots and other artefacts a person may want to look at (gitignored).
TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = [*browser_type_launch_args.get("args", []), LOOPBACK_ONLY]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}


@pytest.fixture(scope="session")
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT


#: Tests using any of these fixtures drive Playwright's sync API, which keeps an event
#: loop running in the main thread for the rest of the process. They are marked
#: `browser` and scripts/test.sh runs them in their own pytest process, so the
#: asyncio-based tests (which call asyncio.run) never share a process with them.
PLAYWRIGHT_FIXTURES = {"page", "browser", "context", "playwright", "browser_type", "new_context"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
