"""The whole path in a real browser: a visitor on the demo partner page and a counselor in the
inbox, each in their own browser context, against a real ``madoguchi serve``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Frame,
    FrameLocator,
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
)

from tests.conftest import PASSWORD
from tests.support import Server, running_server

pytestmark = pytest.mark.browser

EXIT_URL = "https://weather.yahoo.co.jp/weather/"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}


@dataclass
class Visitor:
    """A visitor's tab on the demo partner page, with every URL it asked for."""

    context: BrowserContext
    page: Page
    urls: list[str] = field(default_factory=list)
    exit_referrers: list[str | None] = field(default_factory=list)

    @property
    def chat(self) -> FrameLocator:
        return self.page.frame_locator("iframe[title='相談チャット']")

    def chat_frame(self) -> Frame:
        frame = self.page.frame(url=re.compile(r"/chat\?"))
        assert frame is not None, "the chat iframe is loaded"
        return frame

    def bodies(self) -> Locator:
        return self.chat.locator(".mg-log .mg-body")

    def open_chat(self) -> None:
        self.page.get_by_role("button", name="相談する").click()

    def start(self) -> None:
        self.open_chat()
        self.chat.get_by_role("button", name="相談を始める").click()
        self.chat.get_by_role("button", name="選ばずに始める").click()
        expect(self.chat.locator(".mg-status")).to_contain_text("相談員を待っています")

    def say(self, text: str) -> None:
        box = self.chat.get_by_label("メッセージを入力")
        box.fill(text)
        box.press("Enter")


def inbox_bodies(inbox: Page) -> Locator:
    return inbox.locator("#mg-scroll .mg-body")


def claim_newest(inbox: Page) -> None:
    # Oldest first: the visitor of this test is the last one waiting.
    inbox.get_by_role("button", name="対応する").last.click()
    expect(inbox.locator("#mg-convo-status")).to_have_text("対応中です。")


def answer(inbox: Page, text: str) -> None:
    box = inbox.get_by_label("返信")
    box.fill(text)
    box.press("Enter")


def record_errors(context: BrowserContext, errors: list[str]) -> None:
    """Script errors and refusals: a CSP violation, a failed load are console errors."""
    context.on("console", lambda message: message.type == "error" and errors.append(message.text))
    context.on("weberror", lambda error: errors.append(str(error.error)))


@contextlib.contextmanager
def visitors(
    browser: Browser, server: Server, *, errors_allowed: bool = False
) -> Iterator[Callable[..., Visitor]]:
    """Opens visitors' tabs on the demo page, each in a fresh context, and closes them after;
    unless ``errors_allowed``, a page's script or console error fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(viewport: ViewportSize = DESKTOP) -> Visitor:
        context = browser.new_context(viewport=viewport, locale="ja-JP")
        contexts.append(context)
        record_errors(context, errors)
        visitor = Visitor(context, context.new_page())
        visitor.page.on("request", lambda request: visitor.urls.append(request.url))
        visitor.page.on("websocket", lambda socket: visitor.urls.append(socket.url))

        # The neutral exit page is answered here, so no test ever leaves the machine.
        def neutral_page(route: Route) -> None:
            visitor.exit_referrers.append(route.request.headers.get("referer"))
            route.fulfill(content_type="text/html", body="<title>天気</title><p>晴れ</p>")

        context.route(re.compile(r"^https://weather\.yahoo\.co\.jp/"), neutral_page)
        visitor.page.goto(f"{server.url}/demo")
        return visitor

    try:
        yield open_
        assert errors_allowed or not errors, errors
    finally:
        for context in contexts:
            context.close()


@contextlib.contextmanager
def inboxes(
    browser: Browser, server: Server, *, errors_allowed: bool = False
) -> Iterator[Callable[[str], Page]]:
    """Logs counselors in through the real form, each in a fresh context (errors: as above)."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(username: str) -> Page:
        context = browser.new_context(viewport=DESKTOP, locale="ja-JP")
        contexts.append(context)
        record_errors(context, errors)
        page = context.new_page()
        page.goto(f"{server.url}/inbox/login")
        page.get_by_label("ユーザー名").fill(username)
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("heading", name="相談の一覧")).to_be_visible()
        return page

    try:
        yield open_
        assert errors_allowed or not errors, errors
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def open_visitor(browser: Browser, server: Server) -> Iterator[Callable[..., Visitor]]:
    with visitors(browser, server) as open_:
        yield open_


