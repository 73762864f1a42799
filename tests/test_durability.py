"""Nothing acknowledged is ever lost, and a retry never duplicates.

The server is killed with SIGKILL (no shutdown code runs) while messages are in flight, then
started again on the same database file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.support import Client, Server, counselor, login, running_server, visitor

# Enough headroom that the burst below is never rate limited: this test is about durability.
FAST = {"MADOGUCHI_VISITOR_MESSAGE_RATE": "1000", "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000"}


@pytest.fixture
def crashable() -> Iterator[Server]:
    with running_server(env=FAST) as srv:
        srv.add_user("hana", PASSWORD, display_name="花子")
        yield srv


def stored_messages(server: Server, conversation_id: str) -> list[tuple[int, str, str]]:
    return [
        (seq, author, client_id)
        for seq, author, client_id in server.query(
            "SELECT seq, author, client_id FROM message WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
    ]


async def send_without_waiting(
    client: Client, bodies: dict[str, str], some_acked: asyncio.Event, enough: int
) -> dict[str, Any]:
    """Emit every message at once; collect the acks that arrive before the crash."""
    acks: dict[str, Any] = {}

    def on_ack(cid: str, ack: Any) -> None:
        acks[cid] = ack
        if len(acks) >= enough:
            some_acked.set()

    for cid, body in bodies.items():
        await client.sio.emit(
            "message",
            {"client_id": cid, "body": body},
            namespace="/visitor",
            callback=lambda ack, cid=cid: on_ack(cid, ack),
        )
    return acks


async def test_sigkill_mid_burst_loses_no_acked_message_and_retries_store_one_copy(
    crashable: Server,
) -> None:
    guest = await visitor(crashable, partner="demo")
    conversation = (await guest.call("start", {}))["conversation"]
    hana = await counselor(crashable, await login(crashable, "hana", PASSWORD))
    assert (await hana.call("claim", {"conversation_id": conversation["id"]}))["ok"]

    bodies = {f"m{i:03d}": f"メッセージ {i}" for i in range(300)}
    some_acked = asyncio.Event()
    acks = await send_without_waiting(guest, bodies, some_acked, enough=20)
    # Kill as soon as some, but not all, messages are acknowledged.
    await asyncio.wait_for(some_acked.wait(), 10)
    crashable.kill()
    acked = {cid: ack for cid, ack in acks.items() if ack["ok"]}
    assert 20 <= len(acked) < len(bodies), "the crash should land mid-burst"
    await guest.sio.disconnect()
    await hana.sio.disconnect()

    crashable.start()
    stored = stored_messages(crashable, conversation["id"])
    by_client_id = {cid: seq for seq, author, cid in stored if author == "visitor"}
    for cid, ack in acked.items():
        assert by_client_id[cid] == ack["seq"], f"acked {cid} must survive with its seq"
    seqs = [seq for seq, _, _ in stored]
    assert seqs == list(range(1, len(seqs) + 1)), "seq stays gapless across the crash"

    # The visitor resumes with its token and resends everything that was not acknowledged,
    # and, to be sure, everything that was.
    resumed = await visitor(crashable, partner="demo", token=conversation["token"])
    for cid, body in bodies.items():
        ack = await resumed.call("message", {"client_id": cid, "body": body})
        assert ack["ok"], ack
        if cid in acked:
            assert ack["seq"] == acked[cid]["seq"]
    for cid, body in list(bodies.items())[:50]:  # and a second retry changes nothing
        await resumed.call("message", {"client_id": cid, "body": body})

    stored = stored_messages(crashable, conversation["id"])
    visitor_rows = [cid for _, author, cid in stored if author == "visitor"]
    assert sorted(visitor_rows) == sorted(bodies), "each message stored exactly once"
    history = await resumed.call("history", {"after_seq": 0})
    assert [m["seq"] for m in history["messages"]] == list(range(1, len(stored) + 1))
    await resumed.disconnect()


async def test_a_conversation_survives_a_restart_and_both_sides_resume(crashable: Server) -> None:
    guest = await visitor(crashable, partner="demo")
    conversation = (await guest.call("start", {}))["conversation"]
    hana = await counselor(crashable, await login(crashable, "hana", PASSWORD))
    await hana.call("claim", {"conversation_id": conversation["id"]})
    first = await guest.call("message", {"client_id": "before-crash", "body": "助けて"})
    crashable.kill()
    await guest.sio.disconnect()
    await hana.sio.disconnect()

    crashable.start()
    guest = await visitor(crashable, partner="demo", token=conversation["token"])
    hana = await counselor(crashable, await login(crashable, "hana", PASSWORD))
    # The counselor still holds the conversation and receives what the visitor writes next.
    later = await guest.call("message", {"client_id": "after-crash", "body": "まだいますか"})
    got = await hana.wait_for("message", lambda m: m["seq"] == later["seq"])
    assert got["body"] == "まだいますか"
    history = await hana.call(
        "history", {"conversation_id": conversation["id"], "after_seq": first["seq"] - 1}
    )
    assert [m["body"] for m in history["messages"]][:1] == ["助けて"]
    await guest.disconnect()
    await hana.disconnect()
