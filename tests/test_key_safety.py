"""The key cannot be lost by an ordinary mistake: rotate-key refuses while a server runs on the
database (and a second server refuses too), a key file others can read or a wrong key stops
the start with one clear line, and rotation reports the true count of values it resealed."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from service.crypto import key_id, new_key, parse_keys
from service.db.sealing import SEALED_COLUMNS
from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Client,
    Server,
    client_id,
    counselor,
    login,
    running_server,
    visitor,
)

# The serving lock beside the database file and the key file made there; rotating and a wrong
# key on PostgreSQL are tested in tests/test_cli_postgres.py.
pytestmark = pytest.mark.sqlite_only("the serving lock and the key file of a SQLite database")


def madoguchi(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROJECT_DIR / ".venv" / "bin" / "madoguchi", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def sealed_values(db: Path) -> list[bytes]:
    """Every sealed value as stored (erased ones aside), read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        return [
            value
            for table, key, conversation, column in SEALED_COLUMNS
            for (value,) in conn.execute(
                f"SELECT {column} FROM {table} "  # noqa: S608 (constants)
                f"WHERE {column} IS NOT NULL AND {column} != x'' "
                f"ORDER BY {conversation}, {key}"
            )
        ]
    finally:
        conn.close()


async def open_chat(server: Server) -> tuple[Client, str]:
    """A visitor's conversation, claimed by hana (whose history is read back)."""
    guest = await visitor(server)
    cid = (await guest.call("start", {}))["conversation"]["id"]
    staff = await counselor(server, await login(server, "hana", PASSWORD))
    assert (await staff.call("claim", {"conversation_id": cid}))["ok"]
    await staff.disconnect()
    return guest, cid


async def bodies(server: Server, cid: str) -> list[str]:
    staff = await counselor(server, await login(server, "hana", PASSWORD))
    try:
        ack = await staff.call("history", {"conversation_id": cid})
        return [m["body"] for m in ack["messages"] if m["author"] != "system"]
    finally:
        await staff.disconnect()


def one_line_refusal(server: Server, expected: str) -> str:
    """Start the server expecting it to refuse: a non-zero exit and one line, no traceback."""
    with pytest.raises(RuntimeError, match="exited early"):
        server.start()
    assert server.process is not None and server.process.returncode != 0
    lines = server.logs().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("madoguchi: "), lines
    assert expected in lines[0]
    return lines[0]


async def test_rotate_key_refuses_while_serving_and_counts_what_it_reseals() -> None:
    with running_server() as server:
        server.add_user("hana", PASSWORD)
        guest, cid = await open_chat(server)
        sent = [f"相談 {n}" for n in range(3)]
        for body in sent[:2]:
            assert (await guest.call("message", {"client_id": client_id(), "body": body}))["ok"]
        key_before = server.key_path.read_bytes()
        stored_before = sealed_values(server.db_path)

        refused = madoguchi(server, "rotate-key")
        assert refused.returncode != 0
        assert "in use by a running `madoguchi serve`" in refused.stderr
        assert "nothing was changed" in refused.stderr
        assert "Traceback" not in refused.stderr and refused.stdout == ""
        assert server.key_path.read_bytes() == key_before
        assert sealed_values(server.db_path) == stored_before

        # A second server on the same database refuses as well, with one line.
        second = Server(db_path=server.db_path)
        one_line_refusal(second, "in use by a running")

        # The running server goes on sealing with the key it has: nothing acked is lost.
        assert (await guest.call("message", {"client_id": client_id(), "body": sent[2]}))["ok"]
        assert await bodies(server, cid) == sent
        await guest.disconnect()
        server.stop()

        expected = len(sealed_values(server.db_path))
        assert expected >= len(sent)
        rotated = madoguchi(server, "rotate-key")
        assert rotated.returncode == 0, rotated.stderr
        new_id = key_id(parse_keys(server.key_path.read_text())[0])
        assert rotated.stdout.strip() == f"resealed {expected} values with the key {new_id.hex()}"
        assert [value[1:5] for value in sealed_values(server.db_path)] == [new_id] * expected

        server.start()
        assert await bodies(server, cid) == sent


async def test_a_key_file_others_can_read_or_a_wrong_key_stops_the_start() -> None:
    with running_server() as server:
        server.add_user("hana", PASSWORD)
        guest, cid = await open_chat(server)
        assert (await guest.call("message", {"client_id": client_id(), "body": "鍵"}))["ok"]
        await guest.disconnect()
        server.stop()

        for mode in (0o644, 0o640, 0o604):
            server.key_path.chmod(mode)
            line = one_line_refusal(server, "is open to other accounts")
            assert f"chmod 600 {server.key_path}" in line
        server.key_path.chmod(0o600)

        server.env["MADOGUCHI_ENCRYPTION_KEY"] = new_key()
        one_line_refusal(server, "the encryption key does not match this database")
        server.env["MADOGUCHI_ENCRYPTION_KEY"] = "not-a-key"
        one_line_refusal(server, "not valid base64")
        del server.env["MADOGUCHI_ENCRYPTION_KEY"]

        server.start()  # the right key, private again: everything opens
        assert await bodies(server, cid) == ["鍵"]
