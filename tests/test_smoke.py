"""The whole path once, over both transports: the backbone every other test builds on."""

from __future__ import annotations

from tests.support import Client, client_id


async def test_a_visitor_and_a_counselor_exchange_messages(guest: Client, hana: Client) -> None:
    started = await guest.call("start", {})
    conversation = started["conversation"]
    assert started["ok"] and conversation["status"] == "waiting"

    queued = await hana.wait_for_queue(
        lambda q: any(c["id"] == conversation["id"] for c in q["conversations"])
    )
    assert queued is not None
    assert (await hana.call("claim", {"conversation_id": conversation["id"]}))["ok"]
    await guest.wait_for("status", lambda s: s["status"] == "active")

    sent = await guest.call("message", {"client_id": client_id(), "body": "話を聞いてほしいです"})
    got = await hana.wait_for("message", lambda m: m["seq"] == sent["seq"])
    assert got["body"] == "話を聞いてほしいです" and got["author"] == "visitor"

    reply = await hana.call(
        "message",
        {"conversation_id": conversation["id"], "client_id": client_id(), "body": "はい、どうぞ"},
    )
    got = await guest.wait_for("message", lambda m: m["seq"] == reply["seq"])
    assert got["author"] == "counselor" and "client_id" not in got
