"""The ``/visitor`` namespace as the protocol defines it: connect, start, message, history, typing,
leave, and resuming with the token. Every ack is checked against what the database holds."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD, STAFF
from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    login_sync,
    refusal,
    running_seeded_server,
    sha256_hex,
)

SHELTER = "https://shelter.example"
EVIL = "https://evil.example"
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A server that also knows a disabled partner and one with its own site's origin."""
    partners = (
        "INSERT INTO partner (key, name, origins, is_default, enabled, created_at) VALUES "
        "('paused', '休止中のサイト', '[]', 0, 0, '2026-01-01T00:00:00.000Z'), "
        "('shelter', '支援団体', '[\"https://shelter.example\"]', 0, 1, '2026-01-01T00:00:00.000Z')"
    )
    with running_seeded_server([partners]) as srv:
        for username, (role, display_name) in STAFF.items():
            srv.add_user(username, PASSWORD, role=role, display_name=display_name)
        yield srv


def conversation_row(server: Server, conversation_id: str) -> dict[str, Any]:
    rows = server.query(
        "SELECT c.status, c.token_hash, c.outcome, c.closed_by, p.key, d.key "
        "FROM conversation AS c JOIN desk AS d ON d.id = c.desk_id "
        "LEFT JOIN partner AS p ON p.id = c.partner_id WHERE c.id = ?",
        (conversation_id,),
    )
    assert len(rows) == 1, rows
    keys = ("status", "token_hash", "outcome", "closed_by", "partner", "desk")
    return dict(zip(keys, rows[0], strict=True))


def stored_messages(server: Server, conversation_id: str) -> list[tuple[Any, ...]]:
    """(seq, author, body, client_id, created_at) in seq order."""
    return server.query(
        "SELECT seq, author, body, client_id, created_at FROM message "
        "WHERE conversation_id = ? ORDER BY seq",
        (conversation_id,),
    )


def count_conversations(server: Server) -> int:
    return int(server.query("SELECT COUNT(*) FROM conversation")[0][0])


async def start(visitor: Client) -> dict[str, Any]:
    ack = await visitor.call("start", {})
    assert ack["ok"], ack
    conversation: dict[str, Any] = ack["conversation"]
    return conversation


async def held_by_hana(clients: Clients, hana_session: str) -> tuple[Client, Client, str]:
    """A visitor whose conversation hana has claimed: (visitor, hana, conversation id)."""
    visitor = await clients.visitor()
    conversation_id = (await start(visitor))["id"]
    hana = await clients.counselor(hana_session)
    assert (await hana.call("claim", {"conversation_id": conversation_id}))["ok"]
    await visitor.wait_for("status", lambda s: s["status"] == "active")
    return visitor, hana, conversation_id


# -- connect ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "partner"),
    [({}, "ward"), ({"partner": "demo"}, "demo"), ({"partner": "shelter"}, "shelter")],
)
async def test_a_visitor_belongs_to_the_partner_it_names_or_else_the_default_one(
    server: Server, clients: Clients, auth: dict[str, str], partner: str
) -> None:
    visitor = await clients.visitor(**auth)
    conversation = await start(visitor)
    assert conversation_row(server, conversation["id"])["partner"] == partner


@pytest.mark.parametrize("partner", ["nowhere", "paused"])
async def test_an_unknown_or_disabled_partner_is_refused_with_unknown_partner(
    server: Server, partner: str
) -> None:
    before = count_conversations(server)
    assert await refusal(server, "/visitor", auth={"partner": partner}) == {
        "code": "unknown_partner"
    }
    assert count_conversations(server) == before


async def test_a_token_that_opens_no_conversation_is_refused_with_invalid_token(
    server: Server, clients: Clients
) -> None:
    real = await start(await clients.visitor())
    wrong = real["token"][:-4] + ("AAAA" if not real["token"].endswith("AAAA") else "BBBB")
    assert await refusal(server, "/visitor", auth={"token": wrong}) == {"code": "invalid_token"}
    # The same key, right, opens it: the refusal was about the token and nothing else.
    resumed = await clients.visitor(token=real["token"])
    assert (await start(resumed))["id"] == real["id"]


@pytest.mark.parametrize("partner", [None, "demo", "shelter"])
async def test_a_browser_on_a_foreign_site_is_refused_with_origin_not_allowed(
    server: Server, transport: str, partner: str | None
) -> None:
    auth = {"partner": partner} if partner else None
    refused = await refusal(
        server, "/visitor", transport=transport, auth=auth, headers={"Origin": EVIL}
    )
    assert refused == {"code": "origin_not_allowed"}


