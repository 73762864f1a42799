"""Retention: content is erased some days after a conversation closed, really (no copy left in
the database file, its WAL or free pages), by ``madoguchi purge`` and at every start; the
reports count the same afterwards and the purge is audited without content."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest

from service.config import Settings
from service.domain.retention import purge_cutoff
from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Clients,
    Server,
    client_id,
    execute,
    login,
    login_sync,
    running_server,
    stored_bytes,
)

LONG_AGO = "2020-01-01T00:00:00.000Z"
# Two message bodies, no note, no summary, code word or its hash, the survey's rating only.
ERASED = [(b"",), (b"",), (0,), (None, None, None), (None, 4)]
SEALED = (
    "SELECT body FROM message WHERE conversation_id = ? AND author != 'system' "
    "UNION ALL SELECT body FROM note WHERE conversation_id = ? "
    "UNION ALL SELECT summary FROM conversation WHERE id = ? "
    "UNION ALL SELECT code_word FROM conversation WHERE id = ? "
    "UNION ALL SELECT comment FROM survey WHERE conversation_id = ?"
)


def test_the_cutoff_is_the_retention_period_before_now() -> None:
    now = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    assert purge_cutoff(now, 90) == "2026-01-01T12:00:00.000Z"
    with pytest.raises(ValueError, match="at least one day"):
        purge_cutoff(now, 0)
    with pytest.raises(ValueError, match="RETENTION_DAYS"):
        Settings(retention_days=0)


def ciphertexts(server: Server, cid: str) -> list[bytes]:
    """The raw sealed values, as a stolen disk would hold them."""
    blobs = [r[0] for r in server.query(SEALED, (cid,) * 5, sealed=True)]
    assert all(isinstance(b, bytes) and len(b) > 16 for b in blobs)
    return blobs


async def consult(clients: Clients, cookie: str) -> str:
    """A whole conversation with every kind of content, closed by the visitor."""
    hana = await clients.counselor(cookie)
    guest = await clients.visitor()
    cid: str = (await guest.call("start", {}))["conversation"]["id"]
    assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
    assert (await guest.call("code_word", {"word": f"合言葉{cid[:6]}"}))["ok"]
    assert (await guest.call("message", {"client_id": client_id(), "body": "相談の本文"}))["ok"]
    reply = {"conversation_id": cid, "client_id": client_id(), "body": "返信の本文"}
    assert (await hana.call("message", reply))["ok"]
    assert (await hana.call("note", {"conversation_id": cid, "body": "内部メモ"}))["ok"]
    assert (await hana.call("summary", {"conversation_id": cid, "summary": "引継ぎ"}))["ok"]
    assert (await guest.call("leave", {}))["ok"]
    assert (await guest.call("survey", {"rating": 4, "comment": "感想"}))["ok"]
    return cid


def report_csv(server: Server, session: str) -> str:
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        response = http.get("/admin/reports.csv", params={"from": "2019-12", "to": "2020-02"})
    assert response.status_code == 200
    return response.text


def content_of(server: Server, cid: str) -> list[tuple[object, ...]]:
    one = (cid,)
    return [
        *server.query(
            "SELECT body FROM message WHERE conversation_id = ? AND author != 'system' "
            "ORDER BY seq",
            one,
        ),
        *server.query("SELECT COUNT(*) FROM note WHERE conversation_id = ?", one),
        *server.query(
            "SELECT summary, code_word, code_word_mac FROM conversation WHERE id = ?", one
        ),
        *server.query("SELECT comment, rating FROM survey WHERE conversation_id = ?", one),
    ]


def madoguchi_purge(server: Server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "purge"],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        check=False,
        text=True,
    )


async def test_purge_erases_content_of_old_conversations_for_good_and_reports_stay() -> None:
    with running_server({"MADOGUCHI_VISITOR_GONE_MINUTES": "0"}) as server:
        server.add_user("hana", PASSWORD, role="counselor")
        server.add_user("mori", PASSWORD, role="supervisor")
        cookie = await login(server, "hana", PASSWORD)
        clients = Clients(server)
        try:
            old, recent, later = [await consult(clients, cookie) for _ in range(3)]
        finally:
            await clients.close()
        # "old" and "later" closed long ago (reports see them in January 2020), "recent" not.
        for cid in (old, later):
            execute(
                server,
                "UPDATE conversation SET created_at = ?, claimed_at = ?, closed_at = ? "
                "WHERE id = ?",
                (LONG_AGO, LONG_AGO, LONG_AGO, cid),
            )
        sealed = ciphertexts(server, old)
        assert all(blob in stored_bytes(server) for blob in sealed)  # the check sees them
        intact = content_of(server, recent)
        supervisor = login_sync(server, "mori", PASSWORD)
        before = report_csv(server, supervisor)

        done = madoguchi_purge(server)
        assert done.returncode == 0, done.stderr
        assert "purged 2 conversations" in done.stdout
        assert "本文" not in done.stdout + done.stderr

        stored = stored_bytes(server)
        assert old.encode() in stored
        for blob in sealed:
            assert blob not in stored
        # SQLite's WAL is emptied; PostgreSQL recycles its WAL segments on its own schedule.
        if not server.database_url:
            assert server.db_path.with_name(server.db_path.name + "-wal").stat().st_size == 0
        for cid in (old, later):
            assert content_of(server, cid) == ERASED
        assert content_of(server, recent) == intact
        assert report_csv(server, supervisor) == before
        assert "2020-01,total,all,2," in before

        audit = server.query(
            "SELECT actor, target, detail FROM audit_log WHERE action = 'retention.purge'"
        )
        assert audit == [("cli", "conversations", audit[0][2])]
        assert '"count": 2' in audit[0][2] and "本文" not in audit[0][2]
        again = madoguchi_purge(server)
        assert "purged 0 conversations" in again.stdout

        # The service purges at start too, without a VACUUM: secure_delete zeroes the freed
        # space and the checkpoint empties the WAL. On PostgreSQL a plain VACUUM removes every
        # row version that held them, but leaves their bytes in the pages' free space until
        # new rows overwrite it or `madoguchi purge` rewrites the tables.
        server.stop()
        execute(server, "UPDATE conversation SET closed_at = ? WHERE id = ?", (LONG_AGO, recent))
        sealed = ciphertexts(server, recent)
        server.start()
        stored = stored_bytes(server, free_space=not server.database_url)
        for blob in sealed:
            assert blob not in stored
        assert content_of(server, recent) == ERASED
        actors = server.query("SELECT actor FROM audit_log WHERE action = 'retention.purge'")
        assert actors == [("cli",), ("system",)]
