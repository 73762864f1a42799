"""The command line on PostgreSQL: every documented command, given ``MADOGUCHI_DATABASE_URL``
and ``MADOGUCHI_ENCRYPTION_KEY`` as an operator sets them on any node, works on that database
with the same output, checks and audit rows as on a SQLite file (tests/test_cli.py and
tests/test_cli_admin.py); ``madoguchi migrate`` is safe while a node serves, and two nodes
starting at once on a new database make one schema, one default desk and one admin account.

Each test takes a fresh database of the private PostgreSQL (tests/backends.py), whatever
``MADOGUCHI_TEST_BACKEND`` says.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.crypto import key_id, new_key, parse_keys
from service.pg.migrate import pg_migrations
from tests.backends import Postgres, Redis
from tests.support import (
    Server,
    client_id,
    postgres_rows,
    postgres_sql,
    running_server,
    seal_seeded_text,
    visitor,
)
from tests.test_cli import PASSWORD, documented_commands, madoguchi

LONG_AGO = "2020-01-01T00:00:00.000Z"
# Every documented command and the test here that runs it on PostgreSQL. `serve` is every
# server test's (tests/test_multinode.py, and all of them under MADOGUCHI_TEST_BACKEND=postgres);
# `new-key` opens no database.
ON_POSTGRES = {
    "migrate": "test_migrate_creates_the_schema_and_the_first_admin_once",
    "add-user": "test_add_user_reads_the_password_and_refuses_a_second_of_the_name",
    "backup": "test_backup_writes_a_private_pg_dump_file",
    "purge": "test_purge_erases_old_content_and_audits_the_count",
    "rotate-key": "test_rotate_key_reseals_with_the_first_key_and_refuses_a_stranger",
    **dict.fromkeys(
        ["desk add", "desk update", "desk list"], "test_desks_are_added_updated_and_listed"
    ),
    **dict.fromkeys(
        ["partner add", "partner update", "partner list", "partner disable", "partner enable"],
        "test_partners_are_added_updated_listed_disabled_and_enabled",
    ),
    **dict.fromkeys(
        ["campaign add", "campaign update", "campaign list", "campaign end", "campaign qr"],
        "test_a_campaign_is_added_changed_listed_drawn_and_ended",
    ),
    **dict.fromkeys(
        ["contact set", "contact list"], "test_emergency_contacts_are_listed_and_replaced"
    ),
    **dict.fromkeys(
        [
            "user add",
            "user update",
            "user list",
            "user deactivate",
            "user activate",
            "user password",
            "user unlock",
            "audit",
        ],
        "test_accounts_are_added_changed_deactivated_reset_unlocked_and_audited",
    ),
    **dict.fromkeys(
        [
            "canned add",
            "canned update",
            "canned list",
            "canned delete",
            "tag add",
            "tag update",
            "tag list",
        ],
        "test_canned_responses_and_topic_tags_are_kept",
    ),
}


def test_every_documented_command_is_run_on_postgres() -> None:
    documented = documented_commands() - {"serve", "new-key"}
    assert "user unlock" in documented
    assert documented <= set(ON_POSTGRES), documented - set(ON_POSTGRES)
    assert set(ON_POSTGRES.values()) <= set(globals())


@dataclass
class Database:
    """A fresh PostgreSQL database and the environment the command line is run with."""

    url: str
    admin_url: str
    env: dict[str, str]

    def run(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        return madoguchi(*args, stdin=stdin, db=None, env={**self.env, **env})

    def ok(self, *args: str, stdin: str = "") -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done.stdout

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return postgres_rows(self.admin_url, postgres_sql(sql), params)

    def server(self, folder: Path) -> Server:
        """A node of this database (not started): to seed sealed rows and read them opened."""
        return Server(db_path=folder / "unused.sqlite3", env=self.env, admin_url=self.admin_url)


@contextlib.contextmanager
def fresh_database(postgres: Postgres, folder: Path) -> Iterator[Database]:
    url = postgres.new_database()
    env = {
        "MADOGUCHI_DATABASE_URL": url,
        "MADOGUCHI_ENCRYPTION_KEY": new_key(),
        # Nothing may land in a SQLite file: the variable points where none can be made.
        "MADOGUCHI_DB": str(folder / "absent" / "never.sqlite3"),
        "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7",
    }
    yield Database(url, postgres.admin_url(url), env)
    assert not (folder / "absent").exists()
    postgres.sql(f"DROP DATABASE IF EXISTS {postgres.database_name(url)} WITH (FORCE)")


@pytest.fixture
def database(postgres: Postgres, tmp_path: Path) -> Iterator[Database]:
    with fresh_database(postgres, tmp_path) as made:
        yield made


@pytest.fixture
def migrated(database: Database) -> Database:
    database.ok("migrate")
    return database


@pytest.fixture(scope="module")
def refusing(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated database for every refusal: each must leave it as it was."""
    with fresh_database(postgres, tmp_path_factory.mktemp("refusing")) as made:
        made.ok("migrate")
        yield made