async def test_a_partners_own_site_may_connect_for_that_partner_only(
    server: Server, clients: Clients
) -> None:
    on_the_shelter_site = await clients.visitor(headers={"Origin": SHELTER}, partner="shelter")
    conversation = await start(on_the_shelter_site)
    assert conversation_row(server, conversation["id"])["partner"] == "shelter"
    for auth in (None, {"partner": "demo"}):
        refused = await refusal(server, "/visitor", auth=auth, headers={"Origin": SHELTER})
        assert refused == {"code": "origin_not_allowed"}


async def test_our_own_origin_and_a_client_without_origin_may_connect(
    server: Server, clients: Clients, transport: str
) -> None:
    from_the_chat_page = await clients.visitor(transport, headers={"Origin": server.url})
    not_a_browser = await clients.visitor(transport)
    first = await start(from_the_chat_page)
    second = await start(not_a_browser)
    assert first["id"] != second["id"]


# -- start --------------------------------------------------------------------------------------


async def test_start_answers_the_id_token_waiting_status_and_place_in_line(
    server: Server, clients: Clients
) -> None:
    first = await start(await clients.visitor())
    second = await start(await clients.visitor())

    assert set(second) == {
        "id",
        "token",
        "status",
        "queue_position",
        "expected_wait",
        "staffed",
        "desk",
    }
    assert second["status"] == "waiting"
    assert second["desk"]["key"] == "general"
    assert second["expected_wait"] is None  # too few first replies at this desk to estimate
    assert second["staffed"] is False  # nobody who works the desk is connected
    assert second["queue_position"] == first["queue_position"] + 1
    assert URL_SAFE.match(second["id"]) and len(second["id"]) >= 22  # 128 random bits
    assert URL_SAFE.match(second["token"]) and len(second["token"]) >= 43  # 256 random bits
    row = conversation_row(server, second["id"])
    assert row["status"] == "waiting" and row["desk"] == "general"
    assert row["token_hash"] == sha256_hex(second["token"])


# python-engineio refuses a long-polling POST of more than 16 packets (its guard against
# kill-engine-io), and the client sends whatever it has queued in one POST: over polling, 16
# simultaneous calls are the most one connection can make.
@pytest.mark.parametrize(("transport", "calls"), [("websocket", 20), ("polling", 16)])
async def test_twenty_simultaneous_starts_on_one_connection_make_one_conversation(
    server: Server, clients: Clients, transport: str, calls: int
) -> None:
    visitor = await clients.visitor(transport)
    before = count_conversations(server)

    acks = await asyncio.gather(*(visitor.call("start", {}) for _ in range(calls)))

    assert all(ack["ok"] for ack in acks), acks
    assert len({ack["conversation"]["id"] for ack in acks}) == 1
    assert len({ack["conversation"]["token"] for ack in acks}) == 1
    assert count_conversations(server) == before + 1
    row = conversation_row(server, acks[0]["conversation"]["id"])
    assert row["token_hash"] == sha256_hex(acks[0]["conversation"]["token"])


