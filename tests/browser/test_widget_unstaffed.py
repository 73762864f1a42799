"""Waiting while nobody who works the desk is online: the visitor reads so plainly, with the
desk's phones and the 24-hour lines as ``tel:`` links and that they may keep waiting or leave,
never a silent endless wait; the note goes when a counselor comes online and comes back when
the last one goes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_widget_opening import PHONE, violations
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, counselor, login_sync

pytestmark = pytest.mark.browser

DESK_PHONE = "03-5555-0101"
EMERGENCY_TELS = ["tel:110", "tel:0120279889", "tel:%238008", "tel:%238891", "tel:0120279338"]

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "start": "相談を始める",
        "skip": "選ばずに始める",
        "note": "いま対応できる相談員がいません",
        "keep": "このまま待っていても大丈夫です。",
        "leave": "「緊急退出」",
        "waiting": "相談員を待っています",
    },
    "en": {
        "start": "Start",
        "skip": "Start without choosing",
        "note": "No counselor is available right now",
        "keep": "You can keep waiting here",
        "leave": '"Exit"',
        "waiting": "Waiting for a counselor",
    },
    "ja-easy": {
        "start": "そうだんを はじめる",
        "skip": "えらばないで はじめる",
        "note": "いま こたえられる そうだんいんが いません",
        "keep": "このまま まって いても だいじょうぶです。",
        "leave": "「すぐに けす」",
        "waiting": "そうだんいんを まって います",
    },
}


@pytest.fixture(scope="module")
def desk_with_a_phone(server: Server) -> Server:
    """The default desk gets a phone line, set with the CLI as an admin would."""
    subprocess.run(
        [sys.executable, "-m", "service", "desk", "update", "general", "--phone", DESK_PHONE],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while DESK_PHONE not in httpx.get(f"{server.url}/api/v1/desks").json()["desks"][0]["phones"]:
        assert time.monotonic() < deadline, "the server never read the desk's phone"
        time.sleep(0.05)  # polling the server's state, not waiting on the page
    return server


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """A phone-sized page in a fresh context; the CSP is bypassed only for axe."""
    contexts: list[BrowserContext] = []

    def open_() -> Page:
        context = browser.new_context(
            viewport=PHONE, locale="ja-JP", bypass_csp=True, has_touch=True
        )
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@contextlib.contextmanager
def counselor_online(server: Server, session: str) -> Iterator[None]:
    """hana's inbox socket, connected on a thread of its own (Playwright's sync API owns this
    one's event loop) for as long as the block runs."""
    connected, done = threading.Event(), threading.Event()

    async def hold() -> None:
        client = await counselor(server, session)
        try:
            await client.wait_for("queue")
            connected.set()
            await asyncio.to_thread(done.wait)
        finally:
            await client.disconnect()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        holding = pool.submit(asyncio.run, hold())
        try:
            if not connected.wait(20):
                holding.result(timeout=1)  # its error, if it failed
                raise AssertionError("the counselor never connected")
            yield
        finally:
            done.set()
            holding.result(timeout=20)


def test_with_nobody_online_the_visitor_reads_so_with_the_phone_lines(
    desk_with_a_phone: Server, open_page: Callable[[], Page], tmp_path: Path
) -> None:
    server = desk_with_a_phone
    session = login_sync(server, "hana", PASSWORD)
    for lang, words in WORDS.items():
        page = open_page()
        page.goto(f"{server.url}/chat?lang={lang}")
        page.get_by_role("button", name=words["start"], exact=True).click()
        page.get_by_role("button", name=words["skip"]).click()
        expect(page.locator(".mg-status")).to_contain_text(words["waiting"])

        note = page.locator(".mg-unstaffed")
        expect(note.get_by_role("heading", name=words["note"])).to_be_visible()
        expect(note).to_contain_text(words["keep"])
        expect(note).to_contain_text(words["leave"])
        desk_link = note.get_by_role("link", name=DESK_PHONE, exact=True)
        expect(desk_link).to_have_attribute("href", "tel:" + DESK_PHONE.replace("-", ""))
        tels = note.get_by_role("link").evaluate_all("links => links.map(a => a.href)")
        assert [t for t in tels if t in EMERGENCY_TELS] == EMERGENCY_TELS
        # Said once to screen readers, and nothing else is taken away: writing still works.
        expect(page.locator(".mg-js-live")).to_have_text(words["note"])
        expect(page.locator("#mg-text")).to_be_editable()
        assert violations(page.main_frame) == []
        page.screenshot(path=str(tmp_path / f"unstaffed-{lang}.png"))

        # A counselor comes online: the note goes; the last one leaves: it is back.
        with counselor_online(server, session):
            expect(note).to_be_hidden()
            expect(page.locator(".mg-status")).to_contain_text(words["waiting"])
        expect(note.get_by_role("heading", name=words["note"])).to_be_visible()
        page.context.close()
