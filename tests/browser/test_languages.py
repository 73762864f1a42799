"""The English and やさしい日本語 pages leave no Japanese name unread: desks, hours and the
24-hour lines show an English name, or the kanji with their reading over them (furigana). On
English pages, Han characters appear only in elements marked ``lang="ja"``; on やさしい日本語
pages, only inside ``<ruby>`` (and in the link to the Japanese page, which names its language
in that language)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import Server, running_seeded_server

pytestmark = pytest.mark.browser

NOW = "'2026-01-01T00:00:00.000Z'"
# Our own constants, no input: S608 does not apply.
SEED = [
    "INSERT INTO desk (key, name, name_en, name_kana, is_default, hours, phones, created_at) "  # noqa: S608
    "VALUES ('night', '夜間相談', 'Night desk', 'やかん そうだん', 0, 'closed', "
    f"'[\"03-1111-2222\"]', {NOW})",
    # No English name: English pages show the Japanese one, marked as Japanese.
    "INSERT INTO desk (key, name, is_default, hours, created_at) "  # noqa: S608
    f"VALUES ('plain', '区民相談', 0, 'closed', {NOW})",
    "INSERT INTO partner (key, name, origins, is_default, enabled, created_at) "  # noqa: S608
    f"VALUES ('gone', '終わった団体', '[]', 0, 0, {NOW})",
    "INSERT INTO campaign (code, name, desk_id, partner_id, enabled, created_at) "  # noqa: S608
    f"VALUES ('old-poster', '古いポスター', NULL, NULL, 0, {NOW})",
]
PAGES = {
    "first screen": "/chat",
    "closed desk": "/chat?desk=night",
    "a desk without an English name": "/chat?partner=gone&desk=plain",
    "unknown partner": "/chat?partner=nobody",
    "disabled partner": "/chat?partner=gone",
    "ended campaign": "/c/old-poster",
    "unknown campaign": "/c/nothing-here",
    "staying safe online": "/safety",
}

# Visible text that contains Han outside what the page may hold it in, one string a node.
HAN_OUTSIDE = """(lang) => {
  const han = /[\\u3005\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff]/
  const found = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement
    if (!han.test(node.data) || !parent || !parent.checkVisibility()) continue
    if (parent.closest('script, style')) continue
    if (lang === 'en' && parent.closest('[lang]').lang.startsWith('ja')) continue
    if (lang === 'ja-easy' && parent.closest('ruby, a[hreflang]')) continue
    found.push(node.data.trim())
  }
  return found
}"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_seeded_server(SEED, env={"MADOGUCHI_DEFAULT_DESK_HOURS": "24/7"}) as srv:
        yield srv


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    yield context.new_page()
    context.close()


def visit(page: Page, server: Server, path: str, lang: str) -> None:
    page.goto(f"{server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
    # Opened sections too: what is folded away is still text the visitor may read.
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true })")


@pytest.mark.parametrize("name", list(PAGES))
def test_english_pages_show_no_japanese_unmarked(page: Page, server: Server, name: str) -> None:
    visit(page, server, PAGES[name], "en")
    assert page.evaluate(HAN_OUTSIDE, "en") == []
    if name == "a desk without an English name":
        expect(page.locator('[lang="ja"]', has_text="区民相談")).not_to_have_count(0)


@pytest.mark.parametrize("name", [n for n in PAGES if "without an English name" not in n])
def test_easy_japanese_pages_show_kanji_only_with_their_reading(
    page: Page, server: Server, name: str
) -> None:
    visit(page, server, PAGES[name], "ja-easy")
    assert page.evaluate(HAN_OUTSIDE, "ja-easy") == []
    # The 24-hour lines' names carry their readings.
    expect(page.locator("ruby:visible", has_text="警察").locator("rt")).to_have_text("けいさつ")


def test_names_in_each_language(page: Page, server: Server) -> None:
    visit(page, server, "/chat", "en")
    expect(page.locator("body")).to_contain_text("General consultation (Gender Equality Centre)")
    expect(page.locator("body")).to_contain_text("24 hours, every day")
    visit(page, server, "/c/old-poster", "ja-easy")
    expect(page.locator("ruby", has_text="一般相談").locator("rt")).to_contain_text("いっぱん")
    expect(page.locator("body")).to_contain_text("24じかん・まいにち")
    visit(page, server, "/chat?desk=night", "ja-easy")
    expect(page.locator("body")).to_contain_text("いまは うけつけを やすんで います")