def test_migrate_creates_the_schema_and_the_first_admin_once(database: Database) -> None:
    first = database.run("migrate")
    assert first.returncode == 0, first.stderr
    assert "created the account 'admin' with the password" in first.stdout
    again = database.run("migrate")
    assert again.returncode == 0, again.stderr
    assert "created the account 'admin'" not in again.stdout
    names = [m.name for m in pg_migrations()]
    assert database.rows("SELECT name FROM schema_migrations ORDER BY name") == [
        (name,) for name in names
    ]
    assert database.rows("SELECT key FROM desk WHERE is_default = 1") == [("general",)]
    assert database.rows("SELECT username, role FROM user") == [("admin", "admin")]


def test_add_user_reads_the_password_and_refuses_a_second_of_the_name(migrated: Database) -> None:
    migrated.ok("add-user", "mika", "--role", "supervisor", "--display-name", "美香",
                "--desk", "general", stdin=f"{PASSWORD}\n")  # fmt: skip
    row = migrated.rows(
        "SELECT role, display_name, all_desks, password_hash FROM user WHERE username = 'mika'"
    )
    assert row[0][:3] == ("supervisor", "美香", 0)
    assert row[0][3].startswith("$argon2id$") and PASSWORD not in row[0][3]
    assert migrated.rows(
        "SELECT d.key FROM user_desk AS ud JOIN desk AS d ON d.id = ud.desk_id "
        "JOIN user AS u ON u.id = ud.user_id WHERE u.username = 'mika'"
    ) == [("general",)]
    again = migrated.run("add-user", "mika", "--role", "admin", stdin=f"{PASSWORD}\n")
    assert again.returncode != 0 and "exists" in again.stderr
    assert "Traceback" not in again.stderr
    short = migrated.run("add-user", "yui", "--role", "counselor", stdin="short\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
    assert migrated.rows("SELECT COUNT(*) FROM user") == [(2,)]  # admin and mika


def test_desks_are_added_updated_and_listed(migrated: Database) -> None:
    migrated.ok("desk", "add", "women", "--name", "女性の健康支援センター",
                "--hours", "tue,thu 10:00-16:00", "--phone", "03-1111-2222",
                "--phone", "03-3333-4444")  # fmt: skip
    migrated.ok("desk", "update", "women", "--hours", "24/7", "--closures", "")
    listed = migrated.ok("desk", "list")
    assert "general\t" in listed and "(default)" in listed
    assert (
        "women\t女性の健康支援センター\t24/7\t24時間・年中無休\t03-1111-2222 03-3333-4444" in listed
    )
    assert migrated.rows("SELECT hours, closures FROM desk WHERE key = 'women'") == [("24/7", "")]
    assert migrated.rows(
        "SELECT actor, action, target FROM audit_log WHERE target LIKE 'desk:%' ORDER BY id"
    ) == [("cli", "desk.create", "desk:women"), ("cli", "desk.update", "desk:women")]


def test_partners_are_added_updated_listed_disabled_and_enabled(migrated: Database) -> None:
    migrated.ok("partner", "add", "library", "--name", "図書館",
                "--origin", "https://Lib.example.jp/", "--origin", "https://lib.example.jp:8443",
                "--exit-url", "https://www.city.example.jp/")  # fmt: skip
    assert "library\t図書館\tenabled\thttps://lib.example.jp https://lib.example.jp:8443" in (
        migrated.ok("partner", "list")
    )
    migrated.ok("partner", "update", "library", "--lang", "en", "--desk", "general")
    migrated.ok("partner", "disable", "library")
    stored = (
        "SELECT p.enabled, p.exit_url, p.lang, d.key FROM partner AS p "
        "LEFT JOIN desk AS d ON d.id = p.desk_id WHERE p.key = 'library'"
    )
    assert migrated.rows(stored) == [(0, "https://www.city.example.jp/", "en", "general")]
    assert "library\t図書館\tdisabled" in migrated.ok("partner", "list")
    migrated.ok("partner", "enable", "library")
    migrated.ok("partner", "update", "library", "--exit-url", "", "--desk", "")
    assert migrated.rows(stored) == [(1, None, "en", None)]


def test_a_campaign_is_added_changed_listed_drawn_and_ended(
    migrated: Database, tmp_path: Path
) -> None:
    made = migrated.ok("campaign", "add", "poster-2026", "--name", "区報ポスター",
                       "--desk", "general")  # fmt: skip
    assert "/c/poster-2026" in made
    migrated.ok("campaign", "update", "poster-2026", "--partner", "ward", "--name", "駅のポスター")
    assert "poster-2026\t駅のポスター\tlive\t" in migrated.ok("campaign", "list")
    svg = tmp_path / "poster.svg"
    assert "/c/poster-2026" in migrated.ok("campaign", "qr", "poster-2026", "--out", str(svg))
    assert "<svg" in svg.read_text()
    migrated.ok("campaign", "end", "poster-2026")
    assert "poster-2026\t駅のポスター\tended\t" in migrated.ok("campaign", "list")
    assert migrated.rows(
        "SELECT c.enabled, p.key FROM campaign AS c JOIN partner AS p ON p.id = c.partner_id"
    ) == [(0, "ward")]


def test_emergency_contacts_are_listed_and_replaced(migrated: Database) -> None:
    assert "110" in migrated.ok("contact", "list")  # the defaults of a new database
    migrated.ok("contact", "set", "--contact", "警察", "110", "緊急時", "Emergency",
                "--contact", "DV相談ナビ", "#8008")  # fmt: skip
    assert migrated.rows("SELECT name, number FROM emergency_contact ORDER BY position") == [
        ("警察", "110"),
        ("DV相談ナビ", "#8008"),
    ]
    listed = migrated.ok("contact", "list").splitlines()
    assert [line.split("\t")[:4] for line in listed] == [
        ["警察", "110", "緊急時", "Emergency"],
        ["DV相談ナビ", "#8008", "", ""],
    ]
    assert migrated.rows("SELECT actor, action FROM audit_log WHERE action LIKE 'emergency%'") == [
        ("cli", "emergency_contacts.replace")
    ]


def test_accounts_are_added_changed_deactivated_reset_unlocked_and_audited(
    migrated: Database,
) -> None:
    migrated.ok("desk", "add", "night", "--name", "夜間")
    made = migrated.ok("user", "add", "mika", "--role", "counselor", "--desk", "night",
                       "--generate")  # fmt: skip
    password = made.splitlines()[-1].removeprefix("password: ")
    assert len(password) >= 12
    migrated.ok("user", "update", "mika", "--display-name", "美香", "--role", "supervisor",
                "--desk", "general", "--desk", "night")  # fmt: skip
    assert "mika\t美香\tsupervisor\tgeneral,night\tactive" in migrated.ok("user", "list")
    migrated.ok("user", "update", "mika", "--all-desks")
    migrated.ok("user", "deactivate", "mika")
    assert "mika\t美香\tsupervisor\tall\tinactive" in migrated.ok("user", "list")
    migrated.ok("user", "activate", "mika")
    hashed = "SELECT password_hash FROM user WHERE username = 'mika'"
    before = migrated.rows(hashed)
    said = migrated.run("user", "password", "mika", stdin="a brand new secret\n")
    assert said.returncode == 0 and "a brand new secret" not in said.stdout
    after = migrated.rows(hashed)
    assert before != after and after[0][0].startswith("$argon2id$")
    assert (
        migrated.ok("user", "password", "mika", "--generate")
        .splitlines()[-1]
        .startswith("password: ")
    )
    assert migrated.ok("user", "unlock", "mika").strip() == "unlocked the logins of mika"
    actions = migrated.rows("SELECT action FROM audit_log WHERE actor = 'cli' ORDER BY id")
    assert [a for (a,) in actions] == [
        "desk.create",
        "user.create",
        *["user.update"] * 4,
        "user.password_reset",
        "user.password_reset",
        "user.unlock",
    ]
    assert password not in str(migrated.rows("SELECT * FROM audit_log"))
    latest = migrated.ok("audit", "--limit", "2").splitlines()
    assert [line.split("\t")[1:4] for line in latest] == [
        ["cli", "user.unlock", "user:mika"],
        ["cli", "user.password_reset", "user:mika"],
    ]


def test_canned_responses_and_topic_tags_are_kept(migrated: Database) -> None:
    added = migrated.ok("canned", "add", "--title", "挨拶", "--body", "こんにちは。")
    number = added.removeprefix("added canned response ").strip()
    assert f"{number}\tall\t挨拶\n" in migrated.ok("canned", "list")
    migrated.ok("canned", "update", number, "--desk", "general", "--body", "こんばんは。")
    assert f"{number}\tgeneral\t挨拶\n" in migrated.ok("canned", "list")
    assert migrated.rows("SELECT body FROM canned_response WHERE id = ?", (int(number),)) == [
        ("こんばんは。",)
    ]
    migrated.ok("canned", "delete", number)
    assert f"{number}\t" not in migrated.ok("canned", "list")
    migrated.ok("tag", "add", "housing", "--label-ja", "住まい")
    migrated.ok("tag", "update", "housing", "--label-en", "Housing", "--disable")
    assert "housing\t住まい\tHousing\tdisabled" in migrated.ok("tag", "list")
    assert migrated.rows("SELECT enabled FROM topic_tag WHERE key = 'housing'") == [(0,)]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["desk", "add", "general", "--name", "again"], "exists"),
        (["desk", "update", "nowhere", "--name", "X"], "no desk"),
        (["partner", "add", "demo", "--name", "again", "--origin", "https://a.jp"], "exists"),
        (["partner", "disable", "ward"], "default partner"),
        (["campaign", "end", "nothing"], "no campaign"),
        (["user", "update", "nobody", "--role", "admin"], "no user"),
        (["user", "update", "admin", "--role", "counselor"], "admin"),
        (["user", "add", "u", "--role", "counselor", "--desk", "Bad", "--generate"], "desk 'Bad'"),
        (["canned", "update", "7", "--title", "t"], "no canned response"),
        (["tag", "add", "family", "--label-ja", "again"], "exists"),
        (["tag", "update", "nothing", "--disable"], "no topic tag"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_written(
    refusing: Database, args: list[str], says: str
) -> None:
    before = refusing.rows("SELECT COUNT(*) FROM audit_log")
    done = refusing.run(*args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("madoguchi: ") and says in lines[0], lines
    assert refusing.rows("SELECT COUNT(*) FROM audit_log") == before
    assert refusing.rows("SELECT key FROM desk") == [("general",)]
    assert refusing.rows("SELECT username, role FROM user") == [("admin", "admin")]


def closed_long_ago(
    database: Database, folder: Path, cid: str, words: str, at: str = LONG_AGO
) -> Server:
    """A conversation closed in 2020 (or ``at``) with one message from its visitor, sealed with
    the key of ``database.env``; the node (not started) that reads it."""
    node = database.server(folder)
    for sql, params in [
        (
            "INSERT INTO conversation (id, token_hash, desk_id, lang, status, outcome, "
            "closed_by, created_at, closed_at, last_seq) SELECT ?, ?, id, 'ja', 'closed', "
            "'resolved', 'visitor', ?, ?, 1 FROM desk WHERE key = 'general'",
            (cid, f"t-{cid}", at, at),
        ),
        (
            "INSERT INTO message (conversation_id, seq, author, client_id, body, created_at) "
            "VALUES (?, 1, 'visitor', ?, ?, ?)",
            (cid, client_id(), words.encode(), at),
        ),
        # As a node's first start records it: the key that seals this database.
        (
            "INSERT INTO sealing_key (key_id, created_at) SELECT ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM sealing_key)",
            (node.sealer().key_id.hex(), LONG_AGO),
        ),
    ]:
        database.rows(sql, params)
    seal_seeded_text(node)
    return node


def test_backup_writes_a_private_pg_dump_file(migrated: Database, tmp_path: Path) -> None:
    target = tmp_path / "copies" / "madoguchi.dump"
    target.parent.mkdir()
    done = migrated.run("backup", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert target.stat().st_mode & 0o777 == 0o600
    assert migrated.url.split("@")[0].split(":")[-1] not in done.stderr  # no password shown


def test_purge_erases_old_content_and_audits_the_count(migrated: Database, tmp_path: Path) -> None:
    node = closed_long_ago(migrated, tmp_path, "old", "二〇二〇年の相談")
    assert node.query("SELECT body FROM message WHERE conversation_id = 'old'") == [
        ("二〇二〇年の相談",)
    ]
    done = migrated.run("purge")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("purged 1 conversations closed more than 90 days ago")
    assert "相談" not in done.stdout + done.stderr
    assert node.query("SELECT body FROM message WHERE conversation_id = 'old'") == [(b"",)]
    assert migrated.rows(
        "SELECT actor, target FROM audit_log WHERE action = 'retention.purge'"
    ) == [("cli", "conversations")]
    assert migrated.run("purge").stdout.startswith("purged 0 conversations")


def test_rotate_key_reseals_with_the_first_key_and_refuses_a_stranger(
    migrated: Database, tmp_path: Path
) -> None:
    node = closed_long_ago(migrated, tmp_path, "kept", "鍵を替えても読める")
    old = migrated.env["MADOGUCHI_ENCRYPTION_KEY"]
    fresh = new_key()
    fresh_id = key_id(parse_keys(fresh)[0])

    without = migrated.run("rotate-key", MADOGUCHI_ENCRYPTION_KEY="")
    assert without.returncode != 0 and "put the new key first" in without.stderr
    stranger = migrated.run("rotate-key", MADOGUCHI_ENCRYPTION_KEY=new_key())
    assert stranger.returncode != 0 and "does not match" in stranger.stderr

    rotated = migrated.run("rotate-key", MADOGUCHI_ENCRYPTION_KEY=f"{fresh},{old}")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == f"resealed 1 values with the key {fresh_id.hex()}"
    sealed = migrated.rows("SELECT body FROM message WHERE conversation_id = 'kept'")
    assert bytes(sealed[0][0])[1:5] == fresh_id
    node.env = {**node.env, "MADOGUCHI_ENCRYPTION_KEY": fresh}
    assert node.query("SELECT body FROM message WHERE conversation_id = 'kept'") == [
        ("鍵を替えても読める",)
    ]
    assert migrated.rows("SELECT key_id FROM sealing_key") == [(fresh_id.hex(),)]


def test_the_documented_rolling_rotation_never_leaves_a_node_unable_to_open(
    migrated: Database, tmp_path: Path
) -> None:
    """The steps of docs/deployment.md: at each step, a node still on the previous step's keys
    opens what the others sealed."""
    old = migrated.env["MADOGUCHI_ENCRYPTION_KEY"]
    fresh = new_key()
    old_id, fresh_id = key_id(parse_keys(old)[0]), key_id(parse_keys(fresh)[0])
    # Closed today: a node's start purges what is past the retention period.
    today = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    node = closed_long_ago(migrated, tmp_path, "first", "一通目", today)

    def sealed_by(cid: str) -> bytes:
        body = migrated.rows("SELECT body FROM message WHERE conversation_id = ?", (cid,))
        return bytes(body[0][0])[1:5]

    def start_a_node() -> None:
        with running_server(dict(migrated.env), admin_url=migrated.admin_url):
            pass

    def opened_with(keys: str, cid: str) -> str:
        node.env = {**node.env, "MADOGUCHI_ENCRYPTION_KEY": keys}
        rows = node.query("SELECT body FROM message WHERE conversation_id = ?", (cid,))
        return str(rows[0][0])

    # Step 2: a node started with OLD,NEW still seals with OLD.
    migrated.env["MADOGUCHI_ENCRYPTION_KEY"] = f"{old},{fresh}"
    start_a_node()
    assert sealed_by("first") == old_id
    # Step 3: the first node started with NEW,OLD reseals everything; nodes still on OLD,NEW
    # open it, and what they seal meanwhile (with OLD) is opened by the restarted ones.
    migrated.env["MADOGUCHI_ENCRYPTION_KEY"] = f"{fresh},{old}"
    start_a_node()
    assert sealed_by("first") == fresh_id
    assert opened_with(f"{old},{fresh}", "first") == "一通目"
    migrated.env["MADOGUCHI_ENCRYPTION_KEY"] = f"{old},{fresh}"
    closed_long_ago(migrated, tmp_path, "straggler", "二通目", today)
    migrated.env["MADOGUCHI_ENCRYPTION_KEY"] = f"{fresh},{old}"
    assert sealed_by("straggler") == old_id
    assert opened_with(f"{fresh},{old}", "straggler") == "二通目"
    # Step 4: rotate-key reseals the stragglers; step 5: NEW alone opens everything.
    rotated = migrated.run("rotate-key")
    assert rotated.stdout.strip() == f"resealed 1 values with the key {fresh_id.hex()}"
    assert {sealed_by("first"), sealed_by("straggler")} == {fresh_id}
    assert opened_with(fresh, "first") == "一通目"
    assert opened_with(fresh, "straggler") == "二通目"
    assert migrated.rows("SELECT key_id FROM sealing_key") == [(fresh_id.hex(),)]


async def test_migrate_while_a_node_serves_changes_nothing_it_serves(
    migrated: Database, redis_server: Redis
) -> None:
    env = {**migrated.env, "MADOGUCHI_REDIS_URL": redis_server.new_url()}
    with running_server(env, admin_url=migrated.admin_url) as node:
        guest = await visitor(node)
        try:
            before = (await guest.call("start", {}))["conversation"]["id"]
            again = migrated.run("migrate")
            assert again.returncode == 0, again.stderr
            assert "(0 migrations applied)" in again.stderr
            assert "created the account" not in again.stdout
            said = await guest.call("message", {"client_id": client_id(), "body": "まだ話せる"})
            assert said["ok"] and said["seq"] >= 1
            assert httpx.get(f"{node.url}/healthz").status_code == 200
        finally:
            await guest.disconnect()
    assert migrated.rows("SELECT COUNT(*) FROM conversation WHERE id = ?", (before,)) == [(1,)]
    assert migrated.rows("SELECT COUNT(*) FROM schema_migrations") == [(len(pg_migrations()),)]


def test_two_nodes_starting_at_once_on_a_new_database_make_one_of_everything(
    database: Database, redis_server: Redis, tmp_path: Path
) -> None:
    env = {**database.env, "MADOGUCHI_REDIS_URL": redis_server.new_url()}
    nodes = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        nodes.append(Server(db_path=tmp_path / name / "unused.sqlite3", env=env))
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for started in [pool.submit(node.start) for node in nodes]:
                started.result(timeout=60)
        for node in nodes:
            assert httpx.get(f"{node.url}/api/v1/desks").json()["desks"][0]["key"] == "general"
    finally:
        for node in nodes:
            node.stop()
    logs = "".join(node.logs() for node in nodes)
    assert logs.count("created the account 'admin' with the password") == 1
    names = [m.name for m in pg_migrations()]
    assert database.rows("SELECT name FROM schema_migrations ORDER BY name") == [
        (name,) for name in names
    ]
    assert database.rows("SELECT key FROM desk") == [("general",)]
    assert database.rows("SELECT key FROM partner ORDER BY key") == [("demo",), ("ward",)]
    assert database.rows("SELECT username FROM user") == [("admin",)]
    assert database.rows("SELECT COUNT(*) FROM sealing_key") == [(1,)]
