"""One headless Chromium per browser test module: Debian's own build, never a downloaded one.

The sync API keeps tests plain functions; pytest-asyncio runs no loop around a sync test, so
Playwright's own loop can run there. Each test opens its own contexts (one per person), so
cookies and storage never carry over from one test to the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

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