@pytest.fixture
def open_inbox(browser: Browser, server: Server) -> Iterator[Callable[[str], Page]]:
    with inboxes(browser, server) as open_:
        yield open_


def test_a_visitor_and_a_counselor_talk_live_and_markup_stays_text(
    server: Server,
    open_visitor: Callable[..., Visitor],
    open_inbox: Callable[[str], Page],
) -> None:
    visitor = open_visitor()
    visitor.start()
    visitor.say("はじめまして。相談したいことがあります。")
    expect(visitor.bodies()).to_have_text(["はじめまして。相談したいことがあります。"])
    expect(visitor.chat.locator(".mg-msg--mine .mg-meta")).not_to_have_text("送信中…")

    inbox = open_inbox("hana")
    waiting = inbox.locator(".mg-q--waiting").last
    expect(waiting).to_contain_text("連携団体：デモページ")
    expect(waiting.locator(".mg-js-wait")).to_have_text(re.compile(r"^\d+分待機$"))
    claim_newest(inbox)
    expect(inbox_bodies(inbox)).to_have_text(
        ["はじめまして。相談したいことがあります。", "相談員が入室しました。"]
    )
    # The visitor sees the counselor's display name, never the login name.
    expect(visitor.chat.locator(".mg-status")).to_have_text("相談員の花子さんが対応しています。")

    reply = inbox.get_by_label("返信")
    reply.fill("はい、どうぞお話しください。")
    expect(visitor.chat.get_by_text("相談員が入力しています…")).to_be_visible()
    reply.press("Enter")
    expect(visitor.bodies()).to_have_text(
        [
            "はじめまして。相談したいことがあります。",
            "相談員が入室しました。",
            "はい、どうぞお話しください。",
        ]
    )

    # Markup in a message is shown as the characters it is, on both sides, and never runs.
    visitor.say(HOSTILE)
    expect(inbox_bodies(inbox).last).to_have_text(HOSTILE)
    expect(visitor.bodies().last).to_have_text(HOSTILE)
    answer(inbox, HOSTILE)
    expect(visitor.bodies()).to_have_count(5)
    expect(visitor.bodies().last).to_have_text(HOSTILE)
    expect(inbox_bodies(inbox)).to_have_count(5)
    for log in (visitor.chat.locator(".mg-log"), inbox.locator("#mg-scroll")):
        expect(log.locator("img, script")).to_have_count(0)
    for frame in (visitor.page.main_frame, visitor.chat_frame(), inbox.main_frame):
        assert frame.evaluate("typeof window.__pwned") == "undefined"

    # With the chat closed, the launcher counts what arrives; the words stay in the frame.
    visitor.page.get_by_role("button", name="閉じる").click()
    answer(inbox, "まだいらっしゃいますか")
    expect(visitor.page.get_by_role("button", name="相談する")).to_have_text("相談する新着1件")
    visitor.open_chat()
    expect(visitor.bodies().last).to_have_text("まだいらっしゃいますか")
    expect(visitor.page.get_by_role("button", name="相談する")).to_be_hidden()

    inbox.get_by_label("終了の区分").select_option("resolved")
    inbox.get_by_role("button", name="終了", exact=True).click()
    expect(visitor.chat.get_by_text("相談は終了しました。")).to_be_visible()
    expect(inbox.locator("#mg-convo-status")).to_have_text("この相談は終了しました（解決・傾聴）。")

    # Nothing of the visitor's is left in the browser, and nothing went anywhere but to us.
    assert visitor.context.cookies() == []
    chat = visitor.chat_frame()
    assert visitor.page.evaluate("localStorage.length") == 0
    assert chat.evaluate("localStorage.length + sessionStorage.length") == 0
    server_host = urlsplit(server.url).netloc
    assert {urlsplit(url).netloc for url in visitor.urls} == {server_host}


