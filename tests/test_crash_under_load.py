"""Hundreds of live chats writing at once, then SIGKILL: no acknowledged message is lost or
duplicated, and resending everything after the restart stores each message exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support import Client, Server, running_server, visitor

CHATS = 200
MESSAGES_EACH = 8
FAST = {"MADOGUCHI_VISITOR_MESSAGE_RATE": "1000", "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000"}


async def open_chats(server: Server) -> list[tuple[Client, dict[str, Any]]]:
    async def one() -> tuple[Client, dict[str, Any]]:
        guest = await visitor(server, partner="demo")
        return guest, (await guest.call("start", {}))["conversation"]

    return list(await asyncio.gather(*(one() for _ in range(CHATS))))


def body_of(chat: int, n: int) -> str:
    return f"chat {chat} message {n}"


async def test_sigkill_under_load_loses_and_duplicates_nothing_acknowledged() -> None:
    with running_server(env=FAST) as server:
        chats = await open_chats(server)
        acked: dict[tuple[str, str], int] = {}
        enough = asyncio.Event()

        def on_ack(conversation_id: str, cid: str, ack: Any) -> None:
            if ack.get("ok"):
                acked[(conversation_id, cid)] = ack["seq"]
            if len(acked) >= CHATS * MESSAGES_EACH // 3:
                enough.set()

        for n in range(MESSAGES_EACH):
            for i, (guest, conversation) in enumerate(chats):
                cid = f"m{n}"
                await guest.sio.emit(
                    "message",
                    {"client_id": cid, "body": body_of(i, n)},
                    namespace="/visitor",
                    callback=lambda ack, c=conversation["id"], cid=cid: on_ack(c, cid, ack),
                )
        await asyncio.wait_for(enough.wait(), 30)
        server.kill()  # mid-stream: about a third acknowledged, the rest in flight
        snapshot = dict(acked)
        assert len(snapshot) < CHATS * MESSAGES_EACH, "the crash should land mid-stream"
        await asyncio.gather(*(guest.sio.disconnect() for guest, _ in chats))

        server.start()
        stored = {
            (conversation_id, cid): seq
            for conversation_id, cid, seq in server.query(
                "SELECT conversation_id, client_id, seq FROM message WHERE author = 'visitor'"
            )
        }
        for key, seq in snapshot.items():
            assert stored.get(key) == seq, f"acknowledged {key} lost or moved"

        # Every visitor comes back with its token and sends everything again, in order.
        async def resend(i: int, conversation: dict[str, Any]) -> None:
            again = await visitor(server, partner="demo", token=conversation["token"])
            for n in range(MESSAGES_EACH):
                ack = await again.call("message", {"client_id": f"m{n}", "body": body_of(i, n)})
                assert ack["ok"], ack
                key = (conversation["id"], f"m{n}")
                if key in snapshot:
                    assert ack["seq"] == snapshot[key]
            await again.disconnect()

        await asyncio.gather(
            *(resend(i, conversation) for i, (_, conversation) in enumerate(chats))
        )

        rows = server.query(
            "SELECT conversation_id, COUNT(*), COUNT(DISTINCT client_id), MAX(seq) FROM message "
            "WHERE author = 'visitor' GROUP BY conversation_id"
        )
        assert len(rows) == CHATS
        assert all(count == distinct == top == MESSAGES_EACH for _, count, distinct, top in rows)
