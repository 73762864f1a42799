"""Property-based fuzzing of every event on both namespaces: whatever JSON
arrives, the answer is an ack of the contract with a stable code, never ``internal_error``, the
server stays up, and a refused call changes nothing in the database.

One real server for the module; the clients live on an event loop of their own, in a thread,
so that hypothesis' synchronous tests can drive them and they keep answering pings meanwhile.
Each example gets fresh connections, so per-connection rate limits never answer in place of
validation.
"""

from __future__ import annotations

import asyncio
import threading
import typing
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import protocol
from service.config import Settings
from service.context import Context
from service.realtime.counselor import CounselorNamespace
from service.realtime.visitor import VisitorNamespace
from tests.support import Client, Server, every_row, login_sync, running_server

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def events_of(namespace_class: type[Any]) -> list[str]:
    return sorted(namespace_class(Context(Settings(), sio=None)).handlers())


VISITOR_EVENTS = events_of(VisitorNamespace)
COUNSELOR_EVENTS = events_of(CounselorNamespace)

# Every field name of the contract, so that generated objects often look almost right.
FIELD_NAMES = sorted(
    {
        name
        for value in vars(protocol).values()
        if isinstance(value, type) and issubclass(value, msgspec.Struct)
        for name in value.__struct_fields__
    }
)


# The request each event decodes (service/realtime/*.py); the test below checks the coverage.
REQUESTS: dict[str, type[msgspec.Struct]] = {
    **{f"visitor:{e}": protocol.EmptyRequest for e in ("typing",)},
    "visitor:start": protocol.StartRequest,
    "visitor:message": protocol.VisitorMessageRequest,
    "visitor:history": protocol.VisitorHistoryRequest,
    "visitor:leave": protocol.LeaveRequest,
    "visitor:code_word": protocol.CodeWordRequest,
    "visitor:survey": protocol.SurveyRequest,
    **{
        f"counselor:{e}": protocol.ConversationRequest
        for e in ("claim", "typing", "monitor", "unmonitor", "case")
    },
    "counselor:message": protocol.CounselorMessageRequest,
    "counselor:history": protocol.CounselorHistoryRequest,
    "counselor:close": protocol.CaseCloseRequest,
    "counselor:note": protocol.NoteRequest,
    "counselor:supervisor_note": protocol.NoteRequest,
    "counselor:tag": protocol.TagRequest,
    "counselor:risk": protocol.RiskRequest,
    "counselor:summary": protocol.SummaryRequest,
    "counselor:transfer": protocol.TransferRequest,
    "counselor:availability": protocol.AvailabilityRequest,
    "counselor:board": protocol.EmptyRequest,
}


class Loop:
    """An event loop running in its own thread; ``run`` waits for one coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Fuzzing:
    def __init__(self, server: Server, loop: Loop, sessions: dict[str, str]) -> None:
        self.server, self.loop, self.sessions = server, loop, sessions
        self.token, self.conversation_id = "", ""

    async def open_conversation(self) -> None:
        """Keeps one conversation open to fuzz against: a closed one is followed by a new one."""
        if not self.token or self.server.query(
            "SELECT 1 FROM conversation WHERE id = ? AND status = 'closed'", (self.conversation_id,)
        ):
            started = Client("/visitor")
            await started.connect(self.server.url, auth={"partner": "demo"})
            conversation = (await started.call("start", {}))["conversation"]
            await started.disconnect()
            self.token, self.conversation_id = conversation["token"], conversation["id"]

    async def visitor(self) -> Client:
        await self.open_conversation()
        client = Client("/visitor")
        await client.connect(self.server.url, auth={"partner": "demo", "token": self.token})
        return client

    async def counselor(self, role: str) -> Client:
        await self.open_conversation()
        client = Client("/counselor")
        await client.connect(
            self.server.url, headers={"Cookie": f"mg_session={self.sessions[role]}"}
        )
        return client

    async def call(self, client: Client, event: str, args: tuple[Any, ...]) -> Any:
        try:
            # A tuple is the call's argument list: () sends none, (a, b) one too many.
            return await client.sio.call(event, args, namespace=client.namespace, timeout=10)
        finally:
            await client.disconnect()


def rows(server: Server) -> dict[str, list[tuple[Any, ...]]]:
    """Every row as stored (sealed values compare as their bytes), a session's last use aside."""
    found = every_row(server)
    found["session"] = server.query(
        "SELECT id_hash, user_id, created_at FROM session ORDER BY id_hash"
    )
    return found


@pytest.fixture(scope="module")
def fuzzing() -> Iterator[Fuzzing]:
    with running_server() as server:
        server.add_user("hana", PASSWORD, role="counselor")
        server.add_user("sara", PASSWORD, role="supervisor")
        sessions = {
            "counselor": login_sync(server, "hana", PASSWORD),
            "supervisor": login_sync(server, "sara", PASSWORD),
        }
        loop = Loop()
        try:
            fuzz = Fuzzing(server, loop, sessions)
            loop.run(fuzz.open_conversation())
            yield fuzz
        finally:
            loop.close()


def known_ids(fuzz: Fuzzing) -> st.SearchStrategy[Any]:
    """The open conversation's id and token (looked up when drawn), and other likely ids."""
    current = {"<id>": lambda: fuzz.conversation_id, "<token>": lambda: fuzz.token}
    return st.sampled_from(["<id>", "<id>", "<token>", "general", "demo", 1, 0]).map(
        lambda v: current[v]() if isinstance(v, str) and v in current else v
    )


