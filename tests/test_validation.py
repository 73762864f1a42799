"""Hostile and broken input on both namespaces: every event answers a stable error code and
changes nothing: smuggled author fields, operator objects in place of ids and malformed frames
are all refused.

Each case runs on a fresh connection, so that the per-connection rate limits never answer in
place of validation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    snapshot,
)

INVALID = "invalid_payload"
HELD = "<held>"  # replaced by the id of the conversation the counselor holds
WAITING = "<waiting>"  # replaced by the id of a conversation nobody has claimed

# Bodies that draw nothing although str.strip keeps them: each would show as an empty bubble,
# or, with the bidi controls, turn the text around it.
INVISIBLE_BODIES = {
    "zero-width": "\u200b\u200c\u200d",
    "bom": "\ufeff",
    "word-joiner": "\u2060 \u2060",
    "bidi-override": "\u202e",
    "bidi-isolates": "\u2066\u2067\u2068\u2069",
    "marks": "\u200e\u200f\u061c",
    "soft-hyphen": "\u00ad",
    "hangul-filler": "\u3164",
    "braille-blank": "\u2800",
    "variation-selector": "\ufe0f",
    "tags": "\U000e0001\U000e0041",
    "mixed": " \u200b\u3000\u202e\ufeff\n",
}

BODY_TYPES = {
    "number": 5,
    "float": 1.5,
    "null": None,
    "true": True,
    "list": ["hi"],
    "object": {"text": "hi"},
    "operator": {"$gt": ""},
}
CLIENT_ID_TYPES = {"number": 7, "null": None, "true": True, "list": ["c"], "operator": {"$ne": ""}}
BAD_CLIENT_IDS = {
    "empty": "",
    "65-chars": "a" * 65,
    "space": "has space",
    "dot-slash": "../etc",
    "sql": "a';DROP TABLE message;--",
    "accent": "café",
    "emoji": "id😀",
    "newline": "id\n",
}
SEQS = {
    "true": True,
    "false": False,
    "string": "1",
    "float": 1.5,
    "float-int": 1.0,
    "negative": -1,
    "null": None,
    "huge": 2**53 + 1,
    "list": [1],
    "operator": {"$gt": 0},
}
LIMITS = {"zero": 0, "501": 501, "string": "10", "true": True, "negative": -5, "float": 1.0}
BAD_IDS = {
    "number": 5,
    "null": None,
    "true": True,
    "empty": "",
    "65-chars": "a" * 65,
    "list": [HELD],
    "operator": {"$ne": ""},
    "sql": "' OR 1=1--",
    "percent": "%",
    "dot-slash": "../x",
}
SERVER_OWNED = {
    "author": "counselor",
    "seq": 1,
    "created_at": "2020-01-01T00:00:00.000Z",
    "sender": "counselor",
    "role": "counselor",
    "user_id": 1,
    "html": "<b>x</b>",
}


def cases(
    event: str, table: dict[str, Any], make: Any, code: str = INVALID, prefix: str = ""
) -> list[Any]:
    """One case per row of ``table``, its payload made from the row's value."""
    return [
        pytest.param(event, make(value), code, id=f"{event}-{prefix}{label}")
        for label, value in table.items()
    ]


def message(**fields: Any) -> tuple[Any, ...]:
    return ({"client_id": "c-1", "body": "こんにちは", **fields},)


