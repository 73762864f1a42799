"""The chat beyond writing: the "in danger right now" start, the code word, the survey,
the inactivity close, one history entry for the whole chat, the page without JavaScript, and the
loader's data attributes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.test_end_to_end import (
    DESKTOP,
    EXIT_URL,
    Visitor,
    record_errors,
    visitors,
)
from tests.browser.test_widget_ending import answer_as_hana
from tests.conftest import PASSWORD
from tests.support import Server, counselor, login_sync

pytestmark = pytest.mark.browser


@pytest.fixture
def open_visitor(browser: Browser, server: Server) -> Iterator[Callable[..., Visitor]]:
    with visitors(browser, server) as open_:
        yield open_


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A bare page in a fresh context (options as for ``new_context``); errors fail the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(**options: Any) -> Page:
        context = browser.new_context(viewport=DESKTOP, locale="ja-JP", **options)
        contexts.append(context)
        record_errors(context, errors)
        context.route(
            re.compile(r"^https://weather\.yahoo\.co\.jp/"),
            lambda route: route.fulfill(content_type="text/html", body="<title>天気</title>"),
        )
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def counselor_queue(server: Server) -> list[dict[str, Any]]:
    """The queue a counselor's socket gets on connect, read by a real Socket.IO client."""
    session = login_sync(server, "hana", PASSWORD)

    async def read() -> list[dict[str, Any]]:
        client = await counselor(server, session)
        try:
            return list((await client.wait_for("queue"))["conversations"])
        finally:
            await client.disconnect()

    # Playwright's sync API owns this thread's event loop; the client gets a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def conversation_of(server: Server, words: str) -> str:
    """The id of the conversation in which the visitor wrote ``words``."""
    rows = server.query("SELECT conversation_id FROM message WHERE opened(body) = ?", (words,))
    assert len(rows) == 1, rows
    return str(rows[0][0])


def conversation_field(server: Server, words: str, column: str) -> Any:
    row = server.query("SELECT * FROM conversation WHERE id = ?", (conversation_of(server, words),))
    names = [d[1] for d in server.query("PRAGMA table_info(conversation)")]
    return dict(zip(names, row[0], strict=True))[column]


def survey_of(server: Server, words: str) -> list[tuple[Any, ...]]:
    return server.query(
        "SELECT rating, helpful, comment FROM survey WHERE conversation_id = ?",
        (conversation_of(server, words),),
    )


def test_in_danger_right_now_shows_110_at_once_and_goes_first_in_the_queue(
    server: Server, open_visitor: Callable[..., Visitor]
) -> None:
    calm = open_visitor()
    calm.start()
    calm.say("落ち着いて話したいです")

    in_danger = open_visitor()
    in_danger.open_chat()
    in_danger.chat.get_by_role("button", name="今すぐ危険がある").click()
    call = in_danger.chat.get_by_role("link", name="110番に電話する")
    expect(call).to_be_visible()
    expect(call).to_be_focused()
    expect(call).to_have_attribute("href", "tel:110")
    expect(in_danger.chat.locator(".mg-status")).to_contain_text("相談員を待っています（1番目）")
    in_danger.say("いま家の外にいます")
    expect(in_danger.chat.locator(".mg-msg--mine .mg-meta")).not_to_have_text("送信中…")

    queue = counselor_queue(server)
    assert queue[0]["urgent"] is True
    assert queue[0]["id"] == conversation_of(server, "いま家の外にいます")
    assert conversation_field(server, "いま家の外にいます", "urgent") == 1
    assert conversation_field(server, "落ち着いて話したいです", "urgent") == 0
    calm_id = conversation_of(server, "落ち着いて話したいです")
    assert [c["id"] for c in queue].index(calm_id) > 0

    # After a reload the 110 notice is still there: it belongs to this conversation.
    in_danger.page.reload()
    in_danger.open_chat()
    expect(in_danger.chat.get_by_role("link", name="110番に電話する")).to_be_visible()


