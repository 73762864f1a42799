"""The CSV for people (``/admin/reports.csv?format=excel``): the machine CSV's rows and figures
with Japanese column names and every key by its name, in UTF-8 with a byte order mark and CRLF
line ends so that Excel shows the Japanese as it is. Against the seeded server of
tests/test_reports_http.py (the same conversations)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

from service.http.reports import EXCEL_COLUMNS
from tests.conftest import PASSWORD
from tests.support import Server, login_sync
from tests.test_reports_http import RANGE, exports, get, reports_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with reports_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in ("mori", "kiri")}


def excel(server: Server, session: str) -> bytes:
    response = get(server, session, "/admin/reports.csv", **RANGE, format="excel")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="madoguchi-2025-12-2026-04-ja.csv"'
    )
    assert response.headers["cache-control"] == "no-store"
    return response.content


def test_excel_reads_it_as_japanese(server: Server, sessions: dict[str, str]) -> None:
    body = excel(server, sessions["mori"])
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    # Every line ends in CRLF, and no bare LF is left anywhere.
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(EXCEL_COLUMNS)
    assert rows[0][:4] == ["月", "区分", "項目", "相談件数"]


def test_the_same_figures_as_the_machine_csv_with_names(
    server: Server, sessions: dict[str, str]
) -> None:
    machine = list(
        csv.reader(io.StringIO(get(server, sessions["mori"], "/admin/reports.csv", **RANGE).text))
    )
    people = list(csv.reader(io.StringIO(excel(server, sessions["mori"]).decode("utf-8-sig"))))
    assert len(people) == len(machine)
    # Row for row, the figures are the same; only month, dimension and key are put in words.
    assert [row[3:] for row in people[1:]] == [row[3:] for row in machine[1:]]
    named = {tuple(row[:3]) for row in people[1:]}
    assert ("2025年12月", "合計", "合計") in named
    assert ("2026年1月", "窓口", "一般相談") in named
    assert ("2026年1月", "経路", "連携団体：区立図書館") in named
    assert ("2026年1月", "経路", "直接・区ホームページ") in named
    assert ("2026年2月", "経路", "周知キャンペーン：春のポスター") in named
    assert ("2026年1月", "言語", "英語") in named
    assert ("2026年2月", "相談内容", "未分類") in named
    assert ("2026年2月", "対応結果", "対応中・待機中") in named
    assert ("2026年1月", "対応結果", "電話相談につないだ") in named
    text = "\n".join(",".join(row) for row in people)
    for key in ("partner:library", "campaign:spring", "direct", "untagged", "general", ",ja,"):
        assert key not in text, key


def test_a_supervisor_of_some_desks_gets_those_desks_and_the_export_is_audited(
    server: Server, sessions: dict[str, str]
) -> None:
    before = len(exports(server))
    people = list(csv.reader(io.StringIO(excel(server, sessions["kiri"]).decode("utf-8-sig"))))
    assert {row[2] for row in people[1:] if row[1] == "窓口"} == {"法律相談"}
    logged = exports(server)[before:]
    assert [(actor, target, json.loads(detail)) for actor, target, detail in logged] == [
        (
            "kiri",
            "report:2025-12..2026-04",
            {"from": "2025-12", "to": "2026-04", "desks": ["legal"]},
        )
    ]
