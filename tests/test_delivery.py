"""Every acknowledged message reaches the other side's screen.

A retry of a message whose first try was committed but neither delivered nor answered (what a
crash between the commit and the delivery leaves) is delivered again and answered with the
first try's ``seq``, and stores nothing new. Clients ignore a ``seq`` they already have.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.clock import now_iso
from tests.support import Client, Clients, Server, client_id, execute


def commit_behind_the_server(
    server: Server, conversation_id: str, author: str, user_id: int | None, cid: str, body: str
) -> int:
    """Commit a message as the server would have before a crash kept it from answering; its
    ``seq``. The body is sealed with the server's key, as the server seals it."""
    sealed = server.sealer().seal(body, f"message.body:{conversation_id}")
    execute(
        server,
        "INSERT INTO message (conversation_id, seq, author, user_id, client_id, body, created_at)"
        " SELECT id, last_seq + 1, ?, ?, ?, ?, ? FROM conversation WHERE id = ?",
        (author, user_id, cid, sealed, now_iso(), conversation_id),
    )
    [(seq,)] = server.query(
        "SELECT seq FROM message WHERE conversation_id = ? AND author = ? AND client_id = ?",
        (conversation_id, author, cid),
    )
    return int(seq)


async def held_chat(clients: Clients, hana_session: str) -> tuple[Client, Client, Client, str]:
    """A chat hana holds: (the visitor, their second tab, hana, the conversation id)."""
    guest = await clients.visitor(partner="demo")
    started = (await guest.call("start", {}))["conversation"]
    hana = await clients.counselor(hana_session)
    assert (await hana.call("claim", {"conversation_id": started["id"]}))["ok"]
    second_tab = await clients.visitor(token=started["token"])
    return guest, second_tab, hana, started["id"]


def payload(author: str, conversation_id: str, cid: str, body: str) -> dict[str, Any]:
    fields = {"client_id": cid, "body": body}
    return fields if author == "visitor" else {"conversation_id": conversation_id, **fields}


@pytest.mark.parametrize("author", ["visitor", "counselor"])
async def test_a_retry_of_a_committed_but_unanswered_message_reaches_the_other_side(
    server: Server, clients: Clients, hana_session: str, author: str
) -> None:
    guest, second_tab, hana, conversation_id = await held_chat(clients, hana_session)
    [(hana_id,)] = server.query("SELECT id FROM user WHERE username = 'hana'")
    cid, body = client_id(), "届いていますか"
    first_seq = commit_behind_the_server(
        server, conversation_id, author, hana_id if author == "counselor" else None, cid, body
    )

    sender, other_side = (guest, hana) if author == "visitor" else (hana, guest)
    ack = await sender.call("message", payload(author, conversation_id, cid, body))
    assert ack["ok"] is True and ack["seq"] == first_seq, ack

    delivered = await other_side.wait_for("message", lambda m: ours(m, conversation_id, first_seq))
    assert delivered["body"] == body and delivered["author"] == author
    assert "client_id" not in delivered, "a client_id goes only to its author's side"
    if author == "visitor":
        # The visitor's other tab learns of it too, with the client_id it de-duplicates by.
        mine = await second_tab.wait_for("message", lambda m: ours(m, conversation_id, first_seq))
        assert mine["client_id"] == cid
    rows = server.query(
        "SELECT seq FROM message WHERE conversation_id = ? AND client_id = ?",
        (conversation_id, cid),
    )
    assert rows == [(first_seq,)], "the retry stored nothing"


async def test_each_message_reaches_every_other_socket_once_in_order(
    clients: Clients, hana_session: str
) -> None:
    guest, second_tab, hana, conversation_id = await held_chat(clients, hana_session)
    acks = [
        await guest.call("message", {"client_id": client_id(), "body": f"#{i}"}) for i in range(3)
    ]
    seqs = [ack["seq"] for ack in acks]
    for side in (hana, second_tab):
        await side.wait_for("message", lambda m: ours(m, conversation_id, seqs[-1]))
        got = [
            m["seq"]
            for m in side.received("message")
            if m["conversation_id"] == conversation_id and m["author"] == "visitor"
        ]
        assert got == seqs
    assert not [m for m in guest.received("message") if m["seq"] in seqs], "it has its acks"


def ours(message: dict[str, Any], conversation_id: str, seq: int) -> bool:
    return bool(message["conversation_id"] == conversation_id and message["seq"] == seq)
