"""Who may touch which conversation, and what reaches whom.

A visitor's token opens its own conversation and nothing else, history included; a counselor
acts only on conversations they hold, and "not yours" is answered exactly like "does not exist",
so ids cannot be probed; events never cross into another conversation's sockets; the server
alone sets author, time and ``seq``; the token is never shown to staff nor stored.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import PASSWORD, STAFF
from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    login,
    refusal,
    running_seeded_server,
    sha256_hex,
    snapshot,
    stored_bytes,
)

NOT_FOUND = {"ok": False, "error": {"code": "not_found", "message": "not found"}}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """hana and ren work every desk; kai only the second desk, ``legal``."""
    legal = (
        "INSERT INTO desk (key, name, is_default, hours, closures, created_at) "
        "VALUES ('legal', '法律相談', 0, '24/7', '', '2026-01-01T00:00:00.000Z')"
    )
    with running_seeded_server([legal]) as srv:
        for username, (role, display_name) in STAFF.items():
            srv.add_user(username, PASSWORD, role=role, display_name=display_name)
        srv.add_user("kai", PASSWORD, display_name="海", desks=["legal"])
        yield srv


async def started(clients: Clients, **start: Any) -> tuple[Client, dict[str, Any]]:
    visitor = await clients.visitor()
    ack = await visitor.call("start", start)
    assert ack["ok"], ack
    return visitor, ack["conversation"]


async def say(client: Client, body: str, conversation_id: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"client_id": client_id(), "body": body}
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    ack = await client.call("message", payload)
    assert ack["ok"], ack
    return dict(ack)


async def claimed_by(counselor: Client, clients: Clients) -> tuple[Client, str]:
    visitor, conversation = await started(clients)
    assert (await counselor.call("claim", {"conversation_id": conversation["id"]}))["ok"]
    await visitor.wait_for("status", lambda s: s["status"] == "active")
    return visitor, conversation["id"]


def mentions(events: list[tuple[str, Any]], text: str) -> list[tuple[str, Any]]:
    return [e for e in events if text in json.dumps(e, ensure_ascii=False)]


# -- visitors -----------------------------------------------------------------------------------


async def test_a_token_opens_only_its_own_conversation(server: Server, clients: Clients) -> None:
    first, a = await started(clients)
    await say(first, "Aの秘密")
    second, b = await started(clients)
    await say(second, "Bの秘密")
    await first.disconnect()

    resumed = await clients.visitor(token=a["token"])

    assert (await resumed.call("start", {}))["conversation"]["id"] == a["id"]
    history = await resumed.call("history", {"after_seq": 0})
    assert [(m["conversation_id"], m["body"]) for m in history["messages"]] == [
        (a["id"], "Aの秘密")
    ]
    assert await resumed.call("leave", {}) == {"ok": True}
    states = dict(
        server.query("SELECT id, status FROM conversation WHERE id IN (?, ?)", (a["id"], b["id"]))
    )
    assert states == {a["id"]: "closed", b["id"]: "waiting"}
    # B's visitor heard nothing of it: its own next message is the first thing it receives.
    mine = await say(second, "まだいます")
    assert (await second.call("history", {"after_seq": 1}))["messages"][0]["seq"] == mine["seq"]
    assert mentions(second.events, a["id"]) == [] and mentions(second.events, "Aの秘密") == []
    assert [s for s in second.received("status") if s["status"] != "waiting"] == []


async def test_an_id_or_a_token_hash_is_not_a_key(server: Server, clients: Clients) -> None:
    _, conversation = await started(clients)
    token = conversation["token"]
    guesses = {
        "random": secrets.token_urlsafe(32),
        "conversation id": conversation["id"],
        "stored hash": sha256_hex(token),
        "one character off": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "upper case": token.upper() if token.upper() != token else token.lower(),
        "prefix": token[:32],
    }
    answers = {
        name: await refusal(server, "/visitor", auth={"token": guess})
        for name, guess in guesses.items()
    }
    assert answers == {name: {"code": "invalid_token"} for name in guesses}


@pytest.mark.parametrize(
    "token", [{"$ne": None}, ["x" * 43], 12345, True, "' OR 1=1--" + "x" * 10, "%" * 43]
)
async def test_a_token_of_the_wrong_shape_is_refused_before_any_lookup(
    server: Server, clients: Clients, token: Any
) -> None:
    await started(clients)  # a conversation a loose lookup could return
    assert await refusal(server, "/visitor", auth={"token": token}) == {"code": "invalid_payload"}


# -- counselors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["message", "history", "typing", "close"])
async def test_a_counselor_event_on_a_conversation_they_do_not_hold_is_not_found(
    server: Server, clients: Clients, hana_session: str, ren_session: str, event: str
) -> None:
    hana = await clients.counselor(hana_session)
    ren = await clients.counselor(ren_session)
    rens_visitor, rens = await claimed_by(ren, clients)
    _, rens_closed = await claimed_by(ren, clients)
    await ren.call("close", {"conversation_id": rens_closed, "outcome": "resolved"})
    _, waiting = await started(clients)
    targets = {
        "held by ren": rens,
        "closed by ren": rens_closed,
        "waiting, unclaimed": waiting["id"],
        "nonexistent": secrets.token_urlsafe(16),
    }
    payloads = {
        "message": {"client_id": client_id(), "body": "横取り"},
        "history": {"after_seq": 0},
        "typing": {},
        "close": {"outcome": "resolved"},
    }
    before = snapshot(server)

    answers = {
        name: await hana.call(event, {"conversation_id": target, **payloads[event]})
        for name, target in targets.items()
    }

    assert answers == {name: NOT_FOUND for name in targets}
    assert snapshot(server) == before
    # Ren's visitor got nothing from hana: ren's own next message is all that arrives.
    reply = await say(ren, "蓮です", rens)
    await rens_visitor.wait_for("message", lambda m: m["seq"] == reply["seq"])
    assert [m["body"] for m in rens_visitor.received("message")] == ["counselor_joined", "蓮です"]
    assert rens_visitor.received("typing") == []
    assert [s["status"] for s in rens_visitor.received("status")][-1] == "active"


async def test_a_counselor_sees_and_claims_only_conversations_of_their_desks(
    server: Server, clients: Clients, hana_session: str
) -> None:
    kai_session = await login(server, "kai", PASSWORD)
    kai = await clients.counselor(kai_session)
    hana = await clients.counselor(hana_session)
    _, general = await started(clients)
    _, legal = await started(clients, desk="legal")

    for counselor in (kai, hana):
        await counselor.wait_for_queue(lambda q: legal["id"] in ids_in(q))
    assert all(general["id"] not in ids_in(q) for q in kai.received("queue"))
    assert all(u["id"] != general["id"] for u in kai.received("queue_update"))
    assert general["id"] in ids_in(hana.queue())
    assert await kai.call("claim", {"conversation_id": general["id"]}) == NOT_FOUND
    assert await kai.call("claim", {"conversation_id": secrets.token_urlsafe(16)}) == NOT_FOUND
    assert server.query("SELECT status FROM conversation WHERE id = ?", (general["id"],)) == [
        ("waiting",)
    ]
    assert (await kai.call("claim", {"conversation_id": legal["id"]}))["ok"]


def ids_in(queue: dict[str, Any]) -> set[str]:
    return {c["id"] for c in queue["conversations"]}


async def test_nothing_of_one_conversation_reaches_the_sockets_of_another(
    clients: Clients, hana_session: str, ren_session: str
) -> None:
    hana = await clients.counselor(hana_session)
    ren = await clients.counselor(ren_session)
    a_visitor, a = await claimed_by(hana, clients)
    b_visitor, b = await claimed_by(ren, clients)

    # Everything conversation A can carry: messages both ways, typing both ways, a close.
    await say(a_visitor, "Aから")
    await a_visitor.call("typing", {})
    await say(hana, "花子から", a)
    await hana.call("typing", {"conversation_id": a})
    await hana.call("close", {"conversation_id": a, "outcome": "resolved"})
    await a_visitor.wait_for("status", lambda s: s["status"] == "closed")
    # Then a round trip in B: anything of A sent to B's sockets would have arrived before it.
    from_b = await say(b_visitor, "Bから")
    await ren.wait_for("message", lambda m: m["seq"] == from_b["seq"])
    to_b = await say(ren, "蓮から", b)
    await b_visitor.wait_for("message", lambda m: m["seq"] == to_b["seq"])

    conversation_events = ("message", "typing", "status")
    assert [e for e in ren.events if e[0] in conversation_events and a in json.dumps(e)] == []
    assert [e for e in hana.events if e[0] in conversation_events and b in json.dumps(e)] == []
    assert mentions(b_visitor.events, a) == []
    assert mentions(b_visitor.events, "Aから") == [] and mentions(b_visitor.events, "花子") == []
    assert b_visitor.received("typing") == []
    assert [m["body"] for m in b_visitor.received("message")] == ["counselor_joined", "蓮から"]
    assert "closed" not in [s["status"] for s in b_visitor.received("status")]
    # ...and A's own sockets did get all of it.
    assert [m["body"] for m in a_visitor.received("message")][-2:] == [
        "花子から",
        "conversation_closed",
    ]
    assert hana.received("typing") == [{"conversation_id": a}]
    assert a_visitor.received("typing") == [{}]


async def test_the_server_sets_author_time_and_seq(
    server: Server, clients: Clients, hana_session: str
) -> None:
    hana = await clients.counselor(hana_session)
    visitor, conversation_id = await claimed_by(hana, clients)
    forged = {"author": "counselor", "seq": 99, "created_at": "2000-01-01T00:00:00.000Z"}
    for field, value in forged.items():
        ack = await visitor.call("message", {"client_id": client_id(), "body": "偽", field: value})
        assert_error(ack, "invalid_payload")
        ack = await hana.call(
            "message",
            {
                "conversation_id": conversation_id,
                "client_id": client_id(),
                "body": "偽",
                field: value,
            },
        )
        assert_error(ack, "invalid_payload")
    before = datetime.now(UTC)

    from_visitor = await say(visitor, "本物")
    from_hana = await say(hana, "本物です", conversation_id)

    after = datetime.now(UTC)
    rows = server.query(
        "SELECT m.seq, m.author, u.username, m.body, m.created_at FROM message AS m "
        "LEFT JOIN user AS u ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY m.seq",
        (conversation_id,),
    )
    assert [row[:4] for row in rows] == [
        (1, "system", None, "counselor_joined"),
        (2, "visitor", None, "本物"),
        (3, "counselor", "hana", "本物です"),
    ]
    assert (from_visitor["seq"], from_hana["seq"]) == (2, 3)
    for ack, row in ((from_visitor, rows[1]), (from_hana, rows[2])):
        assert ack["created_at"] == row[4]
        stamped = datetime.fromisoformat(row[4].replace("Z", "+00:00"))
        assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamped <= after


# -- the token ----------------------------------------------------------------------------------


async def test_a_token_never_reaches_a_counselor(
    server: Server, clients: Clients, hana_session: str, transport: str
) -> None:
    hana = await clients.counselor(hana_session, transport)
    first, conversation = await started(clients)
    token, conversation_id = conversation["token"], conversation["id"]
    await hana.wait_for_queue(lambda q: conversation_id in ids_in(q))
    await first.disconnect()
    visitor = await clients.visitor(token=token)
    acks = [await hana.call("claim", {"conversation_id": conversation_id})]
    await say(visitor, "こんにちは")
    await visitor.call("typing", {})
    acks.append(await hana.call("history", {"conversation_id": conversation_id, "after_seq": 0}))
    await visitor.call("leave", {})
    await hana.wait_for("status", lambda s: s["status"] == "closed")

    seen_by_staff = json.dumps([hana.events, acks])
    assert conversation_id in seen_by_staff  # the check looks where the token could be
    assert token not in seen_by_staff
    assert sha256_hex(token) not in seen_by_staff
    assert token not in server.logs()


async def test_the_database_keeps_only_the_sha256_of_a_token(
    server: Server, clients: Clients
) -> None:
    visitor, conversation = await started(clients)
    await say(visitor, "保存される本文")
    token = conversation["token"]

    assert server.query(
        "SELECT token_hash FROM conversation WHERE id = ?", (conversation["id"],)
    ) == [(sha256_hex(token),)]
    stored = stored_bytes(server)
    assert conversation["id"].encode() in stored  # the check reads where the data is
    assert token.encode() not in stored
