"""Quick exit from a partner's page on another site: by the button of the launcher, the
button of the open panel, and Shift×3 on the host page or inside the chat. Each time: the final
URL, no referrer, the conversation ended on the server as a quick exit, Back shows no
conversation, and nothing of ours is left in cookies, localStorage, sessionStorage, IndexedDB or
Cache Storage."""

from __future__ import annotations

import html
import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Page, Route, expect

from tests.browser.test_end_to_end import EXIT_URL, record_errors
from tests.support import Server, free_port, running_seeded_server

pytestmark = pytest.mark.browser

NEUTRAL = "https://neutral.example/news"
HOSTILE_CSS = (
    "* { all: revert !important; color: #f00 !important; background: #ff0 !important;"
    " font-size: 40px !important; display: block !important; }"
    " button, a, iframe, div { border: 9px dotted #0f0 !important; font-family: cursive; }"
)


class PartnerSite(http.server.BaseHTTPRequestHandler):
    """Another site on this machine (localhost, where the service is 127.0.0.1: another origin
    and another site). ``/page?…`` embeds the widget with the query as data attributes;
    ``/inspect?src=URL`` only frames URL, to look at our storage as the partner's frame sees it."""

    service = ""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/inspect":
            body = f'<!doctype html><iframe id="probe" src="{html.escape(query["src"])}"></iframe>'
        else:
            attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in query.items())
            body = (
                '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
                '<link rel="icon" href="data:,"><title>区のページ</title>'
                f"<style>{HOSTILE_CSS}</style>"
                f"</head><body><h1>区の相談窓口 {html.escape(url.path)}</h1><p>本文です。</p>"
                f'<script src="{self.service}/widget.js" data-partner="host" {attrs} async>'
                "</script></body></html>"
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def partner_site() -> Iterator[str]:
    site = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), PartnerSite)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{site.server_address[1]}"
    site.shutdown()
    site.server_close()
    thread.join()


@pytest.fixture(scope="module")
def server(partner_site: str) -> Iterator[Server]:
    """A partner ``host`` on the partner site, with its own neutral exit page."""
    # Our own constants and a local port, no input: S608 does not apply.
    partner = (
        "INSERT INTO partner (key, name, origins, is_default, enabled, exit_url, created_at) "  # noqa: S608
        f"VALUES ('host', '区の外郭団体', '[\"{partner_site}\"]', 0, 1, '{NEUTRAL}', "
        "'2026-01-01T00:00:00.000Z')"
    )
    with running_seeded_server([partner]) as srv:
        PartnerSite.service = srv.url
        yield srv