async def test_start_at_an_unknown_desk_is_refused_and_creates_nothing(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor()
    before = count_conversations(server)
    assert_error(await visitor.call("start", {"desk": "no-such-desk"}), "unknown_desk")
    assert count_conversations(server) == before
    at_general = await visitor.call("start", {"desk": "general"})
    assert conversation_row(server, at_general["conversation"]["id"])["desk"] == "general"


# -- message ------------------------------------------------------------------------------------


async def test_a_message_is_acked_only_once_it_is_stored(server: Server, clients: Clients) -> None:
    visitor = await clients.visitor()
    conversation_id = (await start(visitor))["id"]
    sent = client_id()

    ack = await visitor.call("message", {"client_id": sent, "body": "話を聞いてほしいです"})

    assert ack == {"ok": True, "seq": 1, "created_at": ack["created_at"]}
    assert ISO_UTC.match(ack["created_at"])
    # Read right after the ack, from another connection: the row is committed already.
    assert stored_messages(server, conversation_id) == [
        (1, "visitor", "話を聞いてほしいです", sent, ack["created_at"])
    ]


async def test_seq_is_gapless_from_one_and_follows_the_order_of_sending(
    server: Server, clients: Clients, transport: str
) -> None:
    visitor = await clients.visitor(transport)
    conversation_id = (await start(visitor))["id"]
    bodies = [f"メッセージ {i}" for i in range(15)]

    acks = await asyncio.gather(
        *(visitor.call("message", {"client_id": client_id(), "body": b}) for b in bodies)
    )

    assert [ack["seq"] for ack in acks] == list(range(1, 16))
    stored = stored_messages(server, conversation_id)
    assert [(seq, body) for seq, _, body, _, _ in stored] == list(
        zip(range(1, 16), bodies, strict=True)
    )


async def test_the_trimmed_body_is_what_is_stored_and_delivered(
    server: Server, clients: Clients, hana_session: str
) -> None:
    visitor, hana, conversation_id = await held_by_hana(clients, hana_session)

    ack = await visitor.call(
        "message", {"client_id": client_id(), "body": " \n\u3000 相談です \t\n"}
    )

    delivered = await hana.wait_for("message", lambda m: m["seq"] == ack["seq"])
    assert delivered["body"] == "相談です"
    assert stored_messages(server, conversation_id)[-1][2] == "相談です"


async def test_resending_a_client_id_returns_the_same_seq_and_stores_one_copy(
    server: Server, clients: Clients, hana_session: str
) -> None:
    visitor, hana, conversation_id = await held_by_hana(clients, hana_session)
    before = len(stored_messages(server, conversation_id))
    same = client_id()

    first = await visitor.call("message", {"client_id": same, "body": "こんにちは"})
    again = await visitor.call("message", {"client_id": same, "body": "こんにちは"})
    changed = await visitor.call("message", {"client_id": same, "body": "別の文"})
    later = await visitor.call("message", {"client_id": client_id(), "body": "次"})

    assert first["ok"] and again == first and changed == first
    assert later["seq"] == first["seq"] + 1
    stored = stored_messages(server, conversation_id)
    assert len(stored) == before + 2
    assert [row[2] for row in stored if row[3] == same] == ["こんにちは"]
    # Each try was delivered before its ack, a retry too (its first try may never have been;
    # clients ignore a seq they have), and always as first stored.
    await hana.wait_for(
        "message", lambda m: m["conversation_id"] == conversation_id and m["seq"] == later["seq"]
    )
    copies = [
        m["body"]
        for m in hana.received("message")
        if m["conversation_id"] == conversation_id and m["seq"] == first["seq"]
    ]
    assert copies == ["こんにちは"] * 3


def code_points(count: int) -> str:
    """``count`` code points mixing BMP, astral (a surrogate pair in JSON) and ASCII."""
    pattern = "😀あa🌸"
    return (pattern * (count // len(pattern) + 1))[:count]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x" * 2000, id="2000-ascii"),
        pytest.param("😀" * 2000, id="2000-emoji"),
        pytest.param(code_points(2000), id="2000-mixed"),
        pytest.param("  " + code_points(2000) + "\n ", id="2000-after-trimming"),
    ],
)
async def test_a_body_of_exactly_2000_code_points_is_accepted(
    server: Server, clients: Clients, body: str
) -> None:
    visitor = await clients.visitor()
    conversation_id = (await start(visitor))["id"]
    ack = await visitor.call("message", {"client_id": client_id(), "body": body})
    assert ack["ok"], ack
    [(_, _, stored, _, _)] = stored_messages(server, conversation_id)
    assert stored == body.strip() and len(stored) == 2000


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param("x" * 2001, "too_large", id="2001-ascii"),
        pytest.param("😀" * 2001, "too_large", id="2001-emoji"),
        pytest.param(code_points(2001), "too_large", id="2001-mixed"),
        pytest.param("", "empty_body", id="empty"),
        pytest.param("   ", "empty_body", id="spaces"),
        pytest.param("\n\t\r ", "empty_body", id="newlines-tabs"),
        pytest.param("\u3000\u3000", "empty_body", id="ideographic-spaces"),
    ],
)
async def test_a_body_too_long_or_blank_is_refused_and_not_stored(
    server: Server, clients: Clients, body: str, code: str
) -> None:
    visitor = await clients.visitor()
    conversation_id = (await start(visitor))["id"]
    assert_error(await visitor.call("message", {"client_id": client_id(), "body": body}), code)
    assert stored_messages(server, conversation_id) == []


