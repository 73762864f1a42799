"""The inbox's thread and summary in a real browser, at 1280×800 and 390×844 with no axe-core
violation: after a transfer the new counselor reads who wrote each line (their predecessor's
name on theirs, their own on their own) while the visitor still reads only "相談員"; and the
one handoff summary, which a colleague's save never replaces unseen: the counselor's typed
words stay, the other text is shown beside them, and a close waits until they have seen it.
Visitors use the real widget on the demo page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.test_end_to_end import Visitor, answer, claim_newest
from tests.browser.test_end_to_end import visitors as visitor_tabs
from tests.browser.test_staff_pages import SIZES, violations
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, running_server

pytestmark = pytest.mark.browser

SHOT_DIR = PROJECT_DIR / "var" / "screenshots"
"""Where the pictures of these states go, for people to look at (outside version control)."""
FIRST = "はじめまして。お話をうかがいます。"
SECOND = "担当を引き継ぎました。続けてうかがいます。"
TYPED = "要約：夫からの暴言。電話相談を案内。"
THEIRS = "要約：SVの判断で警察相談を案内。"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("ren", PASSWORD, display_name="蓮")
        srv.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        yield srv


@pytest.fixture
def staff(browser: Browser, server: Server) -> Iterator[Callable[[str, str], Page]]:
    """Logs staff in through the real form; the context bypasses the CSP only so that axe-core
    can be injected."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(username: str, size: str) -> Page:
        context = browser.new_context(viewport=SIZES[size], locale="ja-JP", bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
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


def line(page: Page, text: str) -> Locator:
    return page.locator("#mg-scroll .mg-msg").filter(has_text=text)


def fits(page: Page, size: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert not violations(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_after_a_transfer_each_counselor_line_names_who_wrote_it(
    staff: Callable[[str, str], Page], visitors: Callable[..., Visitor], size: str
) -> None:
    hana, ren = staff("hana", size), staff("ren", size)
    visitor = visitors()
    visitor.start()
    claim_newest(hana)
    answer(hana, FIRST)
    expect(line(hana, FIRST).locator(".mg-byline")).to_have_text("花子")
    visitor.say("よろしくお願いします")
    expect(line(hana, "よろしくお願いします")).to_be_visible()

    hana.locator("#mg-transfer summary").click()
    hana.locator("#mg-transfer-user").select_option(label="蓮")
    hana.get_by_role("button", name="引き継ぐ", exact=True).click()
    expect(hana.locator("#mg-banner")).to_have_text("引き継ぎました。")

    ren.get_by_role("button", name="開く").click()
    answer(ren, SECOND)
    # The predecessor's line: their name, seen and heard, set apart from the reader's own.
    theirs = line(ren, FIRST)
    expect(theirs.locator(".mg-byline")).to_have_text("花子")
    expect(theirs.locator(".mg-sr")).to_have_text("花子：")
    expect(theirs).to_have_class(re.compile(r"\bmg-msg--colleague\b"))
    own = line(ren, SECOND)
    expect(own.locator(".mg-byline")).to_have_text("蓮")
    expect(own.locator(".mg-sr")).to_have_text("自分：")
    expect(own).not_to_have_class(re.compile(r"\bmg-msg--colleague\b"))
    expect(line(ren, "よろしくお願いします").locator(".mg-byline")).to_have_count(0)
    fits(ren, size)
    ren.screenshot(path=f"{SHOT_DIR}/inbox-thread-after-transfer-{size}.png", full_page=True)

    # Read back from the server after a reload: the same names.
    ren.reload()
    ren.get_by_role("button", name="開く").click()
    expect(line(ren, FIRST).locator(".mg-byline")).to_have_text("花子")
    expect(line(ren, SECOND).locator(".mg-byline")).to_have_text("蓮")

    # The visitor reads both lines as the counselor's, with no name.
    expect(visitor.bodies().last).to_have_text(SECOND)
    for text in (FIRST, SECOND):
        said = visitor.chat.locator(".mg-msg").filter(has_text=text)
        expect(said.locator(".mg-sr")).to_have_text("相談員：")
    expect(visitor.chat.locator(".mg-log")).not_to_contain_text("花子")
    expect(visitor.chat.locator(".mg-log")).not_to_contain_text("蓮")

    ren.get_by_role("button", name="終了", exact=True).click()
    expect(ren.locator("#mg-convo-status")).to_contain_text("この相談は終了しました")


def test_a_summary_saved_meanwhile_keeps_what_was_typed_and_holds_the_close(
    staff: Callable[[str, str], Page], visitors: Callable[..., Visitor], server: Server
) -> None:
    hana, mori = staff("hana", "phone"), staff("mori", "desk")
    mori.goto(mori.url.replace("/inbox", "/inbox/board"))
    expect(mori.get_by_role("heading", name="全体ボード")).to_be_visible()
    visitor = visitors()
    visitor.start()
    claim_newest(hana)
    summary = hana.get_by_label("引き継ぎの要約（電話・面接相談員が後で読みます）")
    summary.fill(TYPED)

    # The supervisor saves another summary while hana is still writing hers.
    watched = mori.locator("#mg-queue-list li").filter(has_text="担当：花子")
    watched.get_by_role("button", name="見守る").click()
    mori.get_by_label("引き継ぎの要約（電話・面接相談員が後で読みます）").fill(THEIRS)
    mori.get_by_role("button", name="要約を保存").click()
    expect(mori.locator("#mg-banner")).to_have_text("保存しました。")
    expect(hana.locator("#mg-summary-by")).to_contain_text("最後の保存：森")
    expect(summary).to_have_value(TYPED)  # the case that came in left her words alone

    hana.get_by_role("button", name="要約を保存").click()
    conflict = hana.locator("#mg-summary-conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("森さんが先に要約を保存していました。")
    expect(conflict.locator(".mg-conflict-theirs")).to_have_text(THEIRS)
    expect(summary).to_have_value(TYPED)
    assert stored_summaries(server) == [(THEIRS, "active")]
    fits(hana, "phone")
    conflict.scroll_into_view_if_needed()
    hana.screenshot(path=f"{SHOT_DIR}/inbox-summary-conflict-phone.png")

    # Having seen the other text, she saves hers over it on purpose.
    hana.get_by_role("button", name="要約を保存").click()
    expect(hana.locator("#mg-banner")).to_have_text("保存しました。")
    expect(conflict).to_be_hidden()
    expect(hana.locator("#mg-summary-by")).to_contain_text("最後の保存：花子")
    assert stored_summaries(server) == [(TYPED, "active")]

    # She adds to it; the supervisor saves again meanwhile: her close, carrying her words,
    # closes nothing until she has seen his.
    summary.fill(TYPED + "（追記）")
    expect(mori.get_by_label("引き継ぎの要約（電話・面接相談員が後で読みます）")).to_have_value(
        TYPED
    )
    mori.get_by_label("引き継ぎの要約（電話・面接相談員が後で読みます）").fill(THEIRS + "追記")
    mori.get_by_role("button", name="要約を保存").click()
    expect(hana.locator("#mg-summary-by")).to_contain_text("最後の保存：森")
    hana.get_by_role("button", name="終了", exact=True).click()
    expect(hana.locator("#mg-banner")).to_contain_text("相談はまだ終了していません")
    expect(conflict.locator(".mg-conflict-theirs")).to_have_text(THEIRS + "追記")
    expect(hana.locator("#mg-convo-status")).to_have_text("対応中です。")
    expect(summary).to_have_value(TYPED + "（追記）")
    assert stored_summaries(server) == [(THEIRS + "追記", "active")]

    hana.get_by_role("button", name="終了", exact=True).click()
    expect(hana.locator("#mg-convo-status")).to_contain_text("この相談は終了しました")
    expect(conflict).to_be_hidden()
    assert stored_summaries(server) == [(TYPED + "（追記）", "closed")]


def stored_summaries(server: Server) -> list[tuple[str, str]]:
    """The module's other conversations have none."""
    return server.query("SELECT summary, status FROM conversation WHERE summary IS NOT NULL")
