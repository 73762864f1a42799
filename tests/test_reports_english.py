"""The reports page and its CSV for people in English (``?lang=en``), against the seeded server
of tests/test_reports_http.py (the same conversations), where the general desk has an English
name, the legal desk none, and conversation F carries a topic tag with no English label.

On an English page nothing is Japanese but names admins typed without an English version, each
marked ``lang="ja"``; links, the range form and the CSV links keep the language; the machine
CSV stays byte for byte what it is in Japanese.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator

import pytest
from jinja2 import Environment

from service.domain.reports import CSV_COLUMNS
from service.http.report_names import Name
from service.report_i18n import CSV_COLUMNS_TEXT, REPORT_TEXT
from tests.conftest import PASSWORD
from tests.support import Server, login_sync
from tests.test_admin_languages import JAPANESE, visible_text
from tests.test_reports_http import HEADER, RANGE, SEED, cells, exports, get, reports_server

NAMES = [
    "UPDATE desk SET name_en = 'General consultation' WHERE key = 'general'",
    "UPDATE desk SET name_en = '' WHERE key = 'legal'",
    "INSERT INTO topic_tag (key, label_ja, label_en, created_at) "
    "VALUES ('neighbours', '近所のこと', '', '2026-01-01T00:00:00.000Z')",
    "INSERT INTO conversation_tag (conversation_id, tag_id) "
    "SELECT 'f', id FROM topic_tag WHERE key = 'neighbours'",
]
# What admins typed in Japanese only: the one Japanese an English report may show, marked.
TYPED_JAPANESE = ("法律相談", "区立図書館", "春のポスター", "近所のこと")
ENGLISH = {**RANGE, "lang": "en"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with reports_server(SEED + NAMES) as srv:
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in ("mori", "kiri")}


def test_both_languages_have_every_word() -> None:
    assert REPORT_TEXT["ja"].keys() == REPORT_TEXT["en"].keys()
    for key, text in REPORT_TEXT["en"].items():
        assert not JAPANESE.search(text), key
    assert len(CSV_COLUMNS_TEXT["ja"]) == len(CSV_COLUMNS_TEXT["en"]) == len(CSV_COLUMNS)
    assert not any(JAPANESE.search(column) for column in CSV_COLUMNS_TEXT["en"])


def test_a_typed_name_is_escaped_whether_marked_or_not() -> None:
    page = Environment(autoescape=True).from_string("{{ a }}|{{ b }}")
    shown = page.render(a=Name("Partner: ", '<img src=x onerror="1">&', "ja"), b=Name("<b>"))
    assert shown == (
        'Partner: <span lang="ja">&lt;img src=x onerror=&#34;1&#34;&gt;&amp;</span>|&lt;b&gt;'
    )
    assert str(Name("Partner: ", "<b>", "ja")) == "Partner: <b>"  # the CSV's plain text


@pytest.mark.parametrize("who", ["mori", "kiri"])
def test_the_english_page_has_no_japanese_but_marked_names(
    server: Server, sessions: dict[str, str], who: str
) -> None:
    page = get(server, sessions[who], "/admin/reports", **ENGLISH)
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    text = visible_text(page.text)
    assert not JAPANESE.findall(text), sorted(set(JAPANESE.findall(text)))
    # The Japanese left is the names typed in Japanese only, each marked as Japanese.
    for name in TYPED_JAPANESE:
        assert page.text.count(name) == page.text.count(f'<span lang="ja">{name}</span>'), name
    # The chart's title and description (left out of the visible text) are English too.
    svg = re.search(r"<svg class=\"mg-svg\".*?</svg>", page.text, re.S)
    assert svg and not JAPANESE.search(svg.group(0))


def test_the_english_page_shows_the_figures_in_english(
    server: Server, sessions: dict[str, str]
) -> None:
    page = html.unescape(get(server, sessions["mori"], "/admin/reports", **ENGLISH).text)
    assert '<span class="mg-period">Dec 2025 – Apr 2026</span>' in page
    assert "Desks: every desk / all months in Japan time / target: 2 a month / made " in page
    assert cells(page, "Dec 2025") == ["0", "2", "Not reached", "2"]
    assert cells(page, "Jan 2026") == ["2", "2", "✓ Reached", ""]
    assert "Of 5 months, <strong>2</strong> reached the target (2 a month)." in page
    assert "The total for the period: <strong>7</strong>." in page
    assert cells(page, "Total")[2] == "2 months"
    # The chart: English months, the year under January (not under the first month, December,
    # whose label would meet January's), and the target.
    labels = re.findall(r'<text class="mg-bar-label"[^>]*>([^<]+)</text>', page)
    assert labels == ["Dec", "Jan", "2026", "Feb", "Mar", "Apr"]
    assert ">Target 2</text>" in page
    # Names: an English desk name when there is one, else the Japanese name marked.
    assert '<th scope="row">General consultation</th>' in page
    assert '<th scope="row"><span lang="ja">法律相談</span></th>' in page
    assert '<th scope="row">Partner: <span lang="ja">区立図書館</span></th>' in page
    assert '<th scope="row">Campaign: <span lang="ja">春のポスター</span></th>' in page
    assert '<th scope="row">Direct / ward website</th>' in page
    assert '<th scope="row">Domestic violence</th>' in page
    assert '<th scope="row"><span lang="ja">近所のこと</span></th>' in page
    assert '<th scope="row">Untagged</th>' in page
    assert '<th scope="row">English</th>' in page
    assert '<th scope="row">Referred to phone counseling</th>' in page
    assert '<th scope="row">Active or waiting</th>' in page
    # Days, hours and times in English.
    tuesday = cells(page, "Tue")
    assert tuesday[12] == "2" and tuesday[23] == "1" and tuesday[24] == "3"
    assert '<th scope="col">12:00</th>' in page
    assert "<dd>2 min 30 s</dd>" in page and "<dd>10 min 00 s</dd>" in page
    assert "<dd>1 (14%)</dd>" in page
    assert "<dd>3 (75% of 4 closed consultations)</dd>" in page
    assert "<dd>50% (yes 1, no 1)</dd>" in page


def test_a_supervisor_of_some_desks_sees_them_named(
    server: Server, sessions: dict[str, str]
) -> None:
    page = get(server, sessions["kiri"], "/admin/reports", **ENGLISH).text
    assert 'Desks: <span lang="ja">法律相談</span> / ' in page


def test_links_the_form_and_the_switch_keep_the_language_and_the_months(
    server: Server, sessions: dict[str, str]
) -> None:
    english = get(server, sessions["mori"], "/admin/reports", **ENGLISH).text
    back = '<a href="/admin/reports?from=2025-12&amp;to=2026-04&amp;lang=ja" lang="ja"'
    assert back in english
    assert '<input type="hidden" name="lang" value="en">' in english
    assert 'href="/admin/reports.csv?from=2025-12&amp;to=2026-04&amp;lang=en"' in english
    excel = 'href="/admin/reports.csv?from=2025-12&amp;to=2026-04&amp;format=excel&amp;lang=en"'
    assert excel in english
    for href in re.findall(r'href="(/(?:admin|inbox)[^"#]*)"', english):
        if "lang=ja" not in href:
            assert "lang=en" in href, href
    japanese = get(server, sessions["mori"], "/admin/reports", **RANGE).text
    there = '<a href="/admin/reports?from=2025-12&amp;to=2026-04&amp;lang=en" lang="en"'
    assert there in japanese
    assert 'name="lang"' not in japanese
    assert "lang=en" not in japanese.replace(there, "")


def test_the_machine_csv_is_the_same_in_either_language(
    server: Server, sessions: dict[str, str]
) -> None:
    japanese = get(server, sessions["mori"], "/admin/reports.csv", **RANGE)
    english = get(server, sessions["mori"], "/admin/reports.csv", **ENGLISH)
    assert english.status_code == 200
    assert english.content == japanese.content
    assert english.content.startswith(HEADER.encode() + b"\r\n")
    assert english.headers["content-disposition"] == (
        'attachment; filename="madoguchi-2025-12-2026-04.csv"'
    )


def test_the_csv_for_people_in_english(server: Server, sessions: dict[str, str]) -> None:
    before = len(exports(server))
    response = get(server, sessions["mori"], "/admin/reports.csv", **ENGLISH, format="excel")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="madoguchi-2025-12-2026-04-en.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    people = list(csv.reader(io.StringIO(text)))
    assert people[0] == list(CSV_COLUMNS_TEXT["en"])
    machine = list(
        csv.reader(io.StringIO(get(server, sessions["mori"], "/admin/reports.csv", **RANGE).text))
    )
    assert [row[3:] for row in people[1:]] == [row[3:] for row in machine[1:]]
    named = {tuple(row[:3]) for row in people[1:]}
    assert ("Dec 2025", "Total", "Total") in named
    assert ("Jan 2026", "Desk", "General consultation") in named
    assert ("Feb 2026", "Desk", "法律相談") in named
    assert ("Jan 2026", "Source", "Partner: 区立図書館") in named
    assert ("Feb 2026", "Source", "Campaign: 春のポスター") in named
    assert ("Jan 2026", "Language", "English") in named
    assert ("Feb 2026", "Topic", "Untagged") in named
    assert ("Mar 2026", "Topic", "近所のこと") in named
    assert ("Feb 2026", "Outcome", "Active or waiting") in named
    words = text
    for name in TYPED_JAPANESE:
        words = words.replace(name, "")
    assert not JAPANESE.search(words), sorted(set(JAPANESE.findall(words)))
    logged = exports(server)[before:]
    assert [(actor, target, json.loads(detail)) for actor, target, detail in logged] == [
        ("mori", "report:2025-12..2026-04", {"from": "2025-12", "to": "2026-04", "desks": "all"}),
        ("mori", "report:2025-12..2026-04", {"from": "2025-12", "to": "2026-04", "desks": "all"}),
    ]