VISITOR_CASES = [
    # start: a valid call would create a conversation, so "nothing changed" means something.
    *cases(
        "start",
        {
            "number": (5,),
            "string": ("general",),
            "list": ([],),
            "true": (True,),
            "extra-argument": ({}, {}),
        },
        lambda args: args,
    ),
    *cases(
        "start",
        {
            "desk-number": {"desk": 5},
            "desk-list": {"desk": ["general"]},
            "desk-operator": {"desk": {"$ne": None}},
            "desk-uppercase": {"desk": "General"},
            "desk-65-chars": {"desk": "g" * 65},
            "desk-sql": {"desk": "' OR 1=1--"},
            "topic-number": {"topic": 1},
            "topic-true": {"topic": True},
            "unknown-id": {"id": "abcdefghijklmnopqrstuv"},
            "unknown-token": {"token": "A" * 43},
            "unknown-status": {"status": "active"},
            "unknown-counselor": {"counselor": "hana"},
            "unknown-partner": {"partner": "demo"},
        },
        lambda payload: (payload,),
    ),
    pytest.param("start", ({"desk": "no-such-desk"},), "unknown_desk", id="start-unknown-desk"),
    # message
    *cases(
        "message",
        {
            "no-payload": (),
            "null": (None,),
            "string": ("こんにちは",),
            "list": (["c-1", "こんにちは"],),
            "number": (5,),
            "missing-client-id": ({"body": "こんにちは"},),
            "missing-body": ({"client_id": "c-1"},),
            "nested-author": ({**message()[0], "meta": {"author": "counselor"}},),
            "extra-argument": (*message(), {"author": "counselor"}),
            "oversized-body": message(body="x" * 20001),
        },
        lambda args: args,
    ),
    *cases("message", BODY_TYPES, lambda v: message(body=v), prefix="body-"),
    *cases("message", CLIENT_ID_TYPES, lambda v: message(client_id=v), prefix="client-id-"),
    *cases("message", BAD_CLIENT_IDS, lambda v: message(client_id=v), prefix="client-id-"),
    *[
        pytest.param("message", message(**{field: value}), INVALID, id=f"message-{field}")
        for field, value in {**SERVER_OWNED, "conversation_id": "abcdefghijklmnopqrstuv"}.items()
    ],
    pytest.param("message", message(body="x" * 2001), "too_large", id="message-2001-chars"),
    pytest.param("message", message(body=" \n\t"), "empty_body", id="message-blank"),
    *[
        pytest.param("message", message(body=body), "empty_body", id=f"message-invisible-{name}")
        for name, body in INVISIBLE_BODIES.items()
    ],
    # history
    *cases("history", SEQS, lambda v: ({"after_seq": v},), prefix="after-seq-"),
    *cases("history", LIMITS, lambda v: ({"after_seq": 0, "limit": v},), prefix="limit-"),
    *cases(
        "history",
        {
            "string": ("all",),
            "number": (5,),
            "extra-argument": ({}, {}),
            "unknown-conversation-id": ({"conversation_id": "abcdefghijklmnopqrstuv"},),
            "unknown-before-seq": ({"before_seq": 3},),
        },
        lambda args: args,
    ),
    # typing takes nothing but an empty object; leave at most a known reason
    *[
        pytest.param(event, args, INVALID, id=f"{event}-{label}")
        for event in ("typing", "leave")
        for label, args in {
            "conversation-id": ({"conversation_id": "abcdefghijklmnopqrstuv"},),
            "unknown-field": ({"x": 1},),
            "outcome": ({"outcome": "resolved"},),
            "list": ([],),
            "number": (5,),
            "string": (event,),
            "extra-argument": ({}, {}),
        }.items()
    ],
    *[
        pytest.param("leave", args, INVALID, id=f"leave-{label}")
        for label, args in {
            "unknown-reason": ({"reason": "bored"},),
            "reason-not-a-string": ({"reason": 1},),
            "reason-and-more": ({"reason": "quick_exit", "urgent": True},),
        }.items()
    ],
]


def counselor_message(**fields: Any) -> tuple[Any, ...]:
    return ({"conversation_id": HELD, "client_id": "c-1", "body": "はい", **fields},)


