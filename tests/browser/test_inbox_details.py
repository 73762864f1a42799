"""The inbox's queue items in a real browser, at 1280×800 and 390×844 with no axe-core
violation of any impact: the topic by its label, the visitor's first words, the wait in whole
minutes, the visitor who has gone marked at once; the alert toggles that say "オン" or "オフ";
and the urgent alert that clears on the supervisor's board once someone takes the chat.
Visitors use the real widget on the demo page."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_end_to_end import Visitor
from tests.browser.test_end_to_end import visitors as visitor_tabs
from tests.browser.test_staff_pages import SIZES, violations
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, running_server

pytestmark = pytest.mark.browser

FIRST = "はじめまして。夫のことで相談したいです。毎日のように怒鳴られて、眠れない日が続いています。"
SHOT_DIR = PROJECT_DIR / "var" / "screenshots"
"""Where the pictures of these states go, for people to look at (outside version control)."""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        yield srv


@pytest.fixture
def staff(browser: Browser, server: Server) -> Iterator[Callable[[str, str], Page]]:
    """Logs staff in through the real form; the context bypasses the CSP only so that axe-core
    can be injected."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def record(error: str) -> None:
        errors.append(error)

    def open_(username: str, size: str) -> Page:
        context = browser.new_context(viewport=SIZES[size], locale="ja-JP", bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: record(str(exc)))
        page.goto(f"{server.url}/inbox/login")
        page.get_by_label("ユーザー名").fill(username)
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("heading", name="相談の一覧")).to_be_visible()
        return page

    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        yield open_
        assert not errors, errors
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def visitors(browser: Browser, server: Server) -> Iterator[Callable[..., Visitor]]:
    with visitor_tabs(browser, server) as open_:
        yield open_


@pytest.mark.parametrize("size", list(SIZES))
def test_a_queue_item_tells_what_the_counselor_needs_to_choose(
    staff: Callable[[str, str], Page],
    visitors: Callable[..., Visitor],
    size: str,
) -> None:
    hana = staff("hana", size)
    visitor = visitors()
    visitor.open_chat()
    visitor.chat.get_by_role("button", name="相談を始める").click()
    visitor.chat.get_by_role("button", name="DV（配偶者・パートナーからの暴力）").click()
    expect(visitor.chat.locator(".mg-status")).to_contain_text("相談員を待っています")
    first = f"{size}：{FIRST}"  # the module's other visitors wait too
    visitor.say(first)

    item = hana.locator("#mg-queue-list li").filter(has_text=f"「{first[:40]}…」")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("話題：DV（配偶者・パートナーからの暴力）")
    expect(item.locator(".mg-js-wait")).to_have_text("0分待機")
    expect(item).not_to_contain_text("接続なし")

    # The alert toggles say their state in words as well as in aria-pressed.
    sound = hana.get_by_role("button", name="音", exact=True)
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_contain_text("オン")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "false")
    expect(sound).to_contain_text("オフ")
    assert not violations(hana)

    # The visitor closes the page: marked at once.
    visitor.context.close()
    expect(item.locator(".mg-q-gone")).to_have_text(
        "接続なし（相談者は接続していません（ページを閉じたか、通信が切れています））"
    )
    assert hana.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert not violations(hana)
    hana.screenshot(path=f"{SHOT_DIR}/inbox-{size}.png", full_page=True)


def test_the_urgent_alert_clears_on_the_board_once_the_chat_is_taken(
    staff: Callable[[str, str], Page],
    visitors: Callable[..., Visitor],
) -> None:
    mori = staff("mori", "desk")
    mori.goto(mori.url.replace("/inbox", "/inbox/board"))
    expect(mori.get_by_role("heading", name="全体ボード")).to_be_visible()
    hana = staff("hana", "desk")
    visitor = visitors()
    visitor.open_chat()
    visitor.chat.get_by_role("button", name="今すぐ危険がある").click()

    alert = mori.get_by_role("alert")
    expect(alert).to_contain_text("今すぐ危険")
    expect(mori.locator("#mg-queue-list")).to_contain_text("緊急")
    mori.screenshot(path=f"{SHOT_DIR}/board-alert.png")
    hana.get_by_role("button", name="対応する").first.click()  # urgent leads the queue
    expect(hana.locator("#mg-convo-status")).to_have_text("対応中です。")
    expect(mori.locator("#mg-alert")).to_be_hidden()
    for size in SIZES:
        mori.set_viewport_size(SIZES[size])
        assert not violations(mori)
        mori.screenshot(path=f"{SHOT_DIR}/board-{size}.png", full_page=True)
