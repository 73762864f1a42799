"""Where a chat cannot open, the visitor still finds help: an unknown or disabled partner, an
ended or unknown campaign (an old poster still on a wall) and a desk closed for a holiday each
show, on a phone and in every language, the quick exit (which leaves without a history entry or
a referrer), the desk's hours, its phones and the 24-hour lines as ``tel:`` links, and a
language switch. A disabled partner's own site still frames the page in the loader's panel."""

from __future__ import annotations

import html
import http.server
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, ViewportSize, expect

from service.domain.hours import TOKYO, hours_text, parse_hours
from tests.support import Server, free_port, running_seeded_server

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
EXIT_URL = "https://weather.yahoo.co.jp/weather/"
PARTNER_EXIT = "https://neutral.example/news"
DESK_PHONE = "03-1234-5678"
LANGS = ["ja", "en", "ja-easy"]
TODAY = datetime.now(TOKYO).date()
# A desk open around the clock but closed for a few days around today (a holiday closure).
HOLIDAY_HOURS = "mon-sun 00:00-24:00"
HOLIDAY_CLOSURE = f"{TODAY - timedelta(days=1)}..{TODAY + timedelta(days=2)}"
EMERGENCY_TELS = ["tel:110", "tel:0120279889", "tel:%238008", "tel:%238891", "tel:0120279338"]


class PartnerSite(http.server.BaseHTTPRequestHandler):
    """Another origin on this machine; ``/page?partner=KEY`` embeds the widget for KEY."""

    service = ""

    def do_GET(self) -> None:
        key = self.path.partition("partner=")[2]
        body = (
            '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            '<link rel="icon" href="data:,"><title>団体のページ</title></head>'
            "<body><h1>団体のページ</h1>"
            f'<script src="{self.service}/widget.js" data-partner="{html.escape(key)}" async>'
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
    """A disabled partner ``gone`` on the partner site, an ended campaign, and a desk
    ``holiday`` closed for a few days around today."""
    now = "'2026-01-01T00:00:00.000Z'"
    # Our own constants and a local port, no input: S608 does not apply.
    statements = [
        "INSERT INTO desk (key, name, is_default, hours, closures, phones, created_at) "  # noqa: S608
        f"VALUES ('holiday', '夜間相談', 0, '{HOLIDAY_HOURS}', '{HOLIDAY_CLOSURE}', "
        f"'[\"{DESK_PHONE}\"]', {now})",
        "INSERT INTO partner (key, name, origins, is_default, enabled, exit_url, created_at) "  # noqa: S608
        f"VALUES ('gone', '終わった団体', '[\"{partner_site}\"]', 0, 0, '{PARTNER_EXIT}', {now})",
        "INSERT INTO campaign (code, name, desk_id, partner_id, enabled, created_at) "  # noqa: S608
        f"VALUES ('old-poster', '古いポスター', NULL, NULL, 0, {now})",
        f"UPDATE desk SET phones = '[\"{DESK_PHONE}\"]' WHERE key = 'general'",  # noqa: S608
    ]
    with running_seeded_server(statements, env={"MADOGUCHI_DEFAULT_DESK_HOURS": "24/7"}) as srv:
        PartnerSite.service = srv.url
        yield srv


@dataclass
class Tab:
    page: Page
    exit_referrers: list[str | None] = field(default_factory=list)


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Callable[[], Tab]]:
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_() -> Tab:
        context = browser.new_context(viewport=PHONE, locale="ja-JP")
        contexts.append(context)
        # A dead end answers 404 on purpose; any other console error fails the test.
        context.on(
            "console",
            lambda m: m.type == "error" and "404" not in m.text and errors.append(m.text),
        )
        context.on("weberror", lambda error: errors.append(str(error.error)))
        tab = Tab(context.new_page())

        def neutral(route: Route) -> None:
            tab.exit_referrers.append(route.request.headers.get("referer"))
            route.fulfill(content_type="text/html", body="<title>天気</title><p>晴れ</p>")

        context.route(re.compile(r"^https://(weather\.yahoo\.co\.jp|neutral\.example)/"), neutral)
        return tab

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


DEAD_ENDS = {
    "unknown partner": ("/chat?partner=nobody", "general", EXIT_URL),
    "disabled partner": ("/chat?partner=gone", "general", PARTNER_EXIT),
    "ended campaign": ("/c/old-poster", "general", EXIT_URL),
    "unknown campaign": ("/c/no-such-poster", "general", EXIT_URL),
    "closed desk": ("/chat?desk=holiday", "holiday", EXIT_URL),
}
HEADINGS = {
    "ja": {
        "partner": "このページのチャットは",
        "campaign": "受付は終了しました",
        "closed": "時間外",
    },
    "en": {"partner": "not available", "campaign": "has ended", "closed": "closed now"},
    "ja-easy": {
        "partner": "つかえません",
        "campaign": "おわりました",
        "closed": "うけつけ じかんでは ありません",
    },
}
EXIT_NAMES = {"ja": "緊急退出", "en": "Exit", "ja-easy": "すぐに けす"}


