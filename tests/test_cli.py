"""The command line as an operator runs it (the installed ``madoguchi`` script, real files):
every command the README and docs/admin.md show; changes reach a running server."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import socketio

from service.crypto import load_keys
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Client, Server, execute, free_port, login, visitor

# The script ``pip install`` made beside the interpreter, as the README calls it.
MADOGUCHI = Path(sys.executable).with_name("madoguchi")


def madoguchi(
    *args: str, stdin: str = "", db: Path | None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MADOGUCHI), *args, *(["--db", str(db)] if db else [])],
        input=stdin,
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


# Every command (and action) the README's and docs/admin.md's command lists show, and the test
# of this module or test_cli_admin.py that runs it.
TESTED = {
    "serve": "test_serve_starts_the_service_and_prints_the_first_password",
    "migrate": "test_migrate_creates_the_schema_once",
    "add-user": "test_add_user_reads_the_password_from_standard_input",
    "backup": "test_backup_purge_and_rotate_key_on_a_real_database",
    "purge": "test_backup_purge_and_rotate_key_on_a_real_database",
    "new-key": "test_new_key_prints_a_fresh_usable_key",
    "rotate-key": "test_backup_purge_and_rotate_key_on_a_real_database",
    "desk add": "test_desks_are_added_updated_and_listed",
    "desk update": "test_desks_are_added_updated_and_listed",
    "desk list": "test_desks_are_added_updated_and_listed",
    "partner add": "test_partners_are_added_updated_listed_disabled_and_enabled",
    "partner update": "test_partners_are_added_updated_listed_disabled_and_enabled",
    "partner list": "test_partners_are_added_updated_listed_disabled_and_enabled",
    "partner disable": "test_partners_are_added_updated_listed_disabled_and_enabled",
    "partner enable": "test_partners_are_added_updated_listed_disabled_and_enabled",
    "campaign add": "test_a_campaign_is_added_changed_listed_and_ended",
    "campaign update": "test_a_campaign_is_added_changed_listed_and_ended",
    "campaign list": "test_a_campaign_is_added_changed_listed_and_ended",
    "campaign end": "test_a_campaign_is_added_changed_listed_and_ended",
    "campaign qr": "test_a_campaign_is_added_changed_listed_and_ended",
    "contact list": "test_emergency_contacts_are_listed_and_replaced",
    "contact set": "test_emergency_contacts_are_listed_and_replaced",
    "user add": "test_accounts_are_added_changed_deactivated_and_reset",
    "user list": "test_accounts_are_added_changed_deactivated_and_reset",
    "user update": "test_accounts_are_added_changed_deactivated_and_reset",
    "user deactivate": "test_accounts_are_added_changed_deactivated_and_reset",
    "user activate": "test_accounts_are_added_changed_deactivated_and_reset",
    "user password": "test_accounts_are_added_changed_deactivated_and_reset",
    "user unlock": "test_concurrent_guesses_are_counted_before_the_check_and_an_unlock_lets_in",
    "canned add": "test_canned_responses_and_topic_tags_are_kept",
    "canned update": "test_canned_responses_and_topic_tags_are_kept",
    "canned list": "test_canned_responses_and_topic_tags_are_kept",
    "canned delete": "test_canned_responses_and_topic_tags_are_kept",
    "tag add": "test_canned_responses_and_topic_tags_are_kept",
    "tag update": "test_canned_responses_and_topic_tags_are_kept",
    "tag list": "test_canned_responses_and_topic_tags_are_kept",
    "audit": "test_accounts_are_added_changed_deactivated_and_reset",
}
HAS_ACTIONS = {"desk", "partner", "campaign", "contact", "user", "canned", "tag"}


def documented_commands() -> set[str]:
    """``madoguchi COMMAND [ACTION]`` of every command line shown in the README and docs."""
    found = set()
    for doc in ("README.md", "docs/admin.md"):
        text = (PROJECT_DIR / doc).read_text()
        for words in re.findall(r"^\.venv/bin/madoguchi ([a-z-]+)(?: ([a-z-]+))?", text, re.M):
            command, action = words
            found.add(f"{command} {action}" if command in HAS_ACTIONS else command)
    return found


def test_every_documented_command_has_its_test() -> None:
    documented = documented_commands()
    assert "new-key" in documented and "user update" in documented
    assert documented <= set(TESTED), documented - set(TESTED)
    names = set(globals())
    for module in ("tests.test_cli_admin", "tests.test_login_throttle"):
        names |= set(vars(importlib.import_module(module)))
    assert set(TESTED.values()) <= names


def test_new_key_prints_a_fresh_usable_key(tmp_path: Path) -> None:
    first, second = (madoguchi("new-key", db=None, env={"MADOGUCHI_DB": ""}) for _ in range(2))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key and key != second.stdout.strip() and "\n" not in key
    # The key seals: a server given it as MADOGUCHI_ENCRYPTION_KEY opens what it sealed.
    sealer = load_keys(key, tmp_path / "unused.key", create=False)
    assert sealer.open(sealer.seal("試験", "label"), "label") == "試験"
    assert list(tmp_path.iterdir()) == []  # it writes no file


def test_serve_starts_the_service_and_prints_the_first_password(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "served.sqlite3"
    env = {**os.environ, "MADOGUCHI_LOG_LEVEL": "warning", "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7"}
    args = [str(MADOGUCHI), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=PROJECT_DIR, env=env, stdout=out, stderr=out)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, log)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/desks").json()["desks"][0]["key"] == (
            "general"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "created the account 'admin' with the password" in log.read_text()
    assert (tmp_path / "madoguchi.key").stat().st_mode & 0o777 == 0o600


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)  # polling a subprocess' readiness, not waiting on behaviour
    raise AssertionError(f"serve never became healthy:\n{log.read_text()}")


def test_backup_purge_and_rotate_key_on_a_real_database(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    assert (
        madoguchi("add-user", "mika", "--role", "admin", stdin=f"{PASSWORD}\n", db=db).returncode
        == 0
    )
    copy = tmp_path / "copy.sqlite3"
    backed = madoguchi("backup", str(copy), db=db)
    assert backed.returncode == 0, backed.stderr
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT username FROM user").fetchall() == [("mika",)]
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    purged = madoguchi("purge", db=db)
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.startswith("purged 0 conversations")
    key_file = tmp_path / "madoguchi.key"
    load_keys("", key_file, create=True)
    before = key_file.read_bytes()
    rotated = madoguchi("rotate-key", db=db)
    assert rotated.returncode == 0, rotated.stderr
    assert key_file.read_bytes() != before
    assert madoguchi("purge", db=tmp_path / "missing.sqlite3").returncode != 0


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
    execute(
        server,
        "INSERT INTO partner (key, name, created_at) VALUES ('library', '図書館', '2026-01-01')",
    )
    await eventually_connects(server, "library", expect=True)
    execute(server, "UPDATE partner SET enabled = 0 WHERE key = 'library'")
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
