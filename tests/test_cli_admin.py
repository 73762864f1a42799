"""``madoguchi desk | partner | campaign | contact | user | canned | tag``: every setting is
scriptable, and refused cleanly when wrong (tests/test_admin_parity.py: the same as the pages'
and the API's)."""

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
    ok("desk", "update", "women", "--hours", "24/7", "--closures", "", "--name-en",
       "Women's health centre", "--name-kana", "じょせい センター", db=db)  # fmt: skip
    assert rows(db, "SELECT name_en, name_kana FROM desk WHERE key = 'women'") == [
        ("Women's health centre", "じょせい センター")
    ]
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


def test_partners_are_added_updated_listed_disabled_and_enabled(tmp_path: Path) -> None:
    db = tmp_path / "p.sqlite3"
    ok("partner", "add", "library", "--name", "図書館", "--origin", "https://Lib.example.jp/",
       "--origin", "https://lib.example.jp:8443", "--exit-url", "https://www.city.example.jp/",
       db=db)  # fmt: skip
    assert "library\t図書館\tenabled\thttps://lib.example.jp https://lib.example.jp:8443" in ok(
        "partner", "list", db=db
    )
    ok("partner", "update", "library", "--lang", "en", "--desk", "general", db=db)
    ok("partner", "disable", "library", db=db)
    stored = "SELECT enabled, exit_url, lang, desk_id FROM partner WHERE key = 'library'"
    assert rows(db, stored) == [(0, "https://www.city.example.jp/", "en", 1)]
    assert "library\t図書館\tdisabled" in ok("partner", "list", db=db)
    ok("partner", "enable", "library", db=db)
    ok("partner", "update", "library", "--exit-url", "", "--desk", "", db=db)
    assert rows(db, stored) == [(1, None, "en", None)]


def test_a_campaign_is_added_changed_listed_and_ended(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    made = ok(
        "campaign", "add", "poster-2026", "--name", "区報ポスター", "--desk", "general", db=db
    )
    assert "/c/poster-2026" in made
    assert rows(db, "SELECT code, name, partner_id FROM campaign") == [
        ("poster-2026", "区報ポスター", None)
    ]
    ok("campaign", "update", "poster-2026", "--partner", "ward", "--name", "駅のポスター", db=db)
    assert "poster-2026\t駅のポスター\tlive\t" in ok("campaign", "list", db=db)
    svg = tmp_path / "poster.svg"
    assert "/c/poster-2026" in ok("campaign", "qr", "poster-2026", "--out", str(svg), db=db)
    assert "<svg" in svg.read_text()
    ok("campaign", "end", "poster-2026", db=db)
    assert "poster-2026\t駅のポスター\tended\t" in ok("campaign", "list", db=db)
    assert rows(db, "SELECT enabled, partner_id FROM campaign") == [(0, 1)]


def test_emergency_contacts_are_listed_and_replaced(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite3"
    assert "110" in ok("contact", "list", db=db)  # the defaults of a new database
    ok("contact", "set", "--contact", "警察", "110", "緊急時", "Emergency", "Police", "けいさつ",
       "いそぐ とき", "--contact", "DV相談ナビ", "#8008", db=db)  # fmt: skip
    listed = ok("contact", "list", db=db)
    assert listed == (
        "警察\t110\t緊急時\tEmergency\tPolice\tけいさつ\tいそぐ とき\nDV相談ナビ\t#8008\t\t\t\t\t\n"
    )
    assert rows(db, "SELECT actor, action FROM audit_log") == [
        ("cli", "emergency_contacts.replace")
    ]


def test_accounts_are_added_changed_deactivated_and_reset(tmp_path: Path) -> None:
    db = tmp_path / "u.sqlite3"
    ok("desk", "add", "night", "--name", "夜間", db=db)
    made = ok("user", "add", "mika", "--role", "counselor", "--desk", "night", "--generate", db=db)
    password = made.splitlines()[-1].removeprefix("password: ")
    assert len(password) >= 12
    ok("user", "update", "mika", "--display-name", "美香", "--role", "supervisor",
       "--desk", "general", "--desk", "night", db=db)  # fmt: skip
    assert "mika\t美香\tsupervisor\tgeneral,night\tactive" in ok("user", "list", db=db)
    ok("user", "update", "mika", "--all-desks", db=db)
    ok("user", "deactivate", "mika", db=db)
    assert "mika\t美香\tsupervisor\tall\tinactive" in ok("user", "list", db=db)
    ok("user", "activate", "mika", db=db)
    before = rows(db, "SELECT password_hash FROM user WHERE username = 'mika'")
    said = madoguchi("user", "password", "mika", stdin="a brand new secret\n", db=db)
    assert said.returncode == 0 and "a brand new secret" not in said.stdout
    after = rows(db, "SELECT password_hash FROM user WHERE username = 'mika'")
    assert before != after and after[0][0].startswith("$argon2id$")
    generated = ok("user", "password", "mika", "--generate", db=db)
    assert generated.splitlines()[-1].startswith("password: ")
    actions = [a for (a,) in rows(db, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["desk.create", "user.create", *["user.update"] * 4,
                       "user.password_reset", "user.password_reset"]  # fmt: skip
    assert password not in str(rows(db, "SELECT * FROM audit_log"))
    latest = ok("audit", "--limit", "2", db=db).splitlines()
    assert [line.split("\t")[1:4] for line in latest] == [
        ["cli", "user.password_reset", "user:mika"]
    ] * 2


def test_canned_responses_and_topic_tags_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    added = ok("canned", "add", "--title", "挨拶", "--body", "こんにちは。", db=db)
    number = added.removeprefix("added canned response ").strip()
    assert f"{number}\tall\t挨拶\n" in ok("canned", "list", db=db)
    ok("canned", "update", number, "--desk", "general", "--body", "こんばんは。", db=db)
    assert f"{number}\tgeneral\t挨拶\n" in ok("canned", "list", db=db)
    assert rows(db, "SELECT body FROM canned_response ORDER BY id DESC LIMIT 1") == [
        ("こんばんは。",)
    ]
    ok("canned", "delete", number, db=db)
    assert f"{number}\t" not in ok("canned", "list", db=db)
    ok("tag", "add", "housing", "--label-ja", "住まい", db=db)
    ok("tag", "update", "housing", "--label-en", "Housing", "--disable", db=db)
    assert "housing\t住まい\tHousing\tdisabled" in ok("tag", "list", db=db)


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
        (["partner", "update", "ward"], "nothing to change"),
        (["partner", "update", "ward", "--lang", "fr"], "language 'fr'"),
        (["campaign", "end", "nothing"], "no campaign"),
        (["contact", "set", "--contact", "110"], "NAME NUMBER"),
        (["contact", "set", "--contact", "警察", ""], "number is required"),
        (["user", "update", "nobody", "--role", "admin"], "no user"),
        (["user", "update", "admin", "--all-desks", "--desk", "general"], "not allowed with"),
        (["user", "add", "u", "--role", "counselor", "--desk", "Bad", "--generate"], "desk 'Bad'"),
        (["canned", "update", "7", "--title", "t"], "no canned response"),
        (["canned", "add", "--title", "t", "--body", " "], "text is required"),
        (["tag", "update", "nothing", "--disable"], "no topic tag"),
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
