"""XSS in Chromium: every field a visitor or staff can type, with hostile markup, on every page
that shows it. tests/test_xss_pages.py seeds the same world and reads the sources.

On each page, in every frame: ``window.__pwned`` stays undefined, no element carries an event
handler or an inline script from the payloads, and no CSP violation is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.test_xss_pages import CODE_WORD, IMG, SVG, World, hostile_world

pytestmark = pytest.mark.browser

# Runs in every frame before the page's own script: CSP violations are collected.
WATCH = """
window.__violations = []
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`)
})
"""
# Elements the payloads would make if they were parsed as markup.
PARSED = "img[onerror], svg[onload], [onload], [onerror], script:not([src])"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with hostile_world() as w:
        yield w


@pytest.fixture
def open_as(browser: Browser, world: World) -> Iterator[Callable[[str | None, str], Page]]:
    contexts = []
    errors: list[str] = []

    def open_(who: str | None, path: str) -> Page:
        context = browser.new_context(locale="ja-JP")
        contexts.append(context)
        if who:
            cookie = {"name": "mg_session", "value": world.sessions[who], "url": world.server.url}
            context.add_cookies([cookie])
        context.add_init_script(WATCH)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{world.server.url}{path}")
        return page

    try:
        yield open_
        assert not errors, errors
    finally:
        for context in contexts:
            context.close()


def assert_clean(page: Page) -> None:
    page.wait_for_load_state("load")
    for frame in page.frames:
        expect(frame.locator(PARSED)).to_have_count(0)
        assert frame.evaluate("typeof window.__pwned") == "undefined", frame.url
        assert frame.evaluate("window.__violations || []") == [], frame.url


def test_the_counselor_holding_it_sees_every_field_as_text(open_as: Callable[..., Page]) -> None:
    ren = open_as("ren", "/inbox")
    expect(ren.get_by_role("heading", name="相談の一覧")).to_be_visible()
    ren.get_by_role("button", name="開く").first.click()
    notes = ren.locator("#mg-notes")
    # The note, the supervisor's note and the transfer note, with their authors' hostile names.
    expect(notes.locator("li")).to_have_count(3)
    expect(notes).to_contain_text(IMG)
    expect(notes).to_contain_text("mori" + SVG)
    expect(ren.locator("#mg-code-word")).to_have_text(CODE_WORD)
    expect(ren.locator("#mg-summary")).to_have_value(
        IMG + SVG + '"><script>window.__pwned=1</script>'
    )
    expect(ren.locator("#mg-case")).to_contain_text(SVG)  # the topic tag's label
    assert_clean(ren)


def test_the_queue_shows_the_hostile_desk_and_campaign_as_text(
    open_as: Callable[..., Page],
) -> None:
    hana = open_as("hana", "/inbox")
    expect(hana.get_by_role("button", name="対応する")).to_have_count(1)
    expect(hana.locator("body")).to_contain_text("hana" + IMG)  # her own name at the top
    assert_clean(hana)


def test_the_supervisor_watches_from_the_board(open_as: Callable[..., Page]) -> None:
    mori = open_as("mori", "/inbox/board")
    expect(mori.get_by_role("heading", name="全体ボード")).to_be_visible()
    mori.locator(".mg-q--active").get_by_role("button", name="見守る").click()
    expect(mori.locator("#mg-notes li")).to_have_count(3)
    expect(mori.locator("#mg-notes")).to_contain_text(IMG)
    assert_clean(mori)


def test_the_closed_record_and_canned_page(open_as: Callable[..., Page], world: World) -> None:
    mori = open_as("mori", "/inbox/closed")
    expect(mori.locator("body")).to_contain_text(SVG)
    assert_clean(mori)
    form = mori.locator(f'form[action^="/inbox/closed/{world.closed}"]')
    form.get_by_role("combobox").select_option("supervision")
    form.get_by_role("button").click()
    expect(mori.locator("main")).to_contain_text(CODE_WORD)
    expect(mori.locator("main")).to_contain_text(IMG)  # survey comment, note, summary
    assert_clean(mori)
    canned = open_as("mori", "/inbox/canned")
    expect(canned.locator("main")).to_contain_text(SVG)
    assert_clean(canned)


ADMIN_PAGES = [
    "/admin/desks",
    "/admin/desks/evil",
    "/admin/partners",
    "/admin/partners/evilp",  # with the live preview in a frame
    "/admin/campaigns",
    "/admin/campaigns/evilc",
    "/admin/campaigns/evilc/poster",
    "/admin/users",
    "/admin/canned",
    "/admin/tags",
    "/admin/audit",
    "/admin/reports",
]


def test_every_admin_page_is_inert(open_as: Callable[..., Page]) -> None:
    for path in ADMIN_PAGES:
        page = open_as("aiko", path)
        expect(page.locator("main")).to_be_visible()
        assert_clean(page)
        page.context.close()


def test_the_visitors_first_screen_shows_the_desk_as_text(open_as: Callable[..., Page]) -> None:
    chat = open_as(None, "/chat?partner=evilp&desk=evil")
    expect(chat.locator("body")).to_contain_text(SVG)  # the desk's name and its phone
    expect(chat.locator('a[href^="javascript"]')).to_have_count(0)
    assert_clean(chat)
