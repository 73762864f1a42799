"""The ``/counselor`` namespace as the protocol defines it: who may connect, the live queue,
claiming, answering and closing, and what of the counselor a visitor gets to see."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    login_sync,
    logout_sync,
    refusal,
)

EVIL = "https://evil.example"


def user_id(server: Server, username: str) -> int:
    return int(server.query("SELECT id FROM user WHERE username = ?", (username,))[0][0])


def conversation_state(server: Server, conversation_id: str) -> tuple[Any, ...]:
    """(status, holder's username, outcome, closed_by)."""
    [row] = server.query(
        "SELECT c.status, u.username, c.outcome, c.closed_by FROM conversation AS c "
        "LEFT JOIN user AS u ON u.id = c.counselor_id WHERE c.id = ?",
        (conversation_id,),
    )
    return row


def in_queue(conversation_id: str) -> Any:
    return lambda q: any(c["id"] == conversation_id for c in q["conversations"])


def queue_item(queue: dict[str, Any], conversation_id: str) -> dict[str, Any] | None:
    return next((c for c in queue["conversations"] if c["id"] == conversation_id), None)


async def waiting_visitor(clients: Clients, transport: str = "websocket") -> tuple[Client, str]:
    visitor = await clients.visitor(transport)
    ack = await visitor.call("start", {})
    assert ack["ok"], ack
    return visitor, ack["conversation"]["id"]


# -- connect ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cookie", ["none", "garbage", "overlong", "logged-out"])
async def test_a_counselor_socket_needs_a_live_session_cookie(
    server: Server, transport: str, cookie: str
) -> None:
    headers = {}
    if cookie == "garbage":
        headers["Cookie"] = "mg_session=not-a-session"
    elif cookie == "overlong":
        headers["Cookie"] = "mg_session=" + "A" * 4000
    elif cookie == "logged-out":
        session = login_sync(server, "hana", PASSWORD)
        logout_sync(server, session)
        headers["Cookie"] = f"mg_session={session}"

    refused = await refusal(server, "/counselor", transport=transport, headers=headers)

    assert refused == {"code": "unauthorized"}


async def test_a_valid_cookie_from_a_foreign_origin_is_refused(
    server: Server, clients: Clients, hana_session: str, transport: str
) -> None:
    cookie = {"Cookie": f"mg_session={hana_session}"}
    refused = await refusal(
        server, "/counselor", transport=transport, headers={**cookie, "Origin": EVIL}
    )
    assert refused == {"code": "origin_not_allowed"}
    # The same cookie from the inbox's own origin is let in.
    inbox = await clients.counselor(hana_session, transport, headers={"Origin": server.url})
    await inbox.wait_for_queue()


async def test_a_visitor_token_does_not_open_the_counselor_namespace(
    server: Server, clients: Clients
) -> None:
    visitor, _ = await waiting_visitor(clients)
    token = (await visitor.call("start", {}))["conversation"]["token"]
    refused = await refusal(
        server, "/counselor", auth={"token": token}, headers={"Cookie": f"mg_session={token}"}
    )
    assert refused == {"code": "unauthorized"}


# -- the queue ----------------------------------------------------------------------------------


async def test_the_queue_arrives_on_connect_and_follows_start_claim_and_close(
    clients: Clients, hana_session: str, ren_session: str, transport: str
) -> None:
    hana = await clients.counselor(hana_session, transport)
    ren = await clients.counselor(ren_session)
    first = await hana.wait_for_queue()
    assert isinstance(first["conversations"], list)

    _, conversation_id = await waiting_visitor(clients)
    waiting = queue_item(await hana.wait_for_queue(in_queue(conversation_id)), conversation_id)
    assert waiting is not None
    assert waiting["status"] == "waiting" and waiting["desk"] == "general"
    assert waiting["lang"] == "ja" and waiting["urgent"] is False
    assert isinstance(waiting["source"], str) and isinstance(waiting["waiting_since"], str)
    assert "counselor" not in waiting

    assert (await hana.call("claim", {"conversation_id": conversation_id}))["ok"]

    def claimed(q: dict[str, Any]) -> bool:
        item = queue_item(q, conversation_id)
        return item is not None and item["status"] == "active"

    for counselor, mine in ((hana, True), (ren, False)):
        active = queue_item(await counselor.wait_for_queue(claimed), conversation_id)
        assert active is not None and active["counselor"] == "花子"
        assert active["mine"] is mine

    closed = await hana.call("close", {"conversation_id": conversation_id, "outcome": "resolved"})
    assert closed == {"ok": True}

    for counselor in (hana, ren):
        await counselor.wait_for_queue(lambda q: queue_item(q, conversation_id) is None)
        # After connect, only updates: one per change, never the whole queue again.
        assert len(counselor.received("queue")) == 1
        assert counselor.received("queue_update")[-1] == {
            "id": conversation_id,
            "conversation": None,
        }


# -- claiming -----------------------------------------------------------------------------------


async def test_of_two_simultaneous_claims_exactly_one_wins(
    server: Server, clients: Clients, hana_session: str, ren_session: str, transport: str
) -> None:
    hana = await clients.counselor(hana_session, transport)
    ren = await clients.counselor(ren_session)
    for _ in range(3):
        visitor, conversation_id = await waiting_visitor(clients)
        claim = {"conversation_id": conversation_id}

        by_hana, by_ren = await asyncio.gather(hana.call("claim", claim), ren.call("claim", claim))

        winners = [name for name, ack in (("hana", by_hana), ("ren", by_ren)) if ack["ok"]]
        assert len(winners) == 1, (by_hana, by_ren)
        loser = by_ren if winners == ["hana"] else by_hana
        assert_error(loser, "already_claimed")
        assert conversation_state(server, conversation_id)[:2] == ("active", winners[0])
        system = server.query(  # bodies are sealed: the query opens them
            "SELECT body FROM message WHERE conversation_id = ? AND author = 'system'",
            (conversation_id,),
        )
        assert system.count(("counselor_joined",)) == 1
        status = await visitor.wait_for("status", lambda s: s["status"] == "active")
        assert status["counselor"] == {"hana": "花子", "ren": "蓮"}[winners[0]]


async def test_claiming_a_conversation_already_taken_or_closed_is_refused(
    server: Server, clients: Clients, hana_session: str, ren_session: str
) -> None:
    hana = await clients.counselor(hana_session)
    ren = await clients.counselor(ren_session)
    _, conversation_id = await waiting_visitor(clients)
    claim = {"conversation_id": conversation_id}
    assert (await hana.call("claim", claim))["ok"]
    assert_error(await ren.call("claim", claim), "already_claimed")
    assert_error(await hana.call("claim", claim), "already_claimed")
    await hana.call("close", {**claim, "outcome": "resolved"})
    assert_error(await ren.call("claim", claim), "conversation_closed")
    assert conversation_state(server, conversation_id)[:2] == ("closed", "hana")


# -- answering and closing ----------------------------------------------------------------------


async def test_counselor_messages_reach_the_visitor(
    server: Server, clients: Clients, hana_session: str, transport: str
) -> None:
    visitor, conversation_id = await waiting_visitor(clients, transport)
    hana = await clients.counselor(hana_session)
    await hana.call("claim", {"conversation_id": conversation_id})
    sent = client_id()

    ack = await hana.call(
        "message",
        {
            "conversation_id": conversation_id,
            "client_id": sent,
            "body": "  こんにちは、花子です。 ",
        },
    )

    assert ack == {"ok": True, "seq": 2, "created_at": ack["created_at"]}  # 1: counselor_joined
    got = await visitor.wait_for("message", lambda m: m["seq"] == ack["seq"])
    assert got == {
        "conversation_id": conversation_id,
        "seq": 2,
        "author": "counselor",
        "body": "こんにちは、花子です。",
        "created_at": ack["created_at"],
    }
    assert server.query(
        "SELECT author, user_id, client_id, body FROM message "
        "WHERE conversation_id = ? AND seq = 2",
        (conversation_id,),
    ) == [("counselor", user_id(server, "hana"), sent, "こんにちは、花子です。")]
    again = await hana.call(
        "message", {"conversation_id": conversation_id, "client_id": sent, "body": "重複"}
    )
    assert again == ack


async def test_counselor_history_carries_the_conversation_and_its_status(
    clients: Clients, hana_session: str
) -> None:
    visitor, conversation_id = await waiting_visitor(clients)
    await visitor.call("message", {"client_id": client_id(), "body": "一通目"})
    hana = await clients.counselor(hana_session)
    await hana.call("claim", {"conversation_id": conversation_id})
    mine = client_id()
    await hana.call(
        "message", {"conversation_id": conversation_id, "client_id": mine, "body": "はい"}
    )

    history = await hana.call("history", {"conversation_id": conversation_id, "after_seq": 0})

    assert history["ok"] and history["conversation_id"] == conversation_id
    assert history["status"] == "active" and history["more"] is False
    assert [(m["seq"], m["author"], m["body"]) for m in history["messages"]] == [
        (1, "visitor", "一通目"),
        (2, "system", "counselor_joined"),
        (3, "counselor", "はい"),
    ]
    # client_id only on the counselor's own messages (their other tabs de-duplicate with it).
    assert [m.get("client_id") for m in history["messages"]] == [None, None, mine]
    paged = await hana.call(
        "history", {"conversation_id": conversation_id, "after_seq": 1, "limit": 1}
    )
    assert [m["seq"] for m in paged["messages"]] == [2] and paged["more"] is True


@pytest.mark.parametrize("outcome", ["resolved", "referred_phone", "no_reply"])
async def test_closing_with_an_outcome_ends_the_conversation_for_both_sides(
    server: Server, clients: Clients, hana_session: str, outcome: str
) -> None:
    visitor, conversation_id = await waiting_visitor(clients)
    hana = await clients.counselor(hana_session)
    await hana.call("claim", {"conversation_id": conversation_id})

    closed = await hana.call("close", {"conversation_id": conversation_id, "outcome": outcome})

    assert closed == {"ok": True}
    assert await visitor.wait_for("status", lambda s: s["status"] == "closed") == {
        "status": "closed"
    }
    note = await visitor.wait_for("message", lambda m: m["author"] == "system" and m["seq"] > 1)
    assert note["body"] == "conversation_closed"
    assert await hana.wait_for("status", lambda s: s["status"] == "closed") == {
        "conversation_id": conversation_id,
        "status": "closed",
        "outcome": outcome,
    }
    assert conversation_state(server, conversation_id) == ("closed", "hana", outcome, "counselor")
    # Closed is final: a second close, a message from either side, are refused.
    again = await hana.call("close", {"conversation_id": conversation_id, "outcome": "resolved"})
    assert_error(again, "conversation_closed")
    assert_error(
        await hana.call(
            "message", {"conversation_id": conversation_id, "client_id": client_id(), "body": "x"}
        ),
        "conversation_closed",
    )
    assert_error(
        await visitor.call("message", {"client_id": client_id(), "body": "x"}),
        "conversation_closed",
    )
    assert conversation_state(server, conversation_id)[2] == outcome
    # The counselor who held it may still read it back.
    history = await hana.call("history", {"conversation_id": conversation_id})
    assert history["status"] == "closed"
    assert history["messages"][-1]["body"] == "conversation_closed"


# -- what the visitor sees of the counselor -----------------------------------------------------


async def test_the_visitor_sees_the_display_name_and_never_the_login_name(
    clients: Clients, hana_session: str, transport: str
) -> None:
    visitor, conversation_id = await waiting_visitor(clients, transport)
    hana = await clients.counselor(hana_session)
    acks: list[Any] = []
    acks.append(await hana.call("claim", {"conversation_id": conversation_id}))
    acks.append(await visitor.call("message", {"client_id": client_id(), "body": "はじめまして"}))
    reply = await hana.call(
        "message", {"conversation_id": conversation_id, "client_id": client_id(), "body": "どうぞ"}
    )
    await hana.call("typing", {"conversation_id": conversation_id})
    await visitor.wait_for("typing")
    await visitor.wait_for("message", lambda m: m["seq"] == reply["seq"])
    acks.append(await visitor.call("history", {}))
    acks.append(await visitor.call("start", {}))
    await hana.call("close", {"conversation_id": conversation_id, "outcome": "resolved"})
    await visitor.wait_for("status", lambda s: s["status"] == "closed")
    acks.append(await visitor.call("history", {}))

    statuses = visitor.received("status")
    assert {"status": "active", "counselor": "花子"} in statuses
    everything = json.dumps([visitor.events, acks], ensure_ascii=False)
    assert "花子" in everything
    assert "hana" not in everything.lower()
    assert "user_id" not in everything


async def test_logging_out_drops_the_sockets_opened_with_that_login_only(
    server: Server, clients: Clients
) -> None:
    first, second = login_sync(server, "hana", PASSWORD), login_sync(server, "hana", PASSWORD)
    on_first = await clients.counselor(first)
    on_second = await clients.counselor(second)
    await asyncio.to_thread(logout_sync, server, first)

    await on_first.wait_for("disconnect")
    _visitor, conversation_id = await waiting_visitor(clients)
    # The other login goes on working: it sees the new visitor and may claim them.
    await on_second.wait_for_queue(in_queue(conversation_id))
    assert (await on_second.call("claim", {"conversation_id": conversation_id}))["ok"]
    assert not on_first.sio.connected
