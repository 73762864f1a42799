"""The reports page in a browser, in Japanese and in English, with every table filled (the
seeded conversations of tests/test_reports_http.py): no sideways scrolling at 390 px, no
axe-core violation of any impact at 390×844 and 1280×800, a language switch that keeps the
months, and a refused range that answers in the page's language and keeps what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import StaffContext
from tests.browser.test_staff_pages import SIZES, violations
from tests.conftest import PASSWORD
from tests.support import Server, login_sync
from tests.test_reports_english import NAMES
from tests.test_reports_http import SEED, reports_server

pytestmark = pytest.mark.browser

MONTHS = "from=2025-12&to=2026-04"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with reports_server(SEED + NAMES) as srv:
        yield srv


@pytest.fixture
def context_of(server: Server, staff_context: StaffContext) -> Any:
    session = login_sync(server, "aiko", PASSWORD)
    return lambda size: staff_context(server, session, SIZES[size])


@pytest.mark.parametrize("size", list(SIZES))
def test_the_report_fits_and_passes_axe_in_both_languages(
    server: Server, context_of: Any, size: str
) -> None:
    page = context_of(size).new_page()
    problems: list[str] = []
    for lang in ("ja", "en"):
        response = page.goto(f"{server.url}/admin/reports?{MONTHS}&lang={lang}")
        assert response is not None and response.status == 200
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("table.mg-figures").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES[size]["width"]:
            problems.append(f"{lang}: {width} px wide")
        problems += [f"{lang}: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)


# Every word of a column heading laid out on one line: a word split over two lines shows as
# one with more than one box.
SPLIT_HEADINGS = """() => [...document.querySelectorAll('.mg-figures thead th')].flatMap((th) => {
  const text = th.firstChild
  const split = []
  for (const word of text.data.matchAll(/\\S+/g)) {
    const range = document.createRange()
    range.setStart(text, word.index)
    range.setEnd(text, word.index + word[0].length)
    if (range.getClientRects().length > 1) split.push(word[0])
  }
  return split
})"""


@pytest.mark.parametrize("width", [700, 820, 960])
def test_on_a_tablet_english_headings_keep_their_words_whole(
    server: Server, staff_context: StaffContext, width: int
) -> None:
    """Too narrow for every column's longest word, a table scrolls in its own region (which
    a keyboard can reach) instead of splitting "Answered" into "Answ" and "ered"."""
    session = login_sync(server, "aiko", PASSWORD)
    page = staff_context(server, session, {"width": width, "height": 1000}).new_page()
    page.goto(f"{server.url}/admin/reports?{MONTHS}&lang=en")
    expect(page.locator("table.mg-figures").first).to_be_visible()
    assert page.evaluate(SPLIT_HEADINGS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert violations(page) == []


def test_the_language_switch_keeps_the_months(server: Server, context_of: Any) -> None:
    page = context_of("desk").new_page()
    page.goto(f"{server.url}/admin/reports?{MONTHS}")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Consultation report Dec 2025 – Apr 2026"
    )
    expect(page.get_by_label("From", exact=True)).to_have_value("2025-12")
    expect(page.get_by_label("to", exact=True)).to_have_value("2026-04")
    # Another range, asked for in English, stays English and switches back with its months.
    page.get_by_label("From", exact=True).fill("2026-01")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"from=2026-01&to=2026-04&lang=en$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Consultation report Jan 2026 – Apr 2026"
    )
    page.get_by_role("link", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("相談の報告 2026年1月〜2026年4月")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_refused_range_answers_in_english_and_keeps_what_was_typed(
    server: Server, context_of: Any, size: str
) -> None:
    page = context_of(size).new_page()
    page.goto(f"{server.url}/admin/reports?{MONTHS}&lang=en")
    page.get_by_label("From", exact=True).fill("2026-04")
    page.get_by_label("to", exact=True).fill("2026-03")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The first month (2026-04) is after the last month (2026-03)."
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for label, typed in (("From", "2026-04"), ("to", "2026-03")):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_value(typed)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(
            "The first month (2026-04) is after the last month (2026-03)."
        )
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert violations(page) == []