def test_after_a_reload_the_chat_resumes_and_shows_each_message_once(
    server: Server,
    open_visitor: Callable[..., Visitor],
    open_inbox: Callable[[str], Page],
) -> None:
    visitor = open_visitor(PHONE)
    visitor.start()
    # On a phone the chat takes the whole screen.
    frame_box = visitor.page.locator("iframe").bounding_box()
    assert frame_box is not None and frame_box["width"] <= PHONE["width"]
    visitor.say("一通目")
    visitor.say("二通目")
    inbox = open_inbox("ren")
    claim_newest(inbox)
    answer(inbox, "お返事です")
    before = ["一通目", "二通目", "相談員が入室しました。", "お返事です"]
    expect(visitor.bodies()).to_have_text(before)

    visitor.page.reload()
    visitor.open_chat()
    expect(visitor.bodies()).to_have_text(before)
    # The server tells a resuming visitor who is answering.
    expect(visitor.chat.locator(".mg-status")).to_have_text("相談員の蓮さんが対応しています。")
    visitor.say("再読み込みのあとです")
    after = [*before, "再読み込みのあとです"]
    expect(inbox_bodies(inbox)).to_have_text(after)
    expect(visitor.bodies()).to_have_text(after)
    expect(visitor.chat.locator(".mg-msg--mine .mg-meta").last).not_to_have_text("送信中…")

    # The inbox resumes after a reload too.
    inbox.reload()
    inbox.get_by_role("button", name="開く").last.click()
    expect(inbox_bodies(inbox)).to_have_text(after)

    visitor.chat.get_by_role("button", name="相談を終える").click()
    visitor.chat.get_by_role("group", name="相談を終えますか？").get_by_role(
        "button", name="相談を終える"
    ).click()
    expect(visitor.chat.get_by_text("相談は終了しました。")).to_be_visible()
    expect(inbox_bodies(inbox).last).to_have_text("相談者が退出しました。")
    assert visitor.chat_frame().evaluate("sessionStorage.length") == 0


def test_both_sides_resume_after_the_server_restarts_and_send_what_was_typed_offline(
    browser: Browser,
) -> None:
    # A server of its own: killing the module's server would break the other tests.
    with (
        running_server() as server,
        # The browser logs each refused reconnect while the server is down.
        visitors(browser, server, errors_allowed=True) as open_visitor,
        inboxes(browser, server, errors_allowed=True) as open_inbox,
    ):
        server.add_user("hana", PASSWORD, display_name="花子")
        visitor = open_visitor()
        visitor.start()
        visitor.say("つながっています")
        inbox = open_inbox("hana")
        claim_newest(inbox)
        expect(inbox_bodies(inbox)).to_have_text(["つながっています", "相談員が入室しました。"])

        server.kill()
        expect(visitor.chat.get_by_text("接続が切れました。再接続しています…")).to_be_visible()
        visitor.say("切れている間に書きました")
        expect(visitor.chat.locator(".mg-meta").last).to_have_text("送信中…")
        answer(inbox, "こちらも書きました")
        server.start()

        # Clients retry at most every 5 s (reconnectionDelayMax), plus a random spread.
        expect(visitor.bodies()).to_have_count(4, timeout=15_000)
        expect(inbox_bodies(inbox)).to_have_count(4, timeout=15_000)
        # Each message once on both sides, in the order the server stored them.
        stored = [
            "相談員が入室しました。" if author == "system" else body
            for author, body in server.query("SELECT author, body FROM message ORDER BY seq")
        ]
        assert len(stored) == 4 and "切れている間に書きました" in stored
        expect(visitor.bodies()).to_have_text(stored)
        expect(inbox_bodies(inbox)).to_have_text(stored)
        expect(visitor.chat.locator(".mg-banner")).to_be_hidden()
        expect(inbox.locator("#mg-banner")).to_be_hidden()


