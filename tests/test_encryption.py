"""Encryption at rest: a copy of the database file and its WAL reveals no content; the key is
made once with mode 0600, reused, refused when it did not seal the database, and rotated."""

from __future__ import annotations

import stat
import subprocess
import sys
import uuid
from typing import Any

import pytest

from service.crypto import Sealer, SealError, new_key, parse_keys
from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Clients,
    Server,
    client_id,
    counselor,
    login,
    running_server,
    stored_bytes,
    visitor,
)


def marker(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex[:12]}-秘密"


async def test_nothing_anybody_wrote_is_readable_in_the_database_or_its_wal(
    server: Server, clients: Clients
) -> None:
    words = {k: marker(k) for k in ("visitor", "counselor", "note", "summary", "word", "survey")}
    hana = await clients.counselor(await login(server, "hana", PASSWORD))
    guest = await clients.visitor()
    conversation = (await guest.call("start", {}))["conversation"]
    cid = conversation["id"]
    assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
    assert (await guest.call("code_word", {"word": words["word"]}))["ok"]
    say = {"client_id": client_id(), "body": words["visitor"]}
    assert (await guest.call("message", say))["ok"]
    reply = {"conversation_id": cid, "client_id": client_id(), "body": words["counselor"]}
    assert (await hana.call("message", reply))["ok"]
    assert (await hana.call("note", {"conversation_id": cid, "body": words["note"]}))["ok"]
    summary = {"conversation_id": cid, "summary": words["summary"]}
    assert (await hana.call("summary", summary))["ok"]
    assert (await guest.call("leave", {}))["ok"]
    assert (await guest.call("survey", {"rating": 5, "comment": words["survey"]}))["ok"]

    stored = stored_bytes(server)
    assert cid.encode() in stored  # the check reads where the data is
    for word in words.values():
        assert word.encode() not in stored
        assert word.encode("utf-16-le") not in stored

    # ... while the service reads them back as they were written.
    case = (await hana.call("case", {"conversation_id": cid}))["case"]
    assert case["code_word"] == words["word"] and case["summary"] == words["summary"]
    assert [n["body"] for n in case["notes"]] == [words["note"]]
    history = await hana.call("history", {"conversation_id": cid})
    assert [words["visitor"], words["counselor"]] == [
        m["body"] for m in history["messages"] if m["author"] != "system"
    ]


def test_a_ciphertext_opens_only_with_its_key_column_and_conversation() -> None:
    sealer = Sealer(parse_keys(new_key()))
    blob = sealer.seal("本文", "message.body:a")
    assert sealer.open(blob, "message.body:a") == "本文"
    for aad in ("message.body:b", "note.body:a"):
        with pytest.raises(SealError):
            sealer.open(blob, aad)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealError):
        sealer.open(tampered, "message.body:a")
    with pytest.raises(SealError):
        Sealer(parse_keys(new_key())).open(blob, "message.body:a")
    assert sealer.seal("本文", "x") != sealer.seal("本文", "x")  # a fresh nonce each time
    assert sealer.lookup("さくら") == sealer.lookup("さくら") != sealer.lookup("さくら ")


def madoguchi(server: Server, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        check=False,
    )


async def history_of(server: Server, cookie: str, cid: str) -> list[Any]:
    staff = await counselor(server, cookie)
    try:
        ack = await staff.call("history", {"conversation_id": cid})
        return [m["body"] for m in ack["messages"] if m["author"] != "system"]
    finally:
        await staff.disconnect()


@pytest.mark.sqlite_only(
    "the key file made beside the database file; nodes on PostgreSQL get the key in the environment"
)
async def test_the_key_file_is_private_reused_checked_and_rotated() -> None:
    with running_server() as server:
        key_file = server.db_path.with_name("madoguchi.key")
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first_key = key_file.read_text()
        server.add_user("hana", PASSWORD, role="counselor")
        cookie = await login(server, "hana", PASSWORD)
        staff = await counselor(server, cookie)
        guest = await visitor(server)
        cid = (await guest.call("start", {}))["conversation"]["id"]
        assert (await staff.call("claim", {"conversation_id": cid}))["ok"]
        await staff.disconnect()
        assert (await guest.call("message", {"client_id": client_id(), "body": "一通目"}))["ok"]
        await guest.disconnect()

        server.stop()
        server.start()  # the same key, so the same content
        assert key_file.read_text() == first_key
        cookie = await login(server, "hana", PASSWORD)
        assert await history_of(server, cookie, cid) == ["一通目"]
        server.stop()

        # Another key did not seal this database: the service refuses to start with it.
        server.env["MADOGUCHI_ENCRYPTION_KEY"] = new_key()
        with pytest.raises(RuntimeError, match="does not match"):
            server.start()
        del server.env["MADOGUCHI_ENCRYPTION_KEY"]

        rotated = madoguchi(server, "rotate-key")
        assert rotated.returncode == 0, rotated.stderr
        assert key_file.read_text() != first_key and len(key_file.read_text().split()) == 1
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        server.start()
        cookie = await login(server, "hana", PASSWORD)
        assert await history_of(server, cookie, cid) == ["一通目"]
        server.stop()

        # The old key opens nothing any more.
        server.env["MADOGUCHI_ENCRYPTION_KEY"] = first_key.strip()
        with pytest.raises(RuntimeError, match="does not match"):
            server.start()
