"""What a visitor may do besides writing: the "in danger right now" start, a code word
and the post-chat survey. Real sockets against a real server; every refusal changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.support import Client, Clients, Server, assert_error, login_sync, snapshot

INVALID = "invalid_payload"


async def start(visitor: Client, **fields: Any) -> dict[str, Any]:
    ack = await visitor.call("start", fields)
    assert ack["ok"] is True, ack
    return dict(ack["conversation"])


async def ended(clients: Clients) -> dict[str, Any]:
    """A conversation the visitor has left: what the survey is for."""
    visitor = await clients.visitor()
    conversation = await start(visitor)
    assert (await visitor.call("leave", {}))["ok"] is True
    await visitor.disconnect()
    return conversation


def state(server: Server) -> dict[str, list[tuple[Any, ...]]]:
    return {**snapshot(server), "survey": server.query("SELECT * FROM survey ORDER BY 1")}


def urgent_flag(server: Server, conversation_id: str) -> int:
    rows = server.query("SELECT urgent FROM conversation WHERE id = ?", (conversation_id,))
    return int(rows[0][0])


def code_word(server: Server, conversation_id: str) -> str | None:
    rows = server.query("SELECT code_word FROM conversation WHERE id = ?", (conversation_id,))
    return str(rows[0][0]) if rows[0][0] is not None else None


def survey_rows(server: Server, conversation_id: str) -> list[tuple[Any, ...]]:
    return server.query(
        "SELECT rating, helpful, comment FROM survey WHERE conversation_id = ?",
        (conversation_id,),
    )


# -- "I am in danger right now" ----------------------------------------------------------------


async def test_an_urgent_start_goes_ahead_of_everyone_waiting(
    server: Server, clients: Clients, hana_session: str
) -> None:
    calm = await start(await clients.visitor())
    in_danger_visitor = await clients.visitor()
    in_danger = await start(in_danger_visitor, urgent=True)
    assert urgent_flag(server, in_danger["id"]) == 1
    assert urgent_flag(server, calm["id"]) == 0

    hana = await clients.counselor(hana_session)
    queue = (await hana.wait_for_queue())["conversations"]
    ids = [item["id"] for item in queue]
    mine = ids.index(in_danger["id"])
    assert mine < ids.index(calm["id"])
    assert queue[mine]["urgent"] is True
    # Only other urgent conversations (of earlier tests) may come first.
    assert all(item["urgent"] for item in queue[:mine])
    assert in_danger["queue_position"] == mine + 1

    # A retry of the same start changes nothing more and answers the same conversation.
    assert (await start(in_danger_visitor, urgent=True))["id"] == in_danger["id"]


async def test_a_repeated_start_may_flag_an_open_conversation_urgent(
    server: Server, clients: Clients, hana_session: str
) -> None:
    hana = await clients.counselor(hana_session)
    visitor = await clients.visitor()
    conversation = await start(visitor)
    assert urgent_flag(server, conversation["id"]) == 0
    again = await start(visitor, urgent=True)
    assert again["id"] == conversation["id"]
    assert urgent_flag(server, conversation["id"]) == 1
    await hana.wait_for_queue(
        lambda q: any(c["id"] == conversation["id"] and c["urgent"] for c in q["conversations"]),
    )


@pytest.mark.parametrize("urgent", ["yes", 1, None, [True], {"value": True}])
async def test_an_urgent_flag_that_is_not_a_boolean_is_refused(
    server: Server, clients: Clients, urgent: Any
) -> None:
    before = state(server)
    assert_error(await (await clients.visitor()).call("start", {"urgent": urgent}), INVALID)
    assert state(server) == before


# -- the code word -----------------------------------------------------------------------------


async def test_a_code_word_is_stored_trimmed_and_may_be_replaced_even_after_the_end(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor()
    conversation = await start(visitor)
    assert await visitor.call("code_word", {"word": "  ひまわり  "}) == {"ok": True}
    assert code_word(server, conversation["id"]) == "ひまわり"
    # Full-width letters are the same word said aloud over the phone.
    assert await visitor.call("code_word", {"word": "ＳＵＮ　７"}) == {"ok": True}
    assert code_word(server, conversation["id"]) == "SUN 7"
    assert (await visitor.call("leave", {}))["ok"] is True
    assert await visitor.call("code_word", {"word": "あさがお"}) == {"ok": True}
    assert code_word(server, conversation["id"]) == "あさがお"
    # Nothing of it reaches the visitor's socket (nor a log).
    assert all("あさがお" not in repr(data) for _, data in visitor.events)
    assert "あさがお" not in server.logs()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"word": ""},
        {"word": "   "},
        {"word": "a" * 33},
        {"word": "two\nlines"},
        {"word": "zero\u200bwidth"},
        {"word": 1234},
        {"word": None},
        {"word": ["ひまわり"]},
        {"word": "ひまわり", "conversation_id": "x"},
        {"word": "\ud800"},
    ],
    ids=lambda p: repr(p)[:40],
)
async def test_a_bad_code_word_is_refused_and_changes_nothing(
    server: Server, clients: Clients, payload: Any
) -> None:
    visitor = await clients.visitor()
    conversation = await start(visitor)
    before = state(server)
    assert_error(await visitor.call("code_word", payload), INVALID)
    assert state(server) == before
    assert code_word(server, conversation["id"]) is None


async def test_a_code_word_needs_a_conversation(server: Server, clients: Clients) -> None:
    before = state(server)
    visitor = await clients.visitor()
    assert_error(await visitor.call("code_word", {"word": "ひまわり"}), "no_conversation")
    assert state(server) == before


# -- the post-chat survey ------------------------------------------------------------------------


async def test_the_survey_waits_for_the_end_and_is_answered_once(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor()
    conversation = await start(visitor)
    before = state(server)
    assert_error(await visitor.call("survey", {"rating": 5}), "conversation_open")
    assert state(server) == before

    assert (await visitor.call("leave", {}))["ok"] is True
    answer = {"rating": 4, "helpful": True, "comment": "  話せてよかったです\n"}
    assert await visitor.call("survey", answer) == {"ok": True}
    assert survey_rows(server, conversation["id"]) == [(4, 1, "話せてよかったです")]

    before = state(server)
    assert_error(await visitor.call("survey", {"rating": 1}), "already_answered")
    assert state(server) == before
    # Comments are the visitor's words: never in a log.
    assert "話せてよかった" not in server.logs()


async def test_a_visitor_back_with_the_token_may_still_answer_and_each_answer_is_optional(
    server: Server, clients: Clients
) -> None:
    first = await ended(clients)
    back = await clients.visitor(token=first["token"])
    assert await back.call("survey", {"helpful": False}) == {"ok": True}
    assert survey_rows(server, first["id"]) == [(None, 0, None)]

    second = await ended(clients)
    back = await clients.visitor(token=second["token"])
    longest = "あ" * 1000
    assert await back.call("survey", {"comment": f"\n {longest} \n"}) == {"ok": True}
    assert survey_rows(server, second["id"]) == [(None, None, longest)]


async def test_two_answers_at_once_store_one(server: Server, clients: Clients) -> None:
    conversation = await ended(clients)
    a = await clients.visitor(token=conversation["token"])
    b = await clients.visitor(token=conversation["token"])
    acks = await asyncio.gather(a.call("survey", {"rating": 2}), b.call("survey", {"rating": 5}))
    assert sorted(ack["ok"] for ack in acks) == [False, True]
    refused = next(ack for ack in acks if not ack["ok"])
    assert_error(refused, "already_answered")
    assert len(survey_rows(server, conversation["id"])) == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, INVALID),
        ({"comment": "   "}, INVALID),
        ({"rating": 0}, INVALID),
        ({"rating": 6}, INVALID),
        ({"rating": "5"}, INVALID),
        ({"rating": 4.5}, INVALID),
        ({"rating": True}, INVALID),
        ({"helpful": "yes"}, INVALID),
        ({"helpful": 1}, INVALID),
        ({"comment": 5}, INVALID),
        ({"comment": "bell\u0007"}, INVALID),
        ({"comment": "あ" * 1001}, "too_large"),
        ({"rating": 5, "created_at": "2020-01-01T00:00:00.000Z"}, INVALID),
        ({"rating": 5, "conversation_id": "someone-else"}, INVALID),
    ],
    ids=lambda p: repr(p)[:40],
)
async def test_a_bad_survey_is_refused_and_changes_nothing(
    server: Server, clients: Clients, payload: Any, code: str
) -> None:
    conversation = await ended(clients)
    visitor = await clients.visitor(token=conversation["token"])
    before = state(server)
    assert_error(await visitor.call("survey", payload), code)
    assert state(server) == before


async def test_a_survey_needs_a_conversation(server: Server, clients: Clients) -> None:
    before = state(server)
    assert_error(await (await clients.visitor()).call("survey", {"rating": 3}), "no_conversation")
    assert state(server) == before


async def test_an_urgent_start_alerts_every_online_supervisor_at_once(
    server: Server, clients: Clients, hana_session: str
) -> None:
    server.add_user("kei", PASSWORD, role="supervisor", display_name="恵")
    kei = await clients.counselor(login_sync(server, "kei", PASSWORD))
    hana = await clients.counselor(hana_session)
    in_danger = await start(await clients.visitor(), urgent=True)

    alert = await kei.wait_for("alert", lambda a: a["conversation_id"] == in_danger["id"])
    assert alert["level"] == "urgent" and alert["by"] is None
    # A counselor sees the queue move but gets no supervisor alert: the queue arrives after it.
    await hana.wait_for_queue(lambda q: any(c["id"] == in_danger["id"] for c in q["conversations"]))
    assert not hana.received("alert")