@dataclass
class Tab:
    context: BrowserContext
    page: Page
    referrers: dict[str, str | None] = field(default_factory=dict)

    @property
    def chat(self) -> FrameLocator:
        return self.page.frame_locator("iframe")

    def start(self, text: str) -> None:
        self.page.get_by_role("button", name="相談する").click()
        self.chat.get_by_role("button", name="相談を始める").click()
        self.chat.get_by_role("button", name="選ばずに始める").click()
        expect(self.chat.locator(".mg-status")).to_contain_text("相談員を待っています")
        box = self.chat.get_by_label("メッセージを入力")
        box.fill(text)
        box.press("Enter")
        expect(self.chat.locator(".mg-msg--mine .mg-meta")).not_to_have_text("送信中…")


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Callable[[], Tab]]:
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_() -> Tab:
        context = browser.new_context(locale="ja-JP")
        contexts.append(context)
        record_errors(context, errors)
        tab = Tab(context, context.new_page())

        # The neutral pages are answered here, so no test ever leaves the machine.
        def neutral(route: Route) -> None:
            tab.referrers[route.request.url] = route.request.headers.get("referer")
            route.fulfill(content_type="text/html", body="<title>天気</title><p>晴れ</p>")

        context.route(re.compile(r"^https://(weather\.yahoo\.co\.jp|neutral\.example)/"), neutral)
        return tab

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def quick_exit_closed(server: Server, text: str, timeout: float = 10.0) -> bool:
    """Whether the conversation holding ``text`` was closed by a quick exit (the `leave` is
    sent on the way out, so the server may still be handling it: poll the file, as an auditor)."""
    sql = (
        "SELECT c.status, c.quick_exit FROM conversation AS c JOIN message AS m "
        "ON m.conversation_id = c.id WHERE opened(m.body) = ?"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.query(sql, (text,)) == [("closed", 1)]:
            return True
        time.sleep(0.05)  # polling the database file, not waiting on the page
    return False


def nothing_of_ours_is_left(tab: Tab, server: Server, partner_site: str) -> None:
    """Our storage as a frame of ours on the partner's site sees it (storage is partitioned by
    the top-level site, and sessionStorage belongs to the tab)."""
    assert tab.context.cookies() == []
    chat = f"{server.url}/chat?partner=host"
    tab.page.goto(f"{partner_site}/inspect?src={chat}")
    tab.page.frame_locator("#probe").locator("#mg-app").wait_for(state="attached")
    probe = tab.page.frame(url=chat)
    assert probe is not None
    # Where the browser blocks third-party storage altogether (as this Chromium does), reading
    # it throws: nothing can have been kept there either, and the chat ran from memory.
    found = probe.evaluate(
        """async () => {
          const read = async (f) => { try { return await f() } catch { return 'blocked' } }
          return {
            cookies: await read(() => document.cookie),
            local: await read(() => localStorage.length),
            session: await read(() => sessionStorage.length),
            indexedDB: await read(async () => (await indexedDB.databases()).length),
            caches: await read(async () => (await caches.keys()).length),
          }
        }"""
    )
    for where, value in found.items():
        assert value in ("", 0, "blocked"), (where, value)


def press_shift_in_chat(tab: Tab) -> None:
    box = tab.chat.get_by_label("メッセージを入力")
    for _ in range(3):
        box.press("Shift")


def press_shift_on_host(tab: Tab) -> None:
    tab.page.get_by_role("heading", name=re.compile("区の相談窓口")).click()
    for _ in range(3):
        tab.page.keyboard.press("Shift")


def click_panel_exit(tab: Tab) -> None:
    tab.page.get_by_role("region", name="相談チャット").get_by_role("link", name="緊急退出").click()


def click_launcher_exit(tab: Tab) -> None:
    tab.page.get_by_role("button", name="閉じる").click()
    tab.page.get_by_role("link", name="緊急退出").click()


@pytest.mark.parametrize(
    "leave",
    [click_launcher_exit, click_panel_exit, press_shift_on_host, press_shift_in_chat],
    ids=["launcher-button", "panel-button", "shift-on-host", "shift-in-chat"],
)
def test_quick_exit_leaves_for_the_partners_page_and_leaves_nothing_behind(
    server: Server, partner_site: str, open_tab: Callable[[], Tab], leave: Callable[[Tab], Any]
) -> None:
    tab = open_tab()
    tab.page.goto(f"{partner_site}/before")  # where Back leads afterwards
    tab.page.goto(f"{partner_site}/soudan")
    exit_link = tab.page.get_by_role("link", name="緊急退出")
    # Before the chat has loaded, the loader knows only our neutral default.
    expect(exit_link).to_have_attribute("href", EXIT_URL)
    words = f"だれにも知られたくない {leave.__name__}"
    tab.start(words)
    # The chat told the loader the partner's own exit page.
    expect(exit_link).to_have_attribute("href", NEUTRAL)

    leave(tab)
    expect(tab.page).to_have_url(NEUTRAL)
    assert tab.referrers == {NEUTRAL: None}
    assert quick_exit_closed(server, words)

    # The partner's page was replaced in the tab's history: Back skips it, and the chat opened
    # on the page before starts afresh.
    tab.page.go_back()
    expect(tab.page).to_have_url(f"{partner_site}/before")
    tab.page.get_by_role("button", name="相談する").click()
    expect(tab.chat.get_by_role("button", name="相談を始める")).to_be_visible()
    expect(tab.chat.locator(".mg-log .mg-msg")).to_have_count(0)
    nothing_of_ours_is_left(tab, server, partner_site)


def test_the_partners_own_exit_url_is_used_from_the_start(
    server: Server, partner_site: str, open_tab: Callable[[], Tab]
) -> None:
    tab = open_tab()
    tab.page.goto(f"{partner_site}/soudan?exit-url=https%3A%2F%2Fneutral.example%2Fnews")
    expect(tab.page.get_by_role("link", name="緊急退出")).to_have_attribute("href", NEUTRAL)
    tab.page.keyboard.press("Shift")
    tab.page.keyboard.press("Shift")
    tab.page.keyboard.press("Shift")
    expect(tab.page).to_have_url(NEUTRAL)


def test_a_javascript_exit_url_is_ignored(
    server: Server, partner_site: str, open_tab: Callable[[], Tab]
) -> None:
    tab = open_tab()
    tab.page.goto(f"{partner_site}/soudan?exit-url=javascript%3Aalert(1)")
    expect(tab.page.get_by_role("link", name="緊急退出")).to_have_attribute("href", EXIT_URL)


def test_coming_back_to_a_page_held_in_the_cache_shows_no_conversation(
    server: Server, partner_site: str, open_tab: Callable[[], Tab]
) -> None:
    """GOV.UK resets its exit on ``pageshow``: a page restored from the back/forward cache must
    not show the chat as it was. The exit page answers 204, so the browser stays on the blanked
    page, and we replay the ``pageshow`` a restore would fire."""
    tab = open_tab()
    tab.context.route(re.compile(r"^https://neutral\.example/"), lambda r: r.fulfill(status=204))
    tab.page.goto(f"{partner_site}/soudan")
    tab.start("戻ってきたら消えていてほしい")
    press_shift_in_chat(tab)
    expect(tab.page.locator(".mg-cover")).to_be_visible()
    expect(tab.page.get_by_role("heading", name=re.compile("区の相談窓口"))).to_be_hidden()
    tab.page.evaluate(
        "window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))"
    )
    expect(tab.page.locator(".mg-cover")).to_be_hidden()
    expect(tab.page.get_by_role("heading", name=re.compile("区の相談窓口"))).to_be_visible()
    expect(tab.page.locator("iframe")).to_have_count(0)
    tab.page.get_by_role("button", name="相談する").click()
    expect(tab.chat.get_by_role("button", name="相談を始める")).to_be_visible()
    expect(tab.chat.locator(".mg-log .mg-msg")).to_have_count(0)


def test_on_our_own_demo_page_the_token_kept_in_the_tab_is_gone_after_the_exit(
    server: Server, open_tab: Callable[[], Tab]
) -> None:
    """Same-site, the frame's storage is not blocked: the token is really kept, then wiped."""
    tab = open_tab()
    tab.page.goto(f"{server.url}/demo")
    tab.start("デモのページで")
    chat = tab.page.frame(url=re.compile(r"/chat\?"))
    assert chat is not None
    assert chat.evaluate("Object.keys(sessionStorage)") == ["madoguchi.token"]
    press_shift_in_chat(tab)
    expect(tab.page).to_have_url(EXIT_URL)
    assert quick_exit_closed(server, "デモのページで")
    # The same tab back on our origin sees the same sessionStorage the chat frame had.
    tab.page.goto(f"{server.url}/healthz")
    found = tab.page.evaluate(
        """async () => [document.cookie, localStorage.length, sessionStorage.length,
                        (await indexedDB.databases()).length, (await caches.keys()).length]"""
    )
    assert found == ["", 0, 0, 0, 0]
    assert tab.context.cookies() == []