def test_a_code_word_and_the_survey_are_stored_and_the_code_word_leaves_the_screen(
    server: Server, open_visitor: Callable[..., Visitor]
) -> None:
    visitor = open_visitor()
    visitor.start()
    visitor.say("合言葉を決めたいです")
    chat = visitor.chat
    opener = chat.get_by_role("button", name="合言葉を決める")
    opener.click()
    expect(opener).to_have_attribute("aria-expanded", "true")
    word = chat.get_by_label("合言葉（1〜32文字）")
    expect(word).to_be_focused()
    word.fill("ひまわり畑")
    chat.get_by_role("button", name="保存する").click()
    expect(chat.get_by_text("合言葉を保存しました。")).to_be_visible()
    expect(word).to_have_value("")
    assert conversation_field(server, "合言葉を決めたいです", "code_word") == "ひまわり畑"

    chat.get_by_role("button", name="相談を終える").click()
    chat.get_by_role("group", name="相談を終えますか？").get_by_role(
        "button", name="相談を終える"
    ).click()
    expect(chat.get_by_role("heading", name="相談は終了しました。")).to_be_focused()
    # The token is off the device at once; the survey still reaches the server.
    assert visitor.chat_frame().evaluate("sessionStorage.length") == 0
    chat.get_by_role("group", name="この相談の満足度（5がいちばん満足）").get_by_label("4").check()
    chat.get_by_role("group", name="相談して役に立ちましたか").get_by_label("はい").check()
    chat.get_by_label("ご意見").fill("  聞いてもらえて安心しました  ")
    chat.get_by_role("button", name="送る").click()
    expect(chat.get_by_text("ありがとうございました。")).to_be_focused()
    assert survey_of(server, "合言葉を決めたいです") == [(4, 1, "聞いてもらえて安心しました")]

    # A code word may still be chosen at the end.
    late_word = chat.get_by_label("合言葉（1〜32文字）")
    late_word.fill("あさがお")
    chat.get_by_role("button", name="保存する").click()
    # The notice is still shown from the first save: wait for this save to clear the field.
    expect(late_word).to_have_value("")
    assert conversation_field(server, "合言葉を決めたいです", "code_word") == "あさがお"

    chat.get_by_role("button", name="最初の画面に戻る").click()
    expect(chat.get_by_role("button", name="相談を始める")).to_be_visible()
    expect(visitor.bodies()).to_have_count(0)


def test_the_survey_can_be_skipped(server: Server, open_visitor: Callable[..., Visitor]) -> None:
    visitor = open_visitor()
    visitor.start()
    visitor.say("アンケートは答えません")
    visitor.chat.get_by_role("button", name="相談を終える").click()
    visitor.chat.get_by_role("group", name="相談を終えますか？").get_by_role(
        "button", name="相談を終える"
    ).click()
    visitor.chat.get_by_role("button", name="答えない").click()
    expect(visitor.chat.get_by_role("button", name="最初の画面に戻る")).to_be_focused()
    expect(visitor.chat.locator(".mg-survey")).to_be_hidden()
    assert survey_of(server, "アンケートは答えません") == []