async def test_a_message_before_start_is_refused_with_no_conversation(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor()
    assert_error(
        await visitor.call("message", {"client_id": client_id(), "body": "こんにちは"}),
        "no_conversation",
    )
    assert_error(await visitor.call("history", {}), "no_conversation")
    assert_error(await visitor.call("typing", {}), "no_conversation")
    assert_error(await visitor.call("leave", {}), "no_conversation")


# -- history ------------------------------------------------------------------------------------


async def test_history_pages_through_messages_in_seq_order(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor()
    conversation_id = (await start(visitor))["id"]
    ids = [client_id() for _ in range(5)]
    for i, cid in enumerate(ids, start=1):
        await visitor.call("message", {"client_id": cid, "body": f"本文 {i}"})

    everything = await visitor.call("history", {"after_seq": 0})
    assert everything["ok"] and everything["status"] == "waiting"
    assert everything["more"] is False
    assert everything["messages"] == [
        {
            "conversation_id": conversation_id,
            "seq": seq,
            "author": "visitor",
            "body": f"本文 {seq}",
            "created_at": created_at,
            "client_id": cid,
        }
        for seq, _, _, cid, created_at in stored_messages(server, conversation_id)
    ]
    assert [m["client_id"] for m in everything["messages"]] == ids

    def seqs(ack: dict[str, Any]) -> tuple[list[int], bool]:
        return [m["seq"] for m in ack["messages"]], ack["more"]

    assert seqs(await visitor.call("history", {})) == ([1, 2, 3, 4, 5], False)
    assert seqs(await visitor.call("history", {"after_seq": 2})) == ([3, 4, 5], False)
    assert seqs(await visitor.call("history", {"limit": 2})) == ([1, 2], True)
    assert seqs(await visitor.call("history", {"after_seq": 2, "limit": 2})) == ([3, 4], True)
    assert seqs(await visitor.call("history", {"after_seq": 3, "limit": 2})) == ([4, 5], False)
    assert seqs(await visitor.call("history", {"after_seq": 5})) == ([], False)
    assert seqs(await visitor.call("history", {"after_seq": 99, "limit": 500})) == ([], False)


# -- typing and leave ---------------------------------------------------------------------------


async def test_typing_reaches_the_counselor_holding_the_conversation(
    clients: Clients, hana_session: str
) -> None:
    visitor, hana, conversation_id = await held_by_hana(clients, hana_session)
    assert await visitor.call("typing", {}) == {"ok": True}
    assert await hana.wait_for("typing") == {"conversation_id": conversation_id}


async def test_leave_closes_the_conversation_and_tells_the_counselor(
    server: Server, clients: Clients, hana_session: str
) -> None:
    visitor, hana, conversation_id = await held_by_hana(clients, hana_session)

    assert await visitor.call("leave", {}) == {"ok": True}

    status = await hana.wait_for("status", lambda s: s["status"] == "closed")
    assert status == {
        "conversation_id": conversation_id,
        "status": "closed",
        "outcome": "visitor_left",
    }
    note = await hana.wait_for("message", lambda m: m["author"] == "system" and m["seq"] > 1)
    assert note["conversation_id"] == conversation_id and note["body"] == "visitor_left"
    await visitor.wait_for("status", lambda s: s["status"] == "closed")
    row = conversation_row(server, conversation_id)
    assert (row["status"], row["outcome"], row["closed_by"]) == (
        "closed",
        "visitor_left",
        "visitor",
    )
    assert stored_messages(server, conversation_id)[-1][1:3] == ("system", "visitor_left")

    # Leaving twice changes nothing more; writing after leaving is refused.
    assert await visitor.call("leave", {}) == {"ok": True}
    assert_error(
        await visitor.call("message", {"client_id": client_id(), "body": "まだいますか"}),
        "conversation_closed",
    )
    assert [r[2] for r in stored_messages(server, conversation_id)].count("visitor_left") == 1


async def test_leaving_as_the_counselor_closes_is_still_a_successful_leave(
    server: Server, clients: Clients, hana_session: str
) -> None:
    visitor, hana, conversation_id = await held_by_hana(clients, hana_session)

    closed, left = await asyncio.gather(
        hana.call("close", {"conversation_id": conversation_id, "outcome": "resolved"}),
        visitor.call("leave", {}),
    )

    # Whoever came second finds it closed; the visitor who wanted out got out either way.
    assert left == {"ok": True}
    assert closed == {"ok": True} or closed["error"]["code"] == "conversation_closed"
    assert conversation_row(server, conversation_id)["status"] == "closed"
    endings = [r[2] for r in stored_messages(server, conversation_id) if r[1] == "system"]
    assert endings[0] == "counselor_joined" and len(endings) == 2


async def test_leaving_while_waiting_takes_the_visitor_out_of_the_queue(
    server: Server, clients: Clients, hana_session: str
) -> None:
    hana = await clients.counselor(hana_session)
    visitor = await clients.visitor()
    conversation_id = (await start(visitor))["id"]
    await hana.wait_for_queue(lambda q: conversation_id in {c["id"] for c in q["conversations"]})

    assert await visitor.call("leave", {}) == {"ok": True}

    await hana.wait_for_queue(
        lambda q: conversation_id not in {c["id"] for c in q["conversations"]}
    )
    assert conversation_row(server, conversation_id)["status"] == "closed"


# -- resuming -----------------------------------------------------------------------------------


async def test_reconnecting_with_the_token_resumes_the_same_conversation(
    server: Server, clients: Clients, hana_session: str, transport: str
) -> None:
    first_tab, hana, conversation_id = await held_by_hana(clients, hana_session)
    token = (await first_tab.call("start", {}))["conversation"]["token"]
    before = await first_tab.call("message", {"client_id": client_id(), "body": "前の接続"})
    await first_tab.disconnect()

    resumed = await clients.visitor(transport, token=token)

    again = await resumed.call("start", {})
    assert again["conversation"] == {
        "id": conversation_id,
        "token": token,
        "status": "active",
        "queue_position": None,
    }
    history = await resumed.call("history", {"after_seq": 0})
    assert history["status"] == "active"
    assert [m["body"] for m in history["messages"] if m["author"] == "visitor"] == ["前の接続"]
    after = await resumed.call("message", {"client_id": client_id(), "body": "再接続しました"})
    assert after["seq"] == before["seq"] + 1
    got = await hana.wait_for("message", lambda m: m["seq"] == after["seq"])
    assert got["conversation_id"] == conversation_id
    reply = await hana.call(
        "message", {"conversation_id": conversation_id, "client_id": client_id(), "body": "はい"}
    )
    assert (await resumed.wait_for("message", lambda m: m["seq"] == reply["seq"]))["body"] == "はい"
    assert [row[0] for row in stored_messages(server, conversation_id)] == list(
        range(1, reply["seq"] + 1)
    )


async def test_a_closed_conversation_resumes_read_only_and_start_opens_a_new_one(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor()
    old = await start(visitor)
    await visitor.call("message", {"client_id": client_id(), "body": "さようなら"})
    await visitor.call("leave", {})

    back = await clients.visitor(token=old["token"])
    history = await back.call("history", {})
    assert history["status"] == "closed"
    assert [m["body"] for m in history["messages"]] == ["さようなら", "visitor_left"]
    new = await start(back)
    assert new["id"] != old["id"] and new["token"] != old["token"]
    assert new["status"] == "waiting"
    assert conversation_row(server, old["id"])["status"] == "closed"


async def test_reconnecting_with_the_token_tells_the_visitor_where_the_conversation_stands(
    server: Server, clients: Clients
) -> None:
    first = await clients.visitor()
    conversation = (await first.call("start", {}))["conversation"]
    again = await clients.visitor(token=conversation["token"])
    status = await again.wait_for("status")
    assert status["status"] == "waiting" and status["queue_position"] >= 1

    hana = await clients.counselor(login_sync(server, "hana", PASSWORD))
    assert (await hana.call("claim", {"conversation_id": conversation["id"]}))["ok"]
    third = await clients.visitor(token=conversation["token"])
    assert await third.wait_for("status") == {"status": "active", "counselor": "花子"}


async def test_a_quick_exit_closes_the_conversation_and_says_so_to_the_counselor(
    server: Server, clients: Clients
) -> None:
    guest = await clients.visitor()
    conversation = (await guest.call("start", {}))["conversation"]
    hana = await clients.counselor(login_sync(server, "hana", PASSWORD))
    await hana.call("claim", {"conversation_id": conversation["id"]})
    assert await guest.call("leave", {"reason": "quick_exit"}) == {"ok": True}

    notice = await hana.wait_for("message", lambda m: m["body"] == "visitor_quick_exit")
    assert notice["author"] == "system"
    status = await hana.wait_for("status", lambda s: s["status"] == "closed")
    assert status["quick_exit"] is True and status["outcome"] == "visitor_left"
    assert server.query(
        "SELECT status, closed_by, quick_exit FROM conversation WHERE id = ?", (conversation["id"],)
    ) == [("closed", "visitor", 1)]
