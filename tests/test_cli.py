"""The command line: migrate, add-user, and first start; changes reach a running server."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import socketio

from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Client, Server, login, visitor


def madoguchi(*args: str, stdin: str = "", db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args, "--db", str(db)],
        input=stdin,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_migrate_creates_the_schema_once(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "m.sqlite3"
    assert madoguchi("migrate", db=db).returncode == 0
    assert madoguchi("migrate", db=db).returncode == 0  # idempotent
    assert db.stat().st_mode & 0o777 == 0o600  # the service's account only
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT key FROM desk WHERE is_default = 1").fetchone() == ("general",)
    conn.close()


def test_add_user_reads_the_password_from_standard_input(tmp_path: Path) -> None:
    db = tmp_path / "u.sqlite3"
    made = madoguchi(
        "add-user",
        "mika",
        "--role",
        "supervisor",
        "--display-name",
        "美香",
        "--desk",
        "general",
        stdin=f"{PASSWORD}\n",
        db=db,
    )
    assert made.returncode == 0, made.stderr
    conn = sqlite3.connect(db)
    row = conn.execute("SELECT role, display_name, all_desks, password_hash FROM user").fetchone()
    assert row[:3] == ("supervisor", "美香", 0)
    assert row[3].startswith("$argon2id$") and PASSWORD not in row[3]
    assert conn.execute("SELECT COUNT(*) FROM user_desk").fetchone() == (1,)
    conn.close()


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["add-user", "a", "--role", "counselor"], "short\n", "at least 8"),
        (["add-user", "b", "--role", "counselor", "--desk", "nowhere"], f"{PASSWORD}\n", "desk"),
        (["add-user", "c", "--role", "root"], f"{PASSWORD}\n", "invalid choice"),
    ],
)
def test_add_user_refuses_bad_input_with_a_clear_message(
    tmp_path: Path, args: list[str], stdin: str, says: str
) -> None:
    db = tmp_path / "bad.sqlite3"
    result = madoguchi(*args, stdin=stdin, db=db)
    assert result.returncode != 0
    assert says in result.stderr
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM user").fetchone() == (0,)


def test_a_username_can_exist_only_once(tmp_path: Path) -> None:
    db = tmp_path / "dup.sqlite3"
    assert (
        madoguchi("add-user", "x", "--role", "counselor", stdin=f"{PASSWORD}\n", db=db).returncode
        == 0
    )
    again = madoguchi("add-user", "x", "--role", "admin", stdin=f"{PASSWORD}\n", db=db)
    assert again.returncode != 0 and "exists" in again.stderr


def test_the_first_start_prints_the_admin_password_once(server: Server) -> None:
    assert server.logs().count("created the account 'admin'") == 1
    server.stop()
    server.start()
    assert "created the account 'admin'" not in server.logs()


async def test_an_account_added_while_serving_can_log_in_at_once(server: Server) -> None:
    server.add_user("late", PASSWORD, display_name="遅番")
    assert await login(server, "late", PASSWORD)


async def test_disabling_a_partner_reaches_the_running_server_within_seconds(
    server: Server,
) -> None:
    server.query("SELECT 1")  # the file exists and is shared with the server
    conn = sqlite3.connect(server.db_path)
    conn.execute(
        "INSERT INTO partner (key, name, created_at) VALUES ('library', '図書館', '2026-01-01')"
    )
    conn.commit()
    await eventually_connects(server, "library", expect=True)
    conn.execute("UPDATE partner SET enabled = 0 WHERE key = 'library'")
    conn.commit()
    conn.close()
    refused = await eventually_connects(server, "library", expect=False)
    assert refused["data"] == {"code": "unknown_partner"}  # type: ignore[index]


async def eventually_connects(server: Server, partner: str, *, expect: bool) -> object:
    """Retry until the server's view of the partner matches ``expect`` (at most 10 s)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            client = await visitor(server, partner=partner)
        except socketio.exceptions.ConnectionError:
            if not expect:
                probe = Client("/visitor")
                try:
                    await probe.connect(server.url, auth={"partner": partner})
                except socketio.exceptions.ConnectionError:
                    return probe.connect_error
        else:
            await client.disconnect()
            if expect:
                return None
        # No sleep: each try is itself a round trip to the server, which reloads once a second.
        assert asyncio.get_running_loop().time() < deadline, "the change never arrived"