def json_values(ids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**80), max_value=2**80)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=80)
        | st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=3000)
        | ids
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(FIELD_NAMES) | st.text(max_size=10), inner, max_size=5
            )
        ),
        max_leaves=12,
    )


def literals(kind: Any) -> list[Any]:
    """The values of every ``Literal`` inside a type (through ``Annotated``, unions)."""
    if typing.get_origin(kind) is typing.Literal:
        return list(typing.get_args(kind))
    return [v for arg in typing.get_args(kind) for v in literals(arg)]


def plausible(name: str, kind: Any, ids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values of the right shape for a field, valid or just outside the bounds."""
    words = st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=40)
    text = words | words | st.text(max_size=40) | st.text(min_size=1900, max_size=4100)
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "conversation_id": ids,
        "client_id": st.uuids().map(lambda u: u.hex) | st.text(max_size=70),
        "after_seq": st.integers(min_value=-2, max_value=2**64),
        "limit": st.integers(min_value=-2, max_value=600),
        "rating": st.integers(min_value=-1, max_value=6),
        "tags": st.lists(st.sampled_from(["dv", "housing", "money"]) | st.text(max_size=70)),
        "to_user": st.sampled_from(["hana", "sara", "nobody"]),
        "desk": st.sampled_from(["general", "no-such-desk"]) | st.text(max_size=70),
        "to_desk": st.sampled_from(["general", "no-such-desk"]),
    }
    if values := literals(kind):
        return st.sampled_from(values) | text
    if name in by_name:
        return by_name[name]
    if "bool" in str(kind):
        return st.booleans() | st.none()
    return text


def struct_payloads(struct: type[msgspec.Struct], ids: st.SearchStrategy[Any]) -> Any:
    """Objects shaped like ``struct``, any field now and then of another JSON type, sometimes
    with an extra key."""

    def field_values(f: Any) -> st.SearchStrategy[Any]:
        right = plausible(f.name, f.type, ids)
        return st.one_of(right, right, right, value)

    value = json_values(ids)
    fields = msgspec.structs.fields(struct)
    shaped = st.fixed_dictionaries(
        {f.name: field_values(f) for f in fields if f.required},
        optional={f.name: field_values(f) for f in fields if not f.required},
    )
    extra = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), value, max_size=2)
    return shaped | st.tuples(shaped, extra).map(lambda both: {**both[1], **both[0]} | both[1])


def payloads(
    struct: type[msgspec.Struct], ids: st.SearchStrategy[Any]
) -> st.SearchStrategy[tuple[Any, ...]]:
    """The arguments of one call: usually one object shaped like the event's request,
    sometimes any object of the contract's field names, nothing, any JSON value, or one
    argument too many."""
    value = json_values(ids)
    almost_right = st.dictionaries(st.sampled_from(FIELD_NAMES), value, max_size=4)
    return st.one_of(
        *[struct_payloads(struct, ids).map(lambda v: (v,))] * 4,
        almost_right.map(lambda v: (v,)),
        value.map(lambda v: (v,)),
        st.just(()),
        st.tuples(almost_right, value),
    )


def assert_contract(ack: Any) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        error = ack["error"]
        assert isinstance(error["code"], str) and error["code"].islower(), ack
        assert error["code"] != "internal_error", ack
        assert isinstance(error["message"], str), ack


def check_call(fuzz: Fuzzing, make_client: Any, event: str, args: tuple[Any, ...]) -> None:
    client = fuzz.loop.run(make_client())
    before = rows(fuzz.server)
    ack = fuzz.loop.run(fuzz.call(client, event, args))
    assert_contract(ack)
    if not ack["ok"]:
        assert rows(fuzz.server) == before, f"a refused {event} changed the database"
    assert fuzz.server.process is not None and fuzz.server.process.poll() is None


@pytest.mark.parametrize("event", VISITOR_EVENTS)
def test_any_visitor_payload_gets_a_contract_answer(fuzzing: Fuzzing, event: str) -> None:
    @EXAMPLES
    @given(args=payloads(REQUESTS[f"visitor:{event}"], known_ids(fuzzing)))
    def fuzz(args: tuple[Any, ...]) -> None:
        check_call(fuzzing, fuzzing.visitor, event, args)

    fuzz()


@pytest.mark.parametrize("event", COUNSELOR_EVENTS)
def test_any_counselor_payload_gets_a_contract_answer(fuzzing: Fuzzing, event: str) -> None:
    @EXAMPLES
    @given(
        args=payloads(REQUESTS[f"counselor:{event}"], known_ids(fuzzing)),
        role=st.sampled_from(["counselor", "supervisor"]),
    )
    def fuzz(args: tuple[Any, ...], role: str) -> None:
        check_call(fuzzing, lambda: fuzzing.counselor(role), event, args)

    fuzz()


def test_the_fuzzed_events_are_all_the_events() -> None:
    fuzzed = {f"visitor:{e}" for e in VISITOR_EVENTS} | {f"counselor:{e}" for e in COUNSELOR_EVENTS}
    assert fuzzed == set(REQUESTS)
    assert {"start", "message", "leave", "survey"} <= set(VISITOR_EVENTS)
