"""A practice chat played by two staff browsers: hana plays the visitor through the real chat on
the practice page (at phone size), ren claims and answers in the inbox; both sides show 練習,
no page scrolls sideways and axe-core finds no violation of any impact."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, running_server

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "widget" / "node_modules" / "axe-core" / "axe.min.js"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SHOTS = os.environ.get("MADOGUCHI_SCREENSHOTS")
"""A directory to keep the screenshots in, for a person to look at; unset: none are taken."""


def cli(server: Server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("ren", PASSWORD, display_name="蓮")
        cli(srv, "desk", "update", "general", "--hours", "24/7")
        cli(srv, "desk", "add", "practice", "--name", "練習用の窓口", "--hours", "24/7",
            "--practice")  # fmt: skip
        yield srv


@pytest.fixture
def staff(browser: Browser, server: Server) -> Iterator[dict[str, Page]]:
    """hana at phone size, ren at desktop size, each logged in through the real form."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    pages = {}
    for username, viewport in (("hana", PHONE), ("ren", DESKTOP)):
        # CSP bypassed only so that axe-core can be injected; the pages run as served.
        context = browser.new_context(viewport=viewport, locale="ja-JP", bypass_csp=True)
        context.on("weberror", lambda error: errors.append(str(error.error)))
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server.url}/inbox/login")
        page.get_by_label("ユーザー名").fill(username)
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("heading", name="相談の一覧")).to_be_visible()
        pages[username] = page
    try:
        yield pages
        assert not errors, errors
    finally:
        for context in contexts:
            context.close()


def violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(
        """async () => {
          const { violations } = await axe.run(document, { resultTypes: ['violations'] })
          return violations.map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3)
            .map((n) => n.target.join(' ')).join(', ')}`)
        }"""
    )
    return found


def fits(page: Page) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= page.viewport_size["width"] if page.viewport_size else False


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def test_two_staff_play_a_practice_chat_marked_練習_on_both_sides(
    server: Server, staff: dict[str, Page]
) -> None:
    hana, ren = staff["hana"], staff["ren"]
    hana.get_by_role("link", name="練習で相談者になる").click()
    expect(hana.get_by_role("heading", name="練習 練習で相談者になる")).to_be_visible()
    chat = hana.frame_locator("iframe.mg-practice-frame")
    expect(chat.locator(".mg-practice")).to_contain_text("練習")
    chat.get_by_role("button", name="相談を始める").click()
    chat.get_by_role("button", name="選ばずに始める").click()
    expect(chat.locator(".mg-status")).to_contain_text("相談員を待っています")
    expect(chat.locator(".mg-practice")).to_be_visible()  # still there while chatting
    box = chat.get_by_label("メッセージを入力")
    box.fill("練習の相談です")
    box.press("Enter")

    item = ren.locator("#mg-queue-list li", has=ren.locator(".mg-practice-badge"))
    expect(item).to_contain_text("練習")
    expect(item).to_contain_text("練習の相談です")
    item.get_by_role("button", name="対応する").click()
    expect(ren.locator("#mg-convo-status")).to_have_text("対応中です。")
    expect(ren.locator("#mg-convo-title .mg-practice-badge")).to_have_text("練習")
    reply = ren.get_by_label("返信")
    reply.fill("はい、どうぞ")
    reply.press("Enter")
    expect(chat.locator(".mg-log .mg-body").last).to_have_text("はい、どうぞ")

    shot(hana, "practice-phone")
    shot(ren, "practice-inbox-desktop")
    assert fits(hana) and fits(ren)
    assert violations(hana) == []
    assert violations(ren) == []
    # The chat page itself, as the frame shows it, at phone size.
    widget = hana.context.new_page()
    widget.set_viewport_size(PHONE)
    widget.goto(f"{server.url}/chat?desk=practice")
    expect(widget.locator(".mg-practice")).to_be_visible()
    shot(widget, "practice-widget-phone")
    assert fits(widget)
    assert violations(widget) == []