COUNSELOR_CASES = [
    # claim: a valid call would take the waiting conversation
    *cases(
        "claim",
        {
            "no-payload": (),
            "null": (None,),
            "empty": ({},),
            "string": (WAITING,),
            "extra-argument": ({"conversation_id": WAITING}, {}),
            "unknown-counselor": ({"conversation_id": WAITING, "counselor": "ren"},),
            "unknown-counselor-id": ({"conversation_id": WAITING, "counselor_id": 2},),
        },
        lambda args: args,
    ),
    *cases("claim", BAD_IDS, lambda v: ({"conversation_id": v},), prefix="id-"),
    # message
    *cases(
        "message",
        {
            "no-payload": (),
            "missing-conversation-id": ({"client_id": "c-1", "body": "はい"},),
            "missing-client-id": ({"conversation_id": HELD, "body": "はい"},),
            "missing-body": ({"conversation_id": HELD, "client_id": "c-1"},),
            "extra-argument": (*counselor_message(), {"author": "visitor"}),
            "oversized-body": counselor_message(body="x" * 20001),
        },
        lambda args: args,
    ),
    *cases("message", BAD_IDS, lambda v: counselor_message(conversation_id=v), prefix="id-"),
    *cases("message", BODY_TYPES, lambda v: counselor_message(body=v), prefix="body-"),
    *cases(
        "message", CLIENT_ID_TYPES, lambda v: counselor_message(client_id=v), prefix="client-id-"
    ),
    *cases(
        "message", BAD_CLIENT_IDS, lambda v: counselor_message(client_id=v), prefix="client-id-"
    ),
    *[
        pytest.param("message", counselor_message(**{k: v}), INVALID, id=f"message-{k}")
        for k, v in SERVER_OWNED.items()
    ],
    pytest.param(
        "message", counselor_message(body="x" * 2001), "too_large", id="message-2001-chars"
    ),
    pytest.param("message", counselor_message(body="\u3000"), "empty_body", id="message-blank"),
    *[
        pytest.param(
            "message", counselor_message(body=body), "empty_body", id=f"message-invisible-{name}"
        )
        for name, body in INVISIBLE_BODIES.items()
    ],
    # history
    *cases(
        "history", SEQS, lambda v: ({"conversation_id": HELD, "after_seq": v},), prefix="after-seq-"
    ),
    *cases(
        "history",
        LIMITS,
        lambda v: ({"conversation_id": HELD, "after_seq": 0, "limit": v},),
        prefix="limit-",
    ),
    *cases("history", BAD_IDS, lambda v: ({"conversation_id": v, "after_seq": 0},), prefix="id-"),
    *cases(
        "history",
        {
            "no-payload": (),
            "unknown-author": ({"conversation_id": HELD, "after_seq": 0, "author": "visitor"},),
        },
        lambda args: args,
    ),
    # typing
    *cases("typing", BAD_IDS, lambda v: ({"conversation_id": v},), prefix="id-"),
    *cases(
        "typing",
        {
            "no-payload": (),
            "empty": ({},),
            "unknown-field": ({"conversation_id": HELD, "typing": True},),
            "extra-argument": ({"conversation_id": HELD}, {}),
        },
        lambda args: args,
    ),
    # close: a valid call would close the held conversation
    *cases(
        "close",
        {
            "not-in-the-list": "spam",
            "uppercase": "RESOLVED",
            "padded": "resolved ",
            "empty": "",
            "number": 1,
            "null": None,
            "true": True,
            "list": ["resolved"],
        },
        lambda v: ({"conversation_id": HELD, "outcome": v},),
        prefix="outcome-",
    ),
    *cases(
        "close", BAD_IDS, lambda v: ({"conversation_id": v, "outcome": "resolved"},), prefix="id-"
    ),
    *cases(
        "close",
        {
            "no-payload": (),
            "missing-outcome": ({"conversation_id": HELD},),
            "missing-conversation-id": ({"outcome": "resolved"},),
            "unknown-closed-by": (
                {"conversation_id": HELD, "outcome": "resolved", "closed_by": "visitor"},
            ),
            "unknown-status": ({"conversation_id": HELD, "outcome": "resolved", "status": "x"},),
            "extra-argument": ({"conversation_id": HELD, "outcome": "resolved"}, {}),
        },
        lambda args: args,
    ),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    """Put real conversation ids where the table has placeholders."""
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(fill(v, ids) for v in value)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def assert_refused(ack: Any, code: str) -> None:
    assert_error(ack, code)
    assert set(ack) == {"ok", "error"} and set(ack["error"]) == {"code", "message"}
    assert "Traceback" not in ack["error"]["message"]


async def test_the_tables_cover_every_event_of_both_namespaces() -> None:
    assert {case.values[0] for case in VISITOR_CASES} == {
        "start",
        "message",
        "history",
        "typing",
        "leave",
    }
    assert {case.values[0] for case in COUNSELOR_CASES} == {
        "claim",
        "message",
        "history",
        "typing",
        "close",
    }


@pytest.mark.parametrize(("event", "args", "code"), VISITOR_CASES)
async def test_a_malformed_visitor_event_is_refused_and_changes_nothing(
    server: Server, clients: Clients, event: str, args: tuple[Any, ...], code: str
) -> None:
    visitor = await clients.visitor()
    if event != "start":
        assert (await visitor.call("start", {}))["ok"]
    before = snapshot(server)

    assert_refused(await visitor.call(event, args), code)

    assert snapshot(server) == before
    assert "ok" in await visitor.call("history", {})  # the connection still answers


@pytest.mark.parametrize(("event", "args", "code"), COUNSELOR_CASES)
async def test_a_malformed_counselor_event_is_refused_and_changes_nothing(
    server: Server, clients: Clients, hana_session: str, event: str, args: Any, code: str
) -> None:
    held_visitor = await clients.visitor()
    held = (await held_visitor.call("start", {}))["conversation"]["id"]
    waiting = (await (await clients.visitor()).call("start", {}))["conversation"]["id"]
    hana = await clients.counselor(hana_session)
    assert (await hana.call("claim", {"conversation_id": held}))["ok"]
    before = snapshot(server)

    assert_refused(await hana.call(event, fill(args, {HELD: held, WAITING: waiting})), code)

    assert snapshot(server) == before
    assert (await hana.call("history", {"conversation_id": held}))["ok"]


# -- events that do not exist -------------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["/visitor", "/counselor"])
@pytest.mark.parametrize(
    "event",
    [
        "nope",
        "join",
        "claim_all",
        "admin",
        "MESSAGE",
        "",
        "__proto__",
        "on_message",
        # Reserved by Socket.IO for its own connect and disconnect: sent by a client, they
        # must not run the connect handler again with an environ of the client's choosing.
        "connect",
        "disconnect",
        "connect_error",
    ],
)
async def test_an_unknown_event_is_answered_unknown_event_and_changes_nothing(
    server: Server, clients: Clients, hana_session: str, namespace: str, event: str
) -> None:
    visitor = await clients.visitor()
    assert (await visitor.call("start", {}))["ok"]
    client = visitor
    if namespace == "/counselor":
        client = await clients.counselor(hana_session)
    before = snapshot(server)

    ack = await client.call(event, {"HTTP_COOKIE": "mg_session=x", "HTTP_ORIGIN": "x"})

    assert_refused(ack, "unknown_event")
    assert snapshot(server) == before
    # The visitor still holds its conversation; the counselor is still logged in.
    assert (await visitor.call("history", {}))["ok"]
    if namespace == "/counselor":
        assert_refused(await client.call("claim", {"conversation_id": "missing"}), "not_found")


@pytest.mark.parametrize("name", ['{"connect": 1}', '["disconnect"]', "7", "null", "true"])
async def test_an_event_whose_name_is_no_string_is_answered_unknown_event(
    server: Server, name: str
) -> None:
    """Raw Socket.IO, since a client library sends only string names: the name is any JSON."""
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        assert (await ws.receive_str()).startswith("0")
        await ws.send_str("40/visitor," + json.dumps({"partner": "demo"}))
        assert (await ws.receive_str()).startswith("40/visitor,")
        await ws.send_str(f"42/visitor,5[{name},{{}}]")
        answer = await ws.receive_str(timeout=10)
        assert answer.startswith("43/visitor,5") and "unknown_event" in answer, answer
        await ws.send_str('42/visitor,6["history",{}]')
        answer = await ws.receive_str(timeout=10)
        assert answer.startswith("43/visitor,6") and "no_conversation" in answer, answer
    assert "Traceback" not in server.logs()


async def test_the_other_namespaces_events_are_unknown(clients: Clients, hana_session: str) -> None:
    visitor = await clients.visitor()
    hana = await clients.counselor(hana_session)
    for event in ("claim", "close"):
        assert_refused(await visitor.call(event, {"conversation_id": "x"}), "unknown_event")
    for event in ("start", "leave"):
        assert_refused(await hana.call(event, {}), "unknown_event")


# -- floods and oversized packets ---------------------------------------------------------------


async def test_a_flood_is_rate_limited_and_every_ok_is_exactly_one_stored_message(
    server: Server, clients: Clients
) -> None:
    flooder = await clients.visitor()
    conversation_id = (await flooder.call("start", {}))["conversation"]["id"]
    bystander = await clients.visitor()
    sent = [client_id() for _ in range(60)]

    flood = asyncio.gather(
        *(flooder.call("message", {"client_id": c, "body": f"#{i}"}) for i, c in enumerate(sent))
    )
    served = await bystander.call("start", {})
    said = await bystander.call("message", {"client_id": client_id(), "body": "こんにちは"})
    acks = await flood

    assert served["ok"] and said == {"ok": True, "seq": 1, "created_at": said["created_at"]}
    codes = [ack["error"]["code"] for ack in acks if not ack["ok"]]
    assert set(codes) == {"rate_limited"}
    accepted = {c: ack["seq"] for c, ack in zip(sent, acks, strict=True) if ack["ok"]}
    assert len(accepted) >= 20  # the burst
    stored = server.query(
        "SELECT client_id, seq FROM message WHERE conversation_id = ? ORDER BY seq",
        (conversation_id,),
    )
    assert dict(stored) == accepted
    assert [seq for _, seq in stored] == list(range(1, len(accepted) + 1))


@pytest.fixture
def watch_disconnect() -> Iterator[Any]:
    def watch(client: Client) -> asyncio.Event:
        gone = asyncio.Event()
        client.sio.on("disconnect", lambda *_: gone.set(), namespace=client.namespace)
        return gone

    yield watch


async def test_an_engineio_packet_over_the_limit_closes_that_connection_only(
    server: Server, clients: Clients, transport: str, watch_disconnect: Any
) -> None:
    sender = await clients.visitor(transport)
    conversation_id = (await sender.call("start", {}))["conversation"]["id"]
    bystander = await clients.visitor(transport)
    assert (await bystander.call("start", {}))["ok"]
    gone = watch_disconnect(sender)
    body = "x" * (64 * 1024)
    assert len(json.dumps({"client_id": "big", "body": body})) > 65536

    await sender.emit("message", {"client_id": "big", "body": body})

    await asyncio.wait_for(gone.wait(), 10)
    assert not sender.sio.connected
    assert server.query(
        "SELECT COUNT(*) FROM message WHERE conversation_id = ?", (conversation_id,)
    ) == [(0,)]
    assert (await bystander.call("message", {"client_id": client_id(), "body": "まだ大丈夫"}))["ok"]
    newcomer = await clients.visitor(transport)
    assert (await newcomer.call("start", {}))["ok"]


async def test_a_frame_that_is_not_json_is_dropped_and_the_server_keeps_serving(
    clients: Clients,
) -> None:
    visitor = await clients.visitor()
    assert (await visitor.call("start", {}))["ok"]
    bystander = await clients.visitor()

    for frame in ('2/visitor,41["message",{', "2/visitor,42{]", '2/visitor,43["message",{"a":NaN]'):
        await visitor.sio.eio.send(frame)

    assert (await visitor.call("history", {}))["ok"]
    assert (await bystander.call("start", {}))["ok"]


async def test_deeply_nested_json_is_refused_without_harm(clients: Clients) -> None:
    visitor = await clients.visitor()
    assert (await visitor.call("start", {}))["ok"]
    nested: Any = "x"
    for _ in range(200):
        nested = [nested]

    ack = await visitor.call("message", {"client_id": client_id(), "body": nested})

    assert_refused(ack, INVALID)
    assert (await visitor.call("history", {}))["messages"] == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("\ud83d", id="high-surrogate"),
        pytest.param("a\udfffb", id="low-surrogate"),
        pytest.param("絵文字" + "😀"[:1] + "\ud83d", id="two-highs"),
    ],
)
async def test_a_body_with_a_lone_surrogate_is_refused_and_not_stored(
    server: Server, clients: Clients, body: str
) -> None:
    """JavaScript strings are UTF-16: a body cut in the middle of an emoji reaches us as an
    escaped lone surrogate, which no database or JSON encoder can store. It must be answered
    (so the widget stops retrying), not dropped."""
    visitor = await clients.visitor()
    conversation_id = (await visitor.call("start", {}))["conversation"]["id"]

    assert_refused(await visitor.call("message", {"client_id": client_id(), "body": body}), INVALID)

    assert server.query(
        "SELECT COUNT(*) FROM message WHERE conversation_id = ?", (conversation_id,)
    ) == [(0,)]
    assert (await visitor.call("message", {"client_id": client_id(), "body": "😀"}))["seq"] == 1
