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
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from tests.browser.test_widget_opening import PHONE, SMALL_PHONE, violations
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, counselor, login_sync

pytestmark = pytest.mark.browser

DESK_PHONE = "03-5555-0101"
LEGAL_PHONE = "03-5555-0202"
EMERGENCY_TELS = ["tel:110", "tel:0120279889", "tel:%238008", "tel:%238891", "tel:0120279338"]

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "start": "相談を始める",
        "skip": "選ばずに始める",
        "note": "いま対応できる相談員がいません",
        "keep": "このまま待っていても大丈夫です。",
        "leave": "「緊急退出」",
        "waiting": "相談員を待っています",
        "place": "番目）",
        "phones": "すぐに話したいときは電話で（番号を見る）",
    },
    "en": {
        "start": "Start",
        "skip": "Start without choosing",
        "note": "No counselor is available right now",
        "keep": "You can keep waiting here",
        "leave": '"Exit"',
        "waiting": "Waiting for a counselor",
        "place": "(you are number ",
        "phones": "To talk sooner, call (see the numbers)",
    },
    "ja-easy": {
        "start": "そうだんを はじめる",
        "skip": "えらばないで はじめる",
        "note": "いま こたえられる そうだんいんが いません",
        "keep": "このまま まって いても だいじょうぶです。",
        "leave": "「すぐに けす」",
        "waiting": "そうだんいんを まって います",
        "place": "ばんめ）",
        "phones": "すぐに はなしたい ときは でんわで（ばんごうを みる）",
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
        # The phones are one tap away.
        note.get_by_text(words["phones"]).click()
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


NOTE_CLOSED = [".mg-unstaffed-heading", ".mg-unstaffed-more summary"]
NOTE_OPEN = [".mg-unstaffed-heading", ".mg-js-desk-phones a"]


def composer_in_view(page: Page, note: list[str] = NOTE_CLOSED) -> dict[str, Any]:
    """Where the box to write in, Send and the note's parts named by ``note`` lie (the first
    of each), and how far the page and the conversation are scrolled."""
    found: dict[str, Any] = page.evaluate(
        """(note) => {
          const box = (s) => {
            const r = document.querySelector(s).getBoundingClientRect()
            return { selector: s, top: r.top, bottom: r.bottom, height: r.height }
          }
          return {
            height: window.innerHeight,
            width: document.documentElement.scrollWidth,
            scrolled: document.scrollingElement.scrollTop
              + document.querySelector('.mg-convo').scrollTop,
            boxes: ['#mg-text', '.mg-compose [type=submit]', ...note].map(box)
          }
        }""",
        note,
    )
    return found


@pytest.mark.parametrize("viewport", [PHONE, SMALL_PHONE], ids=["390x844", "320x568"])
def test_with_the_note_showing_the_box_to_write_in_stays_in_view(
    desk_with_a_phone: Server, browser: Browser, viewport: ViewportSize, tmp_path: Path
) -> None:
    server = desk_with_a_phone
    for lang, words in WORDS.items():
        # The CSP is bypassed only for axe.
        context = browser.new_context(
            viewport=viewport, locale="ja-JP", bypass_csp=True, has_touch=True
        )
        page = context.new_page()
        page.goto(f"{server.url}/chat?lang={lang}")
        page.get_by_role("button", name=words["start"], exact=True).click()
        page.get_by_role("button", name=words["skip"]).click()
        expect(page.locator(".mg-unstaffed-heading")).to_be_visible()

        found = composer_in_view(page)
        page.screenshot(path=str(tmp_path / f"unstaffed-{lang}-{viewport['width']}.png"))
        assert found["scrolled"] == 0, found
        assert found["width"] <= viewport["width"], found
        for box in found["boxes"]:
            assert box["height"] > 0 and box["top"] >= 0, (lang, box)
            assert box["bottom"] <= found["height"], (lang, box, found["height"])
        assert violations(page.main_frame) == [], lang
        context.close()


def status_lines(page: Page) -> float:
    """How many lines the status text takes: its height without padding, in line-heights."""
    lines: float = page.locator(".mg-status").evaluate(
        """(status) => {
          const style = getComputedStyle(status)
          const text = status.getBoundingClientRect().height
            - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
          return text / parseFloat(style.lineHeight)
        }"""
    )
    return lines


def test_on_a_small_phone_the_waiting_status_is_short_and_the_first_number_is_in_view(
    desk_with_a_phone: Server, browser: Browser, tmp_path: Path
) -> None:
    server = desk_with_a_phone
    for lang, words in WORDS.items():
        context = browser.new_context(
            viewport=SMALL_PHONE, locale="ja-JP", bypass_csp=True, has_touch=True
        )
        page = context.new_page()
        page.goto(f"{server.url}/chat?lang={lang}")
        page.get_by_role("button", name=words["start"], exact=True).click()
        page.get_by_role("button", name=words["skip"]).click()
        note = page.locator(".mg-unstaffed")
        expect(note.get_by_role("heading", name=words["note"])).to_be_visible()
        # The long status of a wait: the place, that it may take a while, that writing is fine.
        expect(page.locator(".mg-status")).to_contain_text(words["place"])
        assert status_lines(page) <= 3.05, (lang, status_lines(page))

        # The visitor asks for the numbers: the first one comes into view under the heading,
        # and the box to write in and Send stay where they were.
        note.get_by_text(words["phones"]).click()
        expect(note.get_by_role("link", name=DESK_PHONE, exact=True)).to_be_visible()
        found = composer_in_view(page, NOTE_OPEN)
        notes = page.locator(".mg-notes").bounding_box()
        page.screenshot(path=str(tmp_path / f"phones-{lang}-320.png"))
        assert notes is not None
        assert found["scrolled"] == 0, found
        assert found["width"] <= SMALL_PHONE["width"], found
        for box in found["boxes"]:
            assert box["height"] > 0 and box["top"] >= 0, (lang, box)
            assert box["bottom"] <= found["height"], (lang, box, found["height"])
        # The heading and the number lie within the notes' region, which scrolls on its own,
        # not under its fold.
        for box in found["boxes"][2:]:
            assert notes["y"] <= box["top"], (lang, box, notes)
            assert box["bottom"] <= notes["y"] + notes["height"], (lang, box, notes)
        assert violations(page.main_frame) == [], lang
        context.close()


@pytest.fixture(scope="module")
def legal_desk(desk_with_a_phone: Server) -> Server:
    """A second desk with a phone of its own, and yui, who works the general desk only."""
    server = desk_with_a_phone
    desk = ["desk", "add", "legal", "--name", "法律相談", "--name-kana", "ほうりつ そうだん"]
    subprocess.run(
        [sys.executable, "-m", "service", *desk, "--phone", LEGAL_PHONE, "--hours", "24/7"],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )
    server.add_user("yui", PASSWORD, display_name="結衣", desks=["general"])
    deadline = time.monotonic() + 10
    while "legal" not in [
        d["key"] for d in httpx.get(f"{server.url}/api/v1/desks").json()["desks"]
    ]:
        assert time.monotonic() < deadline, "the server never read the legal desk"
        time.sleep(0.05)  # polling the server's state, not waiting on the page
    return server


@contextlib.contextmanager
def counselor_transferring(server: Server, session: str) -> Iterator[None]:
    """yui online: she claims the newest chat waiting at her desk and hands it to the legal
    desk's queue, then stays online (her desk stays staffed) for as long as the block runs."""
    moved, done = threading.Event(), threading.Event()

    async def act() -> None:
        client = await counselor(server, session)
        try:
            # The newest chat: the visitor's; the module's earlier visitors still wait too.
            queue = await client.wait_for_queue(lambda q: q["conversations"])
            cid = max(queue["conversations"], key=lambda c: c["waiting_since"])["id"]
            assert (await client.call("claim", {"conversation_id": cid}))["ok"]
            transfer = {"conversation_id": cid, "to_desk": "legal"}
            assert (await client.call("transfer", transfer))["ok"]
            moved.set()
            await asyncio.to_thread(done.wait)
        finally:
            await client.disconnect()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        acting = pool.submit(asyncio.run, act())
        try:
            if not moved.wait(20):
                acting.result(timeout=1)  # its error, if it failed
                raise AssertionError("the counselor never transferred the chat")
            yield
        finally:
            done.set()
            acting.result(timeout=20)


def bare_kanji(region: Locator) -> list[str]:
    """Every text in ``region`` with a kanji that is not under furigana."""
    found: list[str] = region.evaluate(
        """(region) => {
          const walker = document.createTreeWalker(region, NodeFilter.SHOW_TEXT)
          const bare = []
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (/\\p{Script=Han}/u.test(node.data) && !node.parentElement.closest('ruby')) {
              bare.push(node.data)
            }
          }
          return bare
        }"""
    )
    return found


def test_after_a_transfer_the_note_shows_the_new_desks_phones(
    legal_desk: Server, open_page: Callable[[], Page]
) -> None:
    server = legal_desk
    words = WORDS["ja-easy"]
    page = open_page()
    page.goto(f"{server.url}/chat?lang=ja-easy")
    page.get_by_role("button", name=words["start"], exact=True).click()
    page.get_by_role("button", name=words["skip"]).click()
    note = page.locator(".mg-unstaffed")
    expect(note.get_by_role("heading", name=words["note"])).to_be_visible()

    with counselor_transferring(server, login_sync(server, "yui", PASSWORD)):
        # Held by yui, then back in a queue, the legal desk's, where nobody is online.
        expect(page.locator(".mg-msg--system .mg-body").last).to_have_text(
            "べつの そうだんいんに かわりました。"
        )
        expect(note.get_by_role("heading", name=words["note"])).to_be_visible()
        note.get_by_text(words["phones"]).click()
        legal = note.get_by_role("link", name=LEGAL_PHONE, exact=True)
        expect(legal).to_have_attribute("href", "tel:" + LEGAL_PHONE.replace("-", ""))
        expect(note.get_by_role("link", name=DESK_PHONE, exact=True)).to_have_count(0)
        # The desk's name in kanji, its reading over it as furigana.
        name = note.locator(".mg-js-desk-name ruby")
        expect(name).to_have_count(1)
        expect(name.locator("rt")).to_have_text("ほうりつ そうだん")
        assert name.evaluate("(r) => r.firstChild.textContent") == "法律相談"
        assert bare_kanji(note) == []
        expect(note.locator(".mg-js-desk-hours")).to_have_text("24じかん・まいにち")
        assert violations(page.main_frame) == []
