"""``madoguchi desk | partner | campaign``: scriptable settings, refused cleanly when wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_cli import madoguchi


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def ok(*args: str, db: Path) -> str:
    done = madoguchi(*args, db=db)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_desks_are_added_updated_and_listed(tmp_path: Path) -> None:
    db = tmp_path / "d.sqlite3"
    ok("desk", "add", "women", "--name", "女性の健康支援センター", "--hours", "tue,thu 10:00-16:00",
       "--phone", "03-1111-2222", "--phone", "03-3333-4444", db=db)  # fmt: skip
    ok("desk", "update", "women", "--hours", "24/7", "--closures", "", db=db)
    listed = ok("desk", "list", db=db)
    assert "general\t一般相談（男女平等推進センター） (default)" in listed
    assert "月〜金・第2土曜 9:00〜17:00" in listed  # the ward's hours from the first start
    assert (
        "women\t女性の健康支援センター\t24/7\t24時間・年中無休\t03-1111-2222 03-3333-4444" in listed
    )
    assert rows(db, "SELECT actor, action, target FROM audit_log ORDER BY id") == [
        ("cli", "desk.create", "desk:women"),
        ("cli", "desk.update", "desk:women"),
    ]


def test_partners_are_added_listed_and_disabled(tmp_path: Path) -> None:
    db = tmp_path / "p.sqlite3"
    ok("partner", "add", "library", "--name", "図書館", "--origin", "https://Lib.example.jp/",
       "--origin", "http://lib.example.jp:8080", "--exit-url", "https://www.city.example.jp/",
       db=db)  # fmt: skip
    assert "library\t図書館\tenabled\thttps://lib.example.jp http://lib.example.jp:8080" in ok(
        "partner", "list", db=db
    )
    ok("partner", "disable", "library", db=db)
    assert rows(db, "SELECT enabled, exit_url FROM partner WHERE key = 'library'") == [
        (0, "https://www.city.example.jp/")
    ]


def test_a_campaign_gets_its_poster_address(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    made = ok(
        "campaign", "add", "poster-2026", "--name", "区報ポスター", "--desk", "general", db=db
    )
    assert "/c/poster-2026" in made
    assert rows(db, "SELECT code, name, partner_id FROM campaign") == [
        ("poster-2026", "区報ポスター", None)
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["desk", "add", "x", "--name", "X", "--hours", "mon 9-17"], "time range"),
        (["desk", "add", "Bad Key", "--name", "X"], "key"),
        (["desk", "add", "general", "--name", "again"], "exists"),
        (["desk", "add", "x", "--name", "X", "--phone", "none"], "phone"),
        (["desk", "update", "nowhere", "--name", "X"], "no desk"),
        (["desk", "update", "general"], "nothing to change"),
        (["partner", "add", "x", "--name", "X", "--origin", "example.jp"], "origin"),
        (
            ["partner", "add", "x", "--name", "X", "--origin", "https://a.jp", "--desk", "no"],
            "desk",
        ),
        (
            [
                "partner",
                "add",
                "x",
                "--name",
                "X",
                "--origin",
                "https://a.jp",
                "--exit-url",
                "ftp://a",
            ],
            "exit URL",
        ),
        (["partner", "add", "x", "--name", "X"], "--origin"),
        (["partner", "disable", "ward"], "default partner"),
        (["partner", "disable", "nobody"], "no partner"),
        (["campaign", "add", "c", "--name", "C", "--partner", "nobody"], "partner"),
        (["campaign", "qr", "nothing", "--out", "q.png"], "no campaign"),
        (["campaign", "qr", "nothing", "--out", "q.gif"], ".svg or .png"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_written(
    tmp_path: Path, args: list[str], says: str
) -> None:
    db = tmp_path / "bad.sqlite3"
    done = madoguchi(*args, db=db)
    assert done.returncode != 0
    assert says in done.stderr
    if db.exists():
        assert rows(db, "SELECT COUNT(*) FROM audit_log") == [(0,)]
        assert rows(db, "SELECT key FROM desk") == [("general",)]
        assert rows(db, "SELECT COUNT(*) FROM campaign") == [(0,)]