def test_shift_three_times_in_the_chat_ends_it_and_leaves_without_a_referrer(
    server: Server,
    open_visitor: Callable[..., Visitor],
    open_inbox: Callable[[str], Page],
) -> None:
    visitor = open_visitor()
    visitor.start()
    visitor.say("いまなら話せます")
    inbox = open_inbox("hana")
    claim_newest(inbox)

    box = visitor.chat.get_by_label("メッセージを入力")
    box.press("Shift")
    expect(visitor.chat.get_by_text("Shiftキーをあと2回押すと退出します")).to_be_attached()
    box.press("Shift")
    box.press("Shift")
    expect(visitor.page).to_have_url(EXIT_URL)
    assert visitor.exit_referrers == [None]
    # The chat ended on the server too, so nobody keeps writing into it, and the counselor
    # knows the visitor had to leave in a hurry.
    expect(inbox_bodies(inbox).last).to_have_text("相談者が緊急退出しました。")
    # The demo page was replaced, not left behind in the tab's history: Back skips it.
    visitor.page.go_back()
    assert visitor.page.url == "about:blank"


def partner_page(server: Server) -> str:
    """A partner's page on another origin, with no referrer policy of its own and a stylesheet
    that tries to restyle everything."""
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        '<link rel="icon" href="data:,">'
        "<style>* { all: revert !important; color: #f00 !important; background: #ff0 !important;"
        " font-size: 40px !important; display: block !important; }</style></head>"
        "<body><h1>区の相談窓口</h1><p>本文です。</p>"
        f'<script src="{server.url}/widget.js" data-partner="demo" async></script></body></html>'
    )


def test_the_loader_asks_for_nothing_until_opened_and_shift_on_the_page_exits(
    server: Server, open_visitor: Callable[..., Visitor]
) -> None:
    visitor = open_visitor()
    page = visitor.page
    context = visitor.context
    context.route(
        "http://partner.example/**",
        lambda route: route.fulfill(content_type="text/html", body=partner_page(server)),
    )
    # Chromium refuses a public page's script from a loopback address (Private Network
    # Access); fetching it through the test keeps it the server's real file.
    context.route(f"{server.url}/widget.js", lambda route: route.fulfill(response=route.fetch()))
    visitor.urls.clear()
    page.goto("http://partner.example/soudan")

    exit_link = page.get_by_role("link", name="緊急退出")
    expect(exit_link).to_be_visible()
    # The host page's stylesheet does not reach into the launcher.
    expect(exit_link).to_have_css("background-color", "rgb(179, 38, 30)")
    expect(page.get_by_role("button", name="相談する")).to_have_css("font-size", "16px")
    # The loader itself asks for nothing until the visitor opens the chat.
    assert visitor.urls == ["http://partner.example/soudan", f"{server.url}/widget.js"]

    # Shift presses that belong to Japanese input (an IME composing a word) do not count.
    page.evaluate(
        """() => {
          for (let i = 0; i < 3; i++) {
            for (const type of ['keydown', 'keyup']) {
              document.body.dispatchEvent(new KeyboardEvent(type, {
                key: 'Shift', isComposing: true, bubbles: true
              }))
            }
          }
        }"""
    )
    expect(page.locator(".mg-cover")).to_be_hidden()
    # Shift as a modifier (a capital letter) does not count either.
    page.keyboard.press("Shift+A")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    expect(page.locator(".mg-cover")).to_be_hidden()
    page.keyboard.press("Shift")
    expect(page).to_have_url(EXIT_URL)
    # The partner page sets no referrer policy; the loader's own keeps the exit anonymous.
    assert visitor.exit_referrers == [None]


def test_the_exit_button_of_the_open_chat_leaves_at_once(
    server: Server, open_visitor: Callable[..., Visitor]
) -> None:
    visitor = open_visitor()
    visitor.open_chat()
    expect(visitor.chat.get_by_role("button", name="相談を始める")).to_be_visible()
    visitor.page.get_by_role("region", name="相談チャット").get_by_role(
        "link", name="緊急退出"
    ).click()
    expect(visitor.page).to_have_url(EXIT_URL)
    assert visitor.exit_referrers == [None]
