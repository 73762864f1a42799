"""What a queue item tells a counselor beyond the chat's state: the topic the visitor chose,
the first words of their first message (to those who work the desk, while it waits), and
whether the visitor is still connected, told at once when they go or come back. And the
visitor's "in danger now" sets the casework's risk level by itself. Real Socket.IO clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD, STAFF
from tests.support import Client, Clients, Server, client_id, login_sync, running_server

LONG = "はじめまして。夫のことで相談したいです。毎日のように怒鳴られて、眠れない日が続いています。"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        for username, (role, display_name) in STAFF.items():
            srv.add_user(username, PASSWORD, role=role, display_name=display_name)
        srv.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        yield srv


@pytest.fixture(scope="module")
def mori_session(server: Server) -> str:
    return login_sync(server, "mori", PASSWORD)


def item(counselor: Client, conversation_id: str) -> dict[str, Any] | None:
    return next((c for c in counselor.queue()["conversations"] if c["id"] == conversation_id), None)


async def item_when(counselor: Client, conversation_id: str, check: Any) -> dict[str, Any]:
    def matches(queue: dict[str, Any]) -> bool:
        found = next((c for c in queue["conversations"] if c["id"] == conversation_id), None)
        return found is not None and bool(check(found))

    await counselor.wait_for_queue(matches)
    found = item(counselor, conversation_id)
    assert found is not None
    return found


async def test_a_waiting_item_shows_the_topic_the_first_words_and_a_live_presence(
    server: Server, clients: Clients, hana_session: str, ren_session: str, transport: str
) -> None:
    hana = await clients.counselor(hana_session, transport)
    # The visitor on a WebSocket: a closed one is known at once (a long-polling client that
    # vanishes is known at its missed ping, which is Engine.IO's own timing).
    visitor = await clients.visitor()
    ack = await visitor.call("start", {"topic": "domestic_violence"})
    cid, token = ack["conversation"]["id"], ack["conversation"]["token"]

    first = await item_when(hana, cid, lambda c: c["present"] is True)
    assert first["topic"] == "domestic_violence"
    assert "preview" not in first  # nothing written yet

    sent = await visitor.call("message", {"client_id": client_id(), "body": f"  {LONG}  "})
    assert sent["ok"]
    shown = await item_when(hana, cid, lambda c: "preview" in c)
    assert shown["preview"] == LONG[:40] + "…"
    # A later message does not change what the queue shows.
    await visitor.call("message", {"client_id": client_id(), "body": "もう一つ"})

    # Gone: the queue says so at once, not when the chat closes itself minutes later.
    await visitor.disconnect()
    gone = await item_when(hana, cid, lambda c: c["present"] is False)
    assert gone["status"] == "waiting" and gone["preview"] == LONG[:40] + "…"

    # Back with the token: present again, and so for a counselor connecting now too.
    back = await clients.visitor(token=token)
    await back.wait_for("status")
    await item_when(hana, cid, lambda c: c["present"] is True)
    ren = await clients.counselor(ren_session)
    assert (await item_when(ren, cid, lambda c: True))["present"] is True

    # Claimed: the item no longer carries the visitor's words; the thread has them.
    assert (await ren.call("claim", {"conversation_id": cid}))["ok"]
    active = await item_when(hana, cid, lambda c: c["status"] == "active")
    assert "preview" not in active and active["present"] is True


async def test_a_short_first_message_is_shown_whole_on_one_line(
    clients: Clients, hana_session: str
) -> None:
    visitor = await clients.visitor()
    cid = (await visitor.call("start", {}))["conversation"]["id"]
    await visitor.call("message", {"client_id": client_id(), "body": "話を\n聞いて\tほしい"})

    hana = await clients.counselor(hana_session)  # the whole queue, read on connect
    shown = await item_when(hana, cid, lambda c: True)
    assert shown["preview"] == "話を 聞いて ほしい"
    assert "topic" in shown and shown["topic"] is None


async def test_in_danger_now_sets_the_risk_to_urgent_and_alerts_supervisors(
    clients: Clients, hana_session: str, mori_session: str
) -> None:
    mori = await clients.counselor(mori_session)
    hana = await clients.counselor(hana_session)
    await mori.wait_for_queue()
    visitor = await clients.visitor()
    cid = (await visitor.call("start", {"urgent": True}))["conversation"]["id"]

    alert = await mori.wait_for("alert", lambda a: a["conversation_id"] == cid)
    assert alert["by"] is None
    urgent = await item_when(hana, cid, lambda c: c["risk"] == "urgent")
    assert urgent["urgent"] is True
    case = await mori.call("case", {"conversation_id": cid})
    assert case["case"]["risk"] == "urgent"

    # Staff may lower it; the visitor's repeated choice does not raise it again.
    assert (await mori.call("risk", {"conversation_id": cid, "level": "concern"}))["ok"]
    assert (await visitor.call("start", {"urgent": True}))["ok"]
    case = await mori.call("case", {"conversation_id": cid})
    assert case["case"]["risk"] == "concern"
    assert len([a for a in mori.received("alert") if a["conversation_id"] == cid]) == 1
