"""A conversation's messages are stored and delivered in the order they were sent, even though
clients send without waiting and many conversations write at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.conftest import PASSWORD
from tests.support import Client, Server, client_id, counselor, login, running_server, visitor

FAST = {
    "MADOGUCHI_VISITOR_MESSAGE_RATE": "1000",
    "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000",
    "MADOGUCHI_COUNSELOR_MESSAGE_RATE": "1000",
    "MADOGUCHI_COUNSELOR_MESSAGE_BURST": "1000",
}


@pytest.fixture(scope="module")
def busy_server() -> Iterator[Server]:
    with running_server(env=FAST) as srv:
        srv.add_user("hana", PASSWORD, display_name="花子")
        yield srv


async def claimed_pair(server: Server, transport: str) -> tuple[Client, Client, str]:
    guest = await visitor(server, transport, partner="demo")
    conversation_id = (await guest.call("start", {}))["conversation"]["id"]
    hana = await counselor(server, await login(server, "hana", PASSWORD), transport)
    assert (await hana.call("claim", {"conversation_id": conversation_id}))["ok"]
    return guest, hana, conversation_id


@pytest.mark.parametrize("author", ["visitor", "counselor"])
async def test_messages_sent_back_to_back_are_stored_and_delivered_in_send_order(
    busy_server: Server, transport: str, author: str
) -> None:
    guest, hana, conversation_id = await claimed_pair(busy_server, transport)
    sender, receiver = (guest, hana) if author == "visitor" else (hana, guest)
    to = {} if author == "visitor" else {"conversation_id": conversation_id}
    bodies = [f"#{i}" for i in range(200)]
    acks = []
    # All at once over a WebSocket. Over polling, waves of 12: Engine.IO refuses a polling
    # request carrying more than 16 packets (its defence against the kill-engine-io attack).
    size = len(bodies) if transport == "websocket" else 12
    for wave in range(0, len(bodies), size):
        acks += await asyncio.gather(
            *(
                sender.call("message", {**to, "client_id": client_id(), "body": b})
                for b in bodies[wave : wave + size]
            )
        )
    assert all(ack["ok"] for ack in acks)

    stored = busy_server.query(
        "SELECT body FROM message WHERE conversation_id = ? AND author = ? ORDER BY seq",
        (conversation_id, author),
    )
    assert [body for (body,) in stored] == bodies
    assert [ack["seq"] for ack in acks] == sorted(ack["seq"] for ack in acks)

    last = acks[-1]["seq"]
    await receiver.wait_for("message", lambda m: m["seq"] == last)
    delivered = [m["body"] for m in receiver.received("message") if m["author"] == author]
    assert delivered == bodies
    await guest.disconnect()
    await hana.disconnect()


async def test_many_conversations_writing_at_once_each_keep_a_gapless_sequence(
    busy_server: Server,
) -> None:
    pairs = [await claimed_pair(busy_server, "websocket") for _ in range(8)]

    async def chat(guest: Client, hana: Client, conversation_id: str) -> None:
        for i in range(25):
            await asyncio.gather(
                guest.call("message", {"client_id": client_id(), "body": f"v{i}"}),
                hana.call(
                    "message",
                    {"conversation_id": conversation_id, "client_id": client_id(), "body": f"c{i}"},
                ),
            )

    await asyncio.gather(*(chat(*pair) for pair in pairs))
    for guest, hana, conversation_id in pairs:
        seqs = [
            seq
            for (seq,) in busy_server.query(
                "SELECT seq FROM message WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            )
        ]
        assert seqs == list(range(1, 52))  # the join notice + 25 + 25
        await guest.disconnect()
        await hana.disconnect()
