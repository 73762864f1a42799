"""The reports page and CSV export against a real server seeded with known conversations.

Seeded (UTC as stored, Tokyo time in the comments), reported for 2025-12 to 2026-04:

- H 2025-11-30 23:59:59 JST: November, outside the range.
- A 2026-01-05 10:00 Mon: general, the ward's own page (direct), ja; first reply after 180 s,
  31 min with the counselor, resolved; tags family + work; survey 5, helpful.
- B 2026-01-31 23:59:59 Sat: general, partner library, en; reply after 120 s, 30 min, closed
  after midnight on 1 February (still January's); referred by phone; tag DV; survey 3, not helpful.
- C 2026-02-01 00:00 Sun (2026-01-31T15:00Z): legal, campaign spring; left by quick exit while
  waiting.
- D 2026-02-10 12:00 Tue: general, library; reply after 600 s, an hour, referred to an agency;
  tag work; survey 4, helpfulness not answered.
- E 2026-02-10 12:30 Tue: general, direct; reply after 90 s, still open; tag family.
- F 2026-03-31 23:00 Tue: general, no partner (direct), still waiting.
- G 2026-04-01 00:00 Wed (2026-03-31T15:00Z): legal, waiting: April, not March.
- December 2025 has none.

Every text a person wrote carries the marker ``zq7``; no report may show one.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import Server, login_sync, running_seeded_server

MARKER = "zq7"
SEED = [
    # `madoguchi migrate` made the desk general (1) and the partners ward (1) and demo (2).
    "UPDATE desk SET name = '一般相談', hours = '24/7' WHERE key = 'general'",
    "INSERT INTO desk (id, key, name, is_default, hours, closures, created_at) "
    "VALUES (2, 'legal', '法律相談', 0, '24/7', '', '2026-01-01T00:00:00.000Z')",
    "INSERT INTO partner (id, key, name, origins, is_default, enabled, created_at) VALUES "
    "(3, 'library', '区立図書館', '[\"https://library.example.jp\"]', 0, 1, "
    "'2026-01-01T00:00:00.000Z')",
    "INSERT INTO campaign (code, name, created_at) "
    "VALUES ('spring', '春のポスター', '2026-01-01T00:00:00.000Z')",
    "INSERT INTO conversation (id, token_hash, desk_id, partner_id, campaign, lang, status, "
    "outcome, closed_by, quick_exit, created_at, claimed_at, closed_at, code_word, summary) VALUES "
    "('h', 'th', 1, 1, NULL, 'ja', 'closed', 'resolved', 'counselor', 0, "
    " '2025-11-30T14:59:59.000Z', '2025-11-30T15:00:00.000Z', '2025-11-30T15:20:00.000Z',"
    " NULL, NULL),"
    "('a', 'ta', 1, 1, NULL, 'ja', 'closed', 'resolved', 'counselor', 0, "
    " '2026-01-05T01:00:00.000Z', '2026-01-05T01:02:00.000Z', '2026-01-05T01:33:00.000Z',"
    " 'zq7-codeword-a', 'zq7-summary-a'),"
    "('b', 'tb', 1, 3, NULL, 'en', 'closed', 'referred_phone', 'counselor', 0, "
    " '2026-01-31T14:59:59.000Z', '2026-01-31T15:00:59.000Z', '2026-01-31T15:30:59.000Z',"
    " NULL, 'zq7-summary-b'),"
    "('c', 'tc', 2, 1, 'spring', 'ja', 'closed', 'visitor_left', 'visitor', 1, "
    " '2026-01-31T15:00:00.000Z', NULL, '2026-01-31T15:10:00.000Z', 'zq7-codeword-c', NULL),"
    "('d', 'td', 1, 3, NULL, 'ja', 'closed', 'referred_agency', 'counselor', 0, "
    " '2026-02-10T03:00:00.000Z', '2026-02-10T03:01:00.000Z', '2026-02-10T04:01:00.000Z',"
    " NULL, NULL),"
    "('e', 'te', 1, 1, NULL, 'ja', 'active', NULL, NULL, 0, "
    " '2026-02-10T03:30:00.000Z', '2026-02-10T03:31:00.000Z', NULL, NULL, NULL),"
    "('f', 'tf', 1, NULL, NULL, 'ja', 'waiting', NULL, NULL, 0, "
    " '2026-03-31T14:00:00.000Z', NULL, NULL, NULL, NULL),"
    "('g', 'tg', 2, 1, NULL, 'ja', 'waiting', NULL, NULL, 0, "
    " '2026-03-31T15:00:00.000Z', NULL, NULL, NULL, NULL)",
    "INSERT INTO message (conversation_id, seq, author, client_id, body, created_at) VALUES "
    "('a', 1, 'visitor', 'c1', 'zq7-body-a1', '2026-01-05T01:00:30.000Z'),"
    "('a', 2, 'system', NULL, 'counselor_joined', '2026-01-05T01:02:00.000Z'),"
    "('a', 3, 'counselor', 'k1', 'zq7-body-a3', '2026-01-05T01:03:00.000Z'),"
    "('a', 4, 'counselor', 'k2', 'zq7-body-a4', '2026-01-05T01:04:00.000Z'),"
    "('b', 1, 'visitor', 'c1', 'zq7-body-b1', '2026-01-31T14:59:59.500Z'),"
    "('b', 2, 'counselor', 'k1', 'zq7-body-b2', '2026-01-31T15:01:59.000Z'),"
    "('c', 1, 'visitor', 'c1', 'zq7-body-c1', '2026-01-31T15:00:10.000Z'),"
    "('d', 1, 'counselor', 'k1', 'zq7-body-d1', '2026-02-10T03:10:00.000Z'),"
    "('e', 1, 'counselor', 'k1', 'zq7-body-e1', '2026-02-10T03:31:30.000Z'),"
    "('f', 1, 'visitor', 'c1', 'zq7-body-f1', '2026-03-31T14:00:05.000Z')",
    "INSERT INTO conversation_tag (conversation_id, tag_id) "
    "SELECT c, id FROM (SELECT 'a' AS c, 'family' AS k UNION ALL SELECT 'a', 'work' "
    "UNION ALL SELECT 'b', 'domestic_violence' UNION ALL SELECT 'd', 'work' "
    "UNION ALL SELECT 'e', 'family') AS t JOIN topic_tag ON topic_tag.key = k",
    "INSERT INTO note (conversation_id, user_id, kind, body, created_at) VALUES "
    "('a', 1, 'note', 'zq7-note-a', '2026-01-05T01:05:00.000Z'),"
    "('e', 1, 'supervisor', 'zq7-note-e', '2026-02-10T03:40:00.000Z')",
    "INSERT INTO survey (conversation_id, rating, helpful, comment, created_at) VALUES "
    "('a', 5, 1, 'zq7-comment-a', '2026-01-05T01:34:00.000Z'),"
    "('b', 3, 0, 'zq7-comment-b', '2026-01-31T15:31:00.000Z'),"
    "('d', 4, NULL, 'zq7-comment-d', '2026-02-10T04:02:00.000Z')",
]

HEADER = (
    "month,dimension,key,consultations,answered,first_reply_median_s,first_reply_p90_s,"
    "left_waiting,quick_exits,closed,duration_median_s,referred,survey_responses,"
    "rating_1,rating_2,rating_3,rating_4,rating_5,helpful_yes,helpful_no"
)
# The figures after month, dimension and key, per conversation and per group of them.
A = "1,1,180,180,0,0,1,1860,0,1,0,0,0,0,1,1,0"
B = "1,1,120,120,0,0,1,1800,1,1,0,0,1,0,0,0,1"
C = "1,0,,,1,1,1,,0,0,0,0,0,0,0,0,0"
D = "1,1,600,600,0,0,1,3600,1,1,0,0,0,1,0,0,0"
E = "1,1,90,90,0,0,0,,0,0,0,0,0,0,0,0,0"
WAITING = "1,0,,,0,0,0,,0,0,0,0,0,0,0,0,0"  # F and G
JANUARY = "2,2,150,180,0,0,2,1830,1,2,0,0,1,0,1,1,1"
FEBRUARY = "3,2,345,600,1,1,2,3600,1,1,0,0,0,1,0,0,0"
FEBRUARY_GENERAL = "2,2,345,600,0,0,1,3600,1,1,0,0,0,1,0,0,0"
EXPECTED = f"""{HEADER}
2025-12,total,all,0,0,,,0,0,0,,0,0,0,0,0,0,0,0,0
2026-01,total,all,{JANUARY}
2026-01,desk,general,{JANUARY}
2026-01,source,direct,{A}
2026-01,source,partner:library,{B}
2026-01,topic,domestic_violence,{B}
2026-01,topic,family,{A}
2026-01,topic,work,{A}
2026-01,language,en,{B}
2026-01,language,ja,{A}
2026-01,outcome,resolved,{A}
2026-01,outcome,referred_phone,{B}
2026-02,total,all,{FEBRUARY}
2026-02,desk,general,{FEBRUARY_GENERAL}
2026-02,desk,legal,{C}
2026-02,source,direct,{E}
2026-02,source,partner:library,{D}
2026-02,source,campaign:spring,{C}
2026-02,topic,family,{E}
2026-02,topic,work,{D}
2026-02,topic,untagged,{C}
2026-02,language,ja,{FEBRUARY}
2026-02,outcome,referred_agency,{D}
2026-02,outcome,visitor_left,{C}
2026-02,outcome,open,{E}
2026-03,total,all,{WAITING}
2026-03,desk,general,{WAITING}
2026-03,source,direct,{WAITING}
2026-03,topic,untagged,{WAITING}
2026-03,language,ja,{WAITING}
2026-03,outcome,open,{WAITING}
2026-04,total,all,{WAITING}
2026-04,desk,legal,{WAITING}
2026-04,source,direct,{WAITING}
2026-04,topic,untagged,{WAITING}
2026-04,language,ja,{WAITING}
2026-04,outcome,open,{WAITING}
"""
RANGE = {"from": "2025-12", "to": "2026-04"}
PEOPLE = {
    "hana": ("counselor", None),
    "mori": ("supervisor", None),
    "kiri": ("supervisor", ["legal"]),
    "aiko": ("admin", None),
}


@contextlib.contextmanager
def reports_server(seed: str = SEED) -> Iterator[Server]:
    """A server over the seeded conversations, with PEOPLE's accounts. A target of 2 a month
    shows the setting at work; the seeded open chats must stay open, and the seeded texts
    (closed months ago) must outlive the retention purge at start."""
    env = {
        "MADOGUCHI_REPORT_MONTHLY_TARGET": "2",
        "MADOGUCHI_VISITOR_GONE_MINUTES": "0",
        "MADOGUCHI_RETENTION_DAYS": "36500",
    }
    with running_seeded_server(seed, env) as srv:
        for name, (role, desks) in PEOPLE.items():
            srv.add_user(name, PASSWORD, role=role, desks=desks)
        yield srv


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with reports_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in PEOPLE}


def get(server: Server, session: str | None, path: str, **params: str) -> httpx.Response:
    cookies = {"mg_session": session} if session else {}
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        return http.get(path, params=params)


def exports(server: Server) -> list[tuple[str, str, str]]:
    return server.query(
        "SELECT actor, target, detail FROM audit_log WHERE action = 'report.export' ORDER BY id"
    )


# -- the figures --------------------------------------------------------------------------------


def test_the_csv_has_every_figure_of_the_seeded_months_exactly(
    server: Server, sessions: dict[str, str]
) -> None:
    response = get(server, sessions["mori"], "/admin/reports.csv", **RANGE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="madoguchi-2025-12-2026-04.csv"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.content.decode("utf-8") == EXPECTED.replace("\n", "\r\n")


def test_the_csv_columns_are_stable(server: Server, sessions: dict[str, str]) -> None:
    response = get(
        server, sessions["aiko"], "/admin/reports.csv", **{"from": "2030-01", "to": "2030-02"}
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert ",".join(rows[0]) == HEADER
    assert rows[1:] == [
        ["2030-01", "total", "all", "0", "0", "", "", "0", "0", "0", "", *["0"] * 9],
        ["2030-02", "total", "all", "0", "0", "", "", "0", "0", "0", "", *["0"] * 9],
    ]
    assert all(len(row) == len(rows[0]) for row in rows)


def test_a_month_ends_at_midnight_in_tokyo(server: Server, sessions: dict[str, str]) -> None:
    march = get(
        server, sessions["mori"], "/admin/reports.csv", **{"from": "2026-03", "to": "2026-03"}
    )
    january = get(
        server, sessions["mori"], "/admin/reports.csv", **{"from": "2026-01", "to": "2026-01"}
    )
    # G started at 2026-03-31T15:00Z, which is April in Tokyo; C at 2026-01-31T15:00Z, February.
    assert march.text.splitlines()[1] == f"2026-03,total,all,{WAITING}"
    assert january.text.splitlines()[1] == f"2026-01,total,all,{JANUARY}"


def test_a_supervisor_of_some_desks_gets_the_figures_of_those_desks(
    server: Server, sessions: dict[str, str]
) -> None:
    response = get(server, sessions["kiri"], "/admin/reports.csv", **RANGE)
    lines = response.text.splitlines()
    assert [line for line in lines if ",total," in line] == [
        "2025-12,total,all,0,0,,,0,0,0,,0,0,0,0,0,0,0,0,0",
        "2026-01,total,all,0,0,,,0,0,0,,0,0,0,0,0,0,0,0,0",
        f"2026-02,total,all,{C}",
        "2026-03,total,all,0,0,,,0,0,0,,0,0,0,0,0,0,0,0,0",
        f"2026-04,total,all,{WAITING}",
    ]
    assert {line.split(",")[2] for line in lines if ",desk," in line} == {"legal"}
    page = get(server, sessions["kiri"], "/admin/reports", **RANGE)
    assert "対象：法律相談" in page.text


def cells(html: str, row: str) -> list[str]:
    """The cells after the row header ``row`` of the first table row that has it."""
    match = re.search(rf'<th scope="row">{re.escape(row)}</th>(.*?)</tr>', html, re.DOTALL)
    assert match, row
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.DOTALL)
    ]


def test_the_page_shows_the_same_figures_against_the_target(
    server: Server, sessions: dict[str, str]
) -> None:
    page = get(server, sessions["mori"], "/admin/reports", **RANGE)
    assert page.status_code == 200
    html = page.text
    # Month, count, target, met, short: the target is 2 in this module's settings.
    assert cells(html, "2025年12月") == ["0", "2", "未達", "2"]
    assert cells(html, "2026年1月") == ["2", "2", "✓ 達成", ""]
    assert cells(html, "2026年2月") == ["3", "2", "✓ 達成", ""]
    assert cells(html, "2026年3月") == ["1", "2", "未達", "1"]
    assert "目標（月2件）に届いた月は <strong>2か月</strong>" in html
    assert "期間の合計は <strong>7件</strong>" in html
    # The chart: one bar per month, hatched (with the pattern) when below the target.
    assert html.count('class="mg-bar mg-bar-met"') == 2 + 1  # two months and the legend
    assert html.count('class="mg-bar mg-bar-below"') == 3 + 1
    assert "目標 2件" in html
    # Tuesday in Tokyo: D and E at 12 o'clock, F at 23 o'clock.
    tuesday = cells(html, "火")
    assert tuesday[12] == "2" and tuesday[23] == "1" and tuesday[24] == "3"
    assert cells(html, "水")[0] == "1"  # G: Wednesday 1 April, midnight
    # Service quality over the range: replies after 90, 120, 180 and 600 seconds.
    assert "<dd>2分30秒</dd>" in html and "<dd>10分00秒</dd>" in html
    assert "<dd>31分00秒</dd>" in html  # the median of 30, 31 and 60 minutes
    assert "<dd>1件（14%）</dd>" in html  # left while waiting: C, of 7
    # The survey: 3 answers to 4 closed chats; helpful 1 of the 2 who said.
    assert "3件（終了した相談 4件のうち 75%）" in html
    assert "50%（はい 1件・いいえ 1件）" in html
    # Sources and languages by name; the keys are for the CSV only.
    assert '<th scope="row">連携団体：区立図書館</th>' in html
    assert '<th scope="row">周知キャンペーン：春のポスター</th>' in html
    assert '<th scope="row">直接・区ホームページ</th>' in html
    assert "partner:library" not in html and "<code>" not in html
    assert "2025年12月〜2026年4月" in html


def test_the_page_is_printable_without_script_or_inline_style(
    server: Server, sessions: dict[str, str]
) -> None:
    html = get(server, sessions["mori"], "/admin/reports", **RANGE).text
    assert "<script" not in html and "style=" not in html
    stylesheet = re.search(
        r'<link rel="stylesheet" href="(/static/reports\.[0-9a-f]{8}\.css)">', html
    )
    assert stylesheet
    assert "<svg" in html and "<table" in html
    with httpx.Client(base_url=server.url) as http:
        css = http.get(stylesheet.group(1))
    assert css.status_code == 200 and "@media print" in css.text


def test_without_a_range_the_page_shows_the_fiscal_year_so_far(
    server: Server, sessions: dict[str, str]
) -> None:
    page = get(server, sessions["aiko"], "/admin/reports")
    assert page.status_code == 200
    assert re.search(r'name="from" value="20\d\d-04"', page.text)


def test_no_text_anybody_wrote_reaches_a_report(server: Server, sessions: dict[str, str]) -> None:
    bodies = [body for (body,) in server.query("SELECT body FROM message")]  # opened
    assert sum(body.startswith(MARKER) for body in bodies) == 9
    for who in ("mori", "aiko", "kiri"):
        page = get(server, sessions[who], "/admin/reports", **RANGE)
        export = get(server, sessions[who], "/admin/reports.csv", **RANGE)
        assert page.status_code == export.status_code == 200
        assert MARKER not in page.text and MARKER not in export.text


# -- who may, and what is recorded ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/reports", "/admin/reports.csv"])
def test_roles_decide_who_gets_the_reports(
    server: Server, sessions: dict[str, str], path: str
) -> None:
    before = len(exports(server))
    with httpx.Client(base_url=server.url) as http:
        stranger = http.get(path, params=RANGE)
    assert stranger.status_code == 303 and stranger.headers["location"] == "/inbox/login"
    counselor = get(server, sessions["hana"], path, **RANGE)
    assert counselor.status_code == 403 and MARKER not in counselor.text
    assert len(exports(server)) == before
    for who in ("mori", "kiri", "aiko"):
        assert get(server, sessions[who], path, **RANGE).status_code == 200, who


def test_every_export_is_in_the_audit_log(server: Server, sessions: dict[str, str]) -> None:
    before = len(exports(server))
    get(server, sessions["mori"], "/admin/reports.csv", **RANGE)
    get(server, sessions["kiri"], "/admin/reports.csv", **{"from": "2026-02", "to": "2026-02"})
    get(server, sessions["mori"], "/admin/reports", **RANGE)  # looking is not exporting
    logged = exports(server)[before:]
    assert [(actor, target, json.loads(detail)) for actor, target, detail in logged] == [
        ("mori", "report:2025-12..2026-04", {"from": "2025-12", "to": "2026-04", "desks": "all"}),
        (
            "kiri",
            "report:2026-02..2026-02",
            {"from": "2026-02", "to": "2026-02", "desks": ["legal"]},
        ),
    ]


BAD_RANGES = [
    # The months, the API's reason (the CSV), the page's in Japanese and in English, and the
    # fields the page marks as wrong.
    (
        {"from": "2026-13", "to": "2026-12"},
        "from: a month as YYYY-MM",
        "開始月は 2026-04 のように「年-月」で入力してください。",
        "Enter the first month as year-month, like 2026-04.",
        ["from"],
    ),
    (
        {"from": "2026-01", "to": "March"},
        "to: a month as YYYY-MM",
        "終了月は 2026-04 のように「年-月」で入力してください。",
        "Enter the last month as year-month, like 2026-04.",
        ["to"],
    ),
    (
        {"from": "2026-04", "to": "2026-03"},
        "from (2026-04) is after to (2026-03)",
        "開始月（2026-04）が終了月（2026-03）より後になっています。",
        "The first month (2026-04) is after the last month (2026-03).",
        ["from", "to"],
    ),
    (
        {"from": "2023-01", "to": "2026-01"},
        "at most 36 months at once",
        "一度に表示できるのは36か月までです。期間を短くしてください。",
        "At most 36 months can be shown at once. Choose a shorter period.",
        ["from", "to"],
    ),
]


@pytest.mark.parametrize(("params", "reason", "ja", "en", "wrong"), BAD_RANGES)
def test_a_bad_range_is_refused_in_the_pages_language_keeping_what_was_typed(
    server: Server,
    sessions: dict[str, str],
    params: dict[str, str],
    reason: str,
    ja: str,
    en: str,
    wrong: list[str],
) -> None:
    before = len(exports(server))
    export = get(server, sessions["mori"], "/admin/reports.csv", **params)
    assert export.status_code == 400 and export.text.startswith(reason)
    for lang, said in (("ja", ja), ("en", en)):
        page = get(server, sessions["mori"], "/admin/reports", **params, lang=lang)
        assert page.status_code == 400
        assert f'<p class="mg-error" id="mg-range-error" role="alert">{said}</p>' in html.unescape(
            page.text
        )
        for name in ("from", "to"):
            field = re.search(rf'<input type="month" name="{name}"[^>]*>', page.text)
            assert field, name
            assert f'value="{params[name]}"' in field.group(0)
            marked = 'aria-invalid="true" aria-describedby="mg-range-error"' in field.group(0)
            assert marked == (name in wrong), (lang, name)
    assert len(exports(server)) == before
