"""Waiting for a counselor: the inactivity timer never closes a chat that waits (the wait is not
the visitor's doing); the visitor sees their place and an honest expected wait, "not known yet"
until the desk has a handful of recent first replies, and every few minutes a calm note that
they are still in line and can leave safely."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_widget_opening import PHONE, violations
from tests.conftest import PASSWORD
from tests.support import Server, counselor, login_sync, visitor

pytestmark = pytest.mark.browser

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "start": "相談を始める",
        "skip": "選ばずに始める",
        "message": "メッセージを入力",
        "waiting": "相談員を待っています（1番目）",
        "unknown": "待ち時間の目安は、まだわかりません。",
        "note": "3分たちました。順番はそのままです。いつでも「緊急退出」で安全に抜けられます。",
        "idle": "しばらく操作がありません",
        "sending": "送信中…",
    },
    "en": {
        "start": "Start",
        "skip": "Start without choosing",
        "message": "Type a message",
        "waiting": "Waiting for a counselor (you are number 1)",
        "unknown": "We cannot tell the expected wait yet.",
        "note": "3 minutes so far. You are still in line.",
        "idle": "Nothing has happened for a while",
        "sending": "Sending…",
    },
    "ja-easy": {
        "start": "そうだんを はじめる",
        "skip": "えらばないで はじめる",
        "message": "メッセージを かく",
        "waiting": "そうだんいんを まって います（1ばんめ）",
        "unknown": "まつ じかんは まだ わかりません。",
        "note": "3ふん たちました。じゅんばんは そのままです。",
        "idle": "しばらく なにも して いません",
        "sending": "おくって います…",
    },
}


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


def in_thread(work: Callable[[], object]) -> None:
    """Playwright's sync API owns this thread's event loop; real Socket.IO clients get their
    own thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()  # type: ignore[arg-type]


def claim_everything_waiting(server: Server) -> None:
    """hana takes every waiting chat at once: the desk's recent waits become short."""
    session = login_sync(server, "hana", PASSWORD)

    async def act() -> None:
        client = await counselor(server, session)
        try:
            queue = (await client.wait_for("queue"))["conversations"]
            for item in queue:
                if item["status"] == "waiting":
                    assert (await client.call("claim", {"conversation_id": item["id"]}))["ok"]
        finally:
            await client.disconnect()

    in_thread(act)


def start_visitors(server: Server, count: int) -> None:
    async def act() -> None:
        clients = [await visitor(server) for _ in range(count)]
        try:
            for client in clients:
                assert (await client.call("start", {}))["ok"]
        finally:
            for client in clients:
                await client.disconnect()

    in_thread(act)


@pytest.mark.parametrize("lang", ["ja", "en", "ja-easy"])
def test_a_waiting_chat_never_times_out_and_hears_a_calm_note(
    server: Server, open_page: Callable[[], Page], lang: str
) -> None:
    claim_everything_waiting(server)  # this visitor is first in line
    words = WORDS[lang]
    page = open_page()
    page.clock.install()
    page.goto(f"{server.url}/chat?lang={lang}")
    page.get_by_role("button", name=words["start"], exact=True).click()
    page.get_by_role("button", name=words["skip"]).click()
    status = page.locator(".mg-status")
    expect(status).to_contain_text(words["waiting"])
    # No claims on this server yet: too little to go on, so no guess.
    expect(page.get_by_text(words["unknown"])).to_be_visible()
    box = page.get_by_label(words["message"])
    box.fill("待っています")
    box.press("Enter")
    expect(page.locator(".mg-msg--mine .mg-meta")).not_to_have_text(words["sending"])

    page.clock.fast_forward("03:01")
    expect(page.get_by_role("status").filter(has_text=words["note"])).to_be_visible()
    assert violations(page.main_frame) == []

    # Far past the inactivity warning and its grace: still waiting, nothing closed or wiped.
    page.clock.fast_forward("10:00")
    page.clock.fast_forward("10:00")
    expect(page.get_by_role("alert").filter(has_text=words["idle"])).to_have_count(0)
    expect(status).to_contain_text(words["waiting"])
    expect(page.locator(".mg-msg--mine .mg-body")).to_have_text(["待っています"])
    assert page.evaluate("sessionStorage.length") > 0


def test_the_expected_wait_comes_from_the_desks_recent_first_replies(
    server: Server, open_page: Callable[[], Page]
) -> None:
    # Five chats answered at once: the desk's recent waits are all short.
    start_visitors(server, 5)
    claim_everything_waiting(server)
    page = open_page()
    page.goto(f"{server.url}/chat?lang=ja")
    page.get_by_role("button", name="相談を始める").click()
    page.get_by_role("button", name="選ばずに始める").click()
    expect(page.locator(".mg-status")).to_contain_text("相談員を待っています（1番目）")
    expect(page.get_by_text("待ち時間の目安：5分以内（最近の相談から）")).to_be_visible()
    assert violations(page.main_frame) == []
