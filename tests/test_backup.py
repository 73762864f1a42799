"""``madoguchi backup PATH`` copies the database while the service runs; the copy, with the
key, restores every acknowledged message, and holds no readable content without it."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Server,
    client_id,
    counselor,
    login,
    running_server,
    visitor,
)

pytestmark = pytest.mark.sqlite_only(
    "the SQLite backup file (PostgreSQL: test_pg_backup.py, test_cli_postgres.py)"
)


async def test_a_backup_taken_while_serving_restores_every_acked_message() -> None:
    with running_server() as server:
        server.add_user("hana", PASSWORD, role="counselor")
        staff = await counselor(server, await login(server, "hana", PASSWORD))
        guest = await visitor(server)
        cid = (await guest.call("start", {}))["conversation"]["id"]
        assert (await staff.call("claim", {"conversation_id": cid}))["ok"]
        await staff.disconnect()
        bodies = [f"バックアップ前 {n}" for n in range(20)]
        for body in bodies:
            assert (await guest.call("message", {"client_id": client_id(), "body": body}))["ok"]

        target = server.db_path.parent / "copies" / "backup.sqlite3"
        done = subprocess.run(
            [sys.executable, "-m", "service", "backup", str(target)],
            cwd=PROJECT_DIR,
            env=server.environment(),
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        # The service kept serving during and after the copy.
        assert (await guest.call("message", {"client_id": client_id(), "body": "後"}))["ok"]
        await guest.disconnect()
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert not target.with_name(target.name + "-wal").exists()
        assert "バックアップ前".encode() not in target.read_bytes()
        server.stop()

        # Restore: the copy in place of the database, with the same key.
        restored = Server(
            db_path=server.db_path.parent / "restored" / "madoguchi.sqlite3",
            env={"MADOGUCHI_KEY_FILE": str(server.db_path.with_name("madoguchi.key"))},
        )
        restored.db_path.parent.mkdir()
        shutil.copyfile(target, restored.db_path)
        restored.start()
        try:
            staff = await counselor(restored, await login(restored, "hana", PASSWORD))
            history = await staff.call("history", {"conversation_id": cid})
            await staff.disconnect()
            said = [m["body"] for m in history["messages"] if m["author"] == "visitor"]
            assert said == bodies  # and not the message sent after the copy
        finally:
            restored.stop()


def test_backup_of_a_missing_database_fails_cleanly(tmp_path: Path) -> None:
    server = Server(db_path=tmp_path / "none.sqlite3")
    done = subprocess.run(
        [sys.executable, "-m", "service", "backup", str(tmp_path / "copy.sqlite3")],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        check=False,
    )
    assert done.returncode != 0 and b"no database" in done.stderr