def expected_hours(desk: str, lang: str) -> str:
    if desk == "general":
        return hours_text(parse_hours("24/7", "12/29-01/03"), lang)
    return hours_text(parse_hours(HOLIDAY_HOURS, HOLIDAY_CLOSURE), lang)


def url_in(path: str, lang: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("dead_end", list(DEAD_ENDS))
def test_a_dead_end_still_helps_and_its_quick_exit_leaves_no_trace(
    server: Server, open_tab: Callable[[], Tab], dead_end: str, lang: str
) -> None:
    path, desk, exit_url = DEAD_ENDS[dead_end]
    tab = open_tab()
    page = tab.page
    page.goto(server.url + url_in(path, lang))

    kind = "closed" if desk == "holiday" else ("campaign" if "campaign" in dead_end else "partner")
    expect(page.locator("body")).to_contain_text(HEADINGS[lang][kind])
    # The desk's hours, its phone and every 24-hour line, each a tel: link.
    expect(page.locator("body")).to_contain_text(expected_hours(desk, lang))
    expect(page.locator(f'a[href="tel:{DESK_PHONE.replace("-", "")}"]:visible')).to_be_visible()
    for tel in EMERGENCY_TELS:
        expect(page.locator(f'a[href="{tel}"]:visible').first).to_be_visible()
    # The two other languages, each a link to this same page in that language.
    others = page.locator("nav.mg-langs a[hreflang]")
    expect(others).to_have_count(2)
    hrefs = others.evaluate_all("links => links.map((a) => a.href)")
    assert sorted(re.findall(r"lang=([a-z-]+)", " ".join(hrefs))) == sorted(set(LANGS) - {lang})

    exit_link = page.get_by_role("link", name=EXIT_NAMES[lang], exact=True)
    expect(exit_link).to_be_visible()
    box = exit_link.bounding_box()
    assert box is not None and box["y"] < PHONE["height"] / 4  # at the top, without scrolling
    exit_link.click()
    expect(page).to_have_url(exit_url)
    assert tab.exit_referrers == [None]
    # The dead end was replaced, not left in the tab's history: Back skips it.
    page.go_back()
    assert page.url == "about:blank"


@pytest.mark.parametrize("lang", LANGS)
def test_shift_three_times_leaves_a_dead_end(
    server: Server, open_tab: Callable[[], Tab], lang: str
) -> None:
    tab = open_tab()
    tab.page.goto(server.url + url_in("/c/old-poster", lang))
    tab.page.get_by_role("heading", level=1).click()
    for _ in range(3):
        tab.page.keyboard.press("Shift")
    expect(tab.page).to_have_url(EXIT_URL)
    tab.page.go_back()
    assert tab.page.url == "about:blank"


def test_an_ended_campaign_leads_to_the_wards_chat(
    server: Server, open_tab: Callable[[], Tab]
) -> None:
    page = open_tab().page
    page.goto(f"{server.url}/c/old-poster?lang=en")
    page.get_by_role("link", name="Open the consultation chat").click()
    expect(page).to_have_url(re.compile(r"/chat\?partner=ward&desk=general&lang=en$"))
    expect(page.get_by_role("button", name="Start")).to_be_visible()


def test_a_disabled_partners_site_shows_the_dead_end_in_the_panel_and_exits(
    server: Server, open_tab: Callable[[], Tab], partner_site: str
) -> None:
    tab = open_tab()
    page = tab.page
    # Chromium refuses a public page's script from a loopback address (Private Network
    # Access); fetching it through the test keeps it the server's real file.
    page.context.route(
        f"{server.url}/widget.js", lambda route: route.fulfill(response=route.fetch())
    )
    page.goto(f"{partner_site}/page?partner=gone")
    page.get_by_role("button", name="相談する").click()
    chat = page.frame_locator("iframe")
    expect(chat.get_by_role("heading", level=1)).to_contain_text("このページのチャットは")
    expect(chat.locator('a[href="tel:110"]')).to_be_visible()
    # Inside the panel the page's own exit bar gives way to the panel's.
    expect(chat.locator(".mg-js-top")).to_have_count(0)
    chat.get_by_role("heading", level=1).click()
    for _ in range(3):
        page.keyboard.press("Shift")
    # The frame asks the loader to leave; the whole tab goes to the partner's neutral page.
    expect(page).to_have_url(PARTNER_EXIT)
    assert tab.exit_referrers == [None]
    page.go_back()
    assert page.url == "about:blank"