def test_after_a_quiet_while_a_warning_then_the_chat_closes_and_leaves_the_screen(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page()
    page.clock.install()
    page.goto(f"{server.url}/chat?lang=ja")
    page.get_by_role("button", name="相談を始める").click()
    page.get_by_role("button", name="選ばずに始める").click()
    box = page.get_by_label("メッセージを入力")
    box.fill("少し席を外すかもしれません")
    box.press("Enter")
    expect(page.locator(".mg-msg--mine .mg-meta")).not_to_have_text("送信中…")
    # Only a chat a counselor has taken times out: one still waiting never does.
    answer_as_hana(server, conversation_of(server, "少し席を外すかもしれません"), "こんにちは。")
    expect(page.locator(".mg-msg--theirs")).to_have_count(1)

    # Any key or tap keeps the chat open (WCAG 2.2.1)…
    page.clock.fast_forward("10:01")
    warning = page.get_by_role("alert").filter(has_text="しばらく操作がありません")
    expect(warning).to_be_visible()
    expect(page.get_by_role("button", name="続ける")).to_be_focused()
    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    expect(page.locator(".mg-msg--mine .mg-body")).to_have_text(["少し席を外すかもしれません"])

    # …and without one, the chat closes and nothing of it stays.
    page.clock.fast_forward("10:01")
    expect(warning).to_be_visible()
    page.clock.fast_forward("02:00")
    expect(
        page.get_by_text("しばらく操作がなかったので、チャットを閉じて画面から消しました。")
    ).to_be_visible()
    expect(page.get_by_role("button", name="相談を始める")).to_be_visible()
    expect(page.locator(".mg-msg")).to_have_count(0)
    assert page.evaluate("sessionStorage.length") == 0


def test_the_whole_chat_is_one_history_entry_even_when_the_language_changes(
    server: Server, open_visitor: Callable[..., Visitor]
) -> None:
    visitor = open_visitor()
    entries = visitor.page.evaluate("history.length")
    visitor.open_chat()
    visitor.chat.get_by_role("link", name="English").click()
    expect(visitor.chat.get_by_role("heading", name="Talk to a counselor by chat")).to_be_visible()
    visitor.chat.get_by_role("button", name="Start", exact=True).click()
    visitor.chat.get_by_role("button", name="Start without choosing").click()
    expect(visitor.chat.locator(".mg-status")).to_contain_text("Waiting for a counselor")
    box = visitor.chat.get_by_label("Type a message")
    box.fill("Hello")
    box.press("Enter")
    expect(visitor.chat.locator(".mg-msg--mine .mg-meta")).not_to_have_text("Sending…")
    assert visitor.page.evaluate("history.length") == entries


def test_without_javascript_the_first_screen_and_the_exit_still_work(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(java_script_enabled=False)
    page.goto(f"{server.url}/chat?lang=ja")
    page.keyboard.press("Tab")
    exit_link = page.get_by_role("link", name="緊急退出")
    expect(exit_link).to_be_focused()  # first in keyboard order
    expect(
        page.get_by_text("このチャットを使うには JavaScript を有効にしてください。")
    ).to_be_visible()
    expect(page.get_by_role("link", name="0120-279-889")).to_have_attribute(
        "href", "tel:0120279889"
    )
    expect(page.get_by_role("link", name="#8008")).to_have_attribute("href", "tel:%238008")
    exit_link.click()
    expect(page).to_have_url(EXIT_URL)


def test_the_loader_takes_position_label_colour_and_language_from_its_tag(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page()
    host = (
        '<!doctype html><html lang="ja"><head><link rel="icon" href="data:,"></head><body>'
        "<style>button { background: #000 !important; color: #000 !important; }</style>"
        "<h1>図書館</h1>"
        f'<script src="{server.url}/widget.js" data-partner="demo" data-lang="en"'
        ' data-position="left" data-label="Talk to us" data-color="#ffd700" async></script>'
        "</body></html>"
    )
    page.context.route(
        "http://partner.example/**",
        lambda route: route.fulfill(content_type="text/html", body=host),
    )

    # Chromium refuses a public page's script from a loopback address (Private Network
    # Access); fetching it through the test keeps it the server's real file.
    def fetch(route: Route) -> None:
        route.fulfill(response=route.fetch())

    page.context.route(f"{server.url}/widget.js", fetch)
    page.goto("http://partner.example/library")
    launcher = page.get_by_role("button", name="Talk to us")
    expect(launcher).to_have_css("background-color", "rgb(255, 215, 0)")
    expect(launcher).to_have_css("color", "rgb(0, 0, 0)")  # more contrast than white on gold
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 100
    expect(page.get_by_role("link", name="Exit")).to_be_visible()


def test_the_staying_safe_page_has_its_own_quick_exit(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page()
    page.goto(f"{server.url}/safety?lang=ja")
    expect(page.get_by_role("heading", name="安全にインターネットを使うために")).to_be_visible()
    page.keyboard.press("Shift")
    expect(page.get_by_text("Shiftキーをあと2回押すと退出します")).to_be_attached()
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    expect(page).to_have_url(EXIT_URL)
