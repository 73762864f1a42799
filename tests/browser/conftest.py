"""One headless Chromium per browser test module: Debian's own build, never a downloaded one.

The sync API keeps tests plain functions; pytest-asyncio runs no loop around a sync test, so
Playwright's own loop can run there. Each test opens its own contexts (one per person), so
cookies and storage never carry over from one test to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ViewportSize, sync_playwright

from tests.support import Server

CHROMIUM = "/usr/bin/chromium"
# No background traffic of the browser's own: the tests check every request a page makes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


StaffContext = Callable[..., BrowserContext]


@pytest.fixture
def staff_context(browser: Browser) -> Iterator[StaffContext]:
    """Opens contexts signed in with a staff session cookie, in Japanese, closed after the test:
    ``staff_context(server, session, viewport, **options)``."""
    contexts: list[BrowserContext] = []

    def open_(server: Server, session: str, viewport: ViewportSize, **options: Any) -> Any:
        # axe-core is added to each page as a script, which the pages' policy forbids.
        context = browser.new_context(viewport=viewport, locale="ja-JP", bypass_csp=True, **options)
        context.add_cookies([{"name": "mg_session", "value": session, "url": server.url}])
        contexts.append(context)
        return context

    yield open_
    for context in contexts:
        context.close()
