"""Both stores give the same answers and refusals (``tests/stores.py`` runs each test on SQLite
and on PostgreSQL), and PostgreSQL decides seqs, retries and claims in the database, whichever
node writes."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from service.domain.accounts import User
from service.domain.audit import Actor
from service.domain.visitors import Survey
from service.errors import AppError, ErrorCode
from service.pg.migrate import apply_migrations, pg_migrations
from service.storage import Store, sha256
from tests import stores
from tests.backends import Postgres
from tests.stores import Backend

# Every test here runs on both backends.
backend = stores.backend
store = stores.store

ADMIN = Actor("admin")


async def desk_id(store: Store, key: str = "general") -> int:
    return next(d.id for d in await store.list_desks() if d.key == key)


@pytest.fixture
async def ready(store: Store) -> Store:
    """The default desk, a second desk, and two counselors."""
    await store.ensure_defaults("24/7")
    await store.insert_desk(ADMIN, "youth", {"name": "若者窓口"})
    await store.insert_user("hana", "花子", "counselor", "x", None)
    await store.insert_user("ren", "蓮", "counselor", "x", ["general"])
    return store


async def user(store: Store, username: str) -> User:
    credentials = await store.get_credentials(username)
    assert credentials is not None
    return credentials.user


async def waiting(store: Store, conversation_id: str, desk: str = "general") -> None:
    await store.insert_conversation(
        conversation_id, f"t-{conversation_id}", await desk_id(store, desk), None, None, "ja", None
    )


async def refused(code: ErrorCode, write: object) -> None:
    with pytest.raises(AppError) as caught:
        await write  # type: ignore[misc]
    assert caught.value.code == code


async def test_conversations_are_listed_by_desk_and_holder(ready: Store) -> None:
    created = await ready.insert_conversation(
        "c1", "token-1", await desk_id(ready), None, "poster", "en", "family"
    )
    assert (created.status, created.last_seq, created.campaign, created.lang) == (
        "waiting",
        0,
        "poster",
        "en",
    )
    await waiting(ready, "c2", "youth")
    assert await ready.get_conversation("c1") == created
    assert await ready.get_conversation_by_token("token-1") == created
    assert await ready.get_conversation("nope") is None
    assert [c.id for c in await ready.list_open_conversations(None)] == ["c1", "c2"]
    youth = await desk_id(ready, "youth")
    assert [c.id for c in await ready.list_open_conversations([youth])] == ["c2"]
    assert await ready.list_open_conversations([]) == []

    hana = await user(ready, "hana")
    joined = await ready.claim_conversation("c2", hana.id, 3)
    assert (joined.seq, joined.author, joined.body) == (1, "system", "counselor_joined")
    held = await ready.list_held_conversations(hana.id)
    assert [(c.id, c.status, c.counselor_name) for c in held] == [("c2", "active", "花子")]


async def test_seqs_are_gapless_and_a_retry_stores_nothing_new(ready: Store) -> None:
    await waiting(ready, "c1")
    sent = await asyncio.gather(
        *(ready.append_message("c1", "visitor", None, f"k{i}", f"hello {i}") for i in range(30))
    )
    assert sorted(s.message.seq for s in sent) == list(range(1, 31))
    assert all(s.created for s in sent)

    again = await ready.append_message("c1", "visitor", None, "k7", "a different body")
    first = next(s.message for s in sent if s.message.client_id == "k7")
    assert not again.created
    assert again.message == first
    messages, more = await ready.list_messages("c1", 0, 100)
    assert [m.seq for m in messages] == list(range(1, 31)) and not more
    conv = await ready.get_conversation("c1")
    assert conv is not None and conv.last_seq == 30

    # Concurrent resends of one message: one is stored, all answer it, no seq is used up.
    racing = await asyncio.gather(
        *(ready.append_message("c1", "visitor", None, "same", "once") for _ in range(10))
    )
    assert sum(r.created for r in racing) == 1
    assert {r.message.seq for r in racing} == {31}
    after = await ready.append_message("c1", "visitor", None, "next", "next")
    assert after.message.seq == 32


async def test_only_the_holder_writes_and_a_closed_chat_takes_nothing(ready: Store) -> None:
    hana, ren = await user(ready, "hana"), await user(ready, "ren")
    await waiting(ready, "c1")
    await refused(ErrorCode.NOT_FOUND, ready.append_message("c1", "counselor", hana.id, "a", "x"))
    await ready.claim_conversation("c1", hana.id)
    said = await ready.append_message("c1", "counselor", hana.id, "a", "こんにちは")
    assert (said.message.seq, said.created) == (2, True)
    await refused(ErrorCode.NOT_FOUND, ready.append_message("c1", "counselor", ren.id, "b", "x"))
    await refused(ErrorCode.NOT_FOUND, ready.append_message("gone", "visitor", None, "c", "x"))
    sent = await ready.append_message("c1", "visitor", None, "v1", "ありがとう")

    await ready.close_conversation("c1", "resolved", "counselor", hana.id)
    await refused(
        ErrorCode.CONVERSATION_CLOSED, ready.append_message("c1", "visitor", None, "v2", "x")
    )
    # A resend of an acknowledged message still answers it after the close.
    again = await ready.append_message("c1", "visitor", None, "v1", "ありがとう")
    assert (again.message, again.created) == (sent.message, False)
    messages, _ = await ready.list_messages("c1", 0, 10)
    assert [m.body for m in messages] == [
        "counselor_joined",
        "こんにちは",
        "ありがとう",
        "conversation_closed",
    ]


async def test_history_pages_in_one_snapshot(ready: Store) -> None:
    await waiting(ready, "c1")
    for i in range(5):
        await ready.append_message("c1", "visitor", None, f"k{i}", f"m{i}")
    history = await ready.get_history("c1", 1, 2)
    assert history is not None
    conv, messages, more = history
    assert conv.last_seq == 5 and [m.body for m in messages] == ["m1", "m2"] and more
    history = await ready.get_history("c1", 3, 2)
    assert history is not None and [m.seq for m in history[1]] == [4, 5] and not history[2]
    assert await ready.get_history("nope", 0, 10) is None
    assert await ready.list_messages("c1", 5, 10) == ([], False)
    # A client may ask after any seq the protocol allows (up to 2**53), far past a 32-bit one.
    far = await ready.get_history("c1", 2**53, 10)
    assert far is not None and far[1:] == ([], False)


async def test_claims_and_their_refusals(ready: Store) -> None:
    hana, ren = await user(ready, "hana"), await user(ready, "ren")
    for name in ("c1", "c2", "c3"):
        await waiting(ready, name)
    await waiting(ready, "y1", "youth")
    await ready.claim_conversation("c1", hana.id, 2)
    await refused(ErrorCode.ALREADY_CLAIMED, ready.claim_conversation("c1", ren.id, 2))
    await ready.claim_conversation("c2", hana.id, 2)
    await refused(ErrorCode.CHAT_LIMIT, ready.claim_conversation("c3", hana.id, 2))
    # Taken already says so first, even at the limit.
    await refused(ErrorCode.ALREADY_CLAIMED, ready.claim_conversation("c1", hana.id, 2))
    # ren does not work the youth desk.
    await refused(ErrorCode.NOT_FOUND, ready.claim_conversation("y1", ren.id))
    # As SQLite answers it: a conversation that is not waiting is taken.
    await refused(ErrorCode.ALREADY_CLAIMED, ready.claim_conversation("nope", ren.id))


async def test_close_outcomes(ready: Store) -> None:
    hana, ren = await user(ready, "hana"), await user(ready, "ren")
    for name in ("c1", "c2", "c3"):
        await waiting(ready, name)
    await ready.claim_conversation("c1", hana.id)
    await refused(ErrorCode.NOT_FOUND, ready.close_conversation("c1", "x", "counselor", ren.id))
    closed = await ready.close_conversation("c1", "resolved", "counselor", hana.id)
    assert closed.body == "conversation_closed"
    await refused(
        ErrorCode.CONVERSATION_CLOSED, ready.close_conversation("c1", "x", "counselor", hana.id)
    )
    assert (await ready.close_conversation("c2", "left", "system")).body == "visitor_left"
    quick = await ready.close_conversation("c3", "left", "visitor", quick_exit=True)
    assert quick.body == "visitor_quick_exit"
    await refused(ErrorCode.CONVERSATION_CLOSED, ready.close_conversation("nope", "x", "visitor"))
    conv = await ready.get_conversation("c1")
    assert conv is not None and (conv.status, conv.outcome) == ("closed", "resolved")


async def test_sessions(ready: Store) -> None:
    hana = await user(ready, "hana")
    assert await ready.count_users() == 2
    await ready.insert_session("s1", hana)
    await ready.insert_session("s2", hana)
    assert await ready.get_session_user("s1", "2000-01-01T00:00:00.000Z") == hana
    assert await ready.get_session_user("s1", "2999-01-01T00:00:00.000Z") is None
    assert await ready.get_session_user("unknown", "2000-01-01T00:00:00.000Z") is None
    await ready.touch_session("s1")
    await ready.change_own_password(Actor("hana", hana.id), hana.id, "new", sha256("s1"))
    assert await ready.get_session_user("s1", "2000-01-01T00:00:00.000Z") == hana
    assert await ready.get_session_user("s2", "2000-01-01T00:00:00.000Z") is None
    credentials = await ready.get_credentials("hana")
    assert credentials is not None and credentials.password_hash == "new"
    await ready.delete_session("s1")
    assert await ready.get_session_user("s1", "2000-01-01T00:00:00.000Z") is None
    ren = await user(ready, "ren")
    assert ren.desk_ids == frozenset({await desk_id(ready)})
    await refused(ErrorCode.ALREADY_EXISTS, ready.insert_user("ren", "x", "counselor", "x", None))

    await ready.record_failed_login("nobody")
    last, unlocked = await ready.login_unlocks_since(0)
    assert last > 0 and unlocked == []
    entries = await ready.list_audit()
    assert [e.action for e in entries][:2] == ["login.failed", "user.password_change"]


async def test_visitors_extras(ready: Store) -> None:
    await waiting(ready, "c1")
    assert await ready.mark_urgent("c1") is True
    assert await ready.mark_urgent("c1") is False
    conv = await ready.get_conversation("c1")
    assert conv is not None and conv.urgent
    await ready.set_code_word("c1", "さくら")
    await refused(ErrorCode.NOT_FOUND, ready.set_code_word("nope", "x"))
    survey = Survey(rating=4, helpful=True, comment="助かりました")
    await refused(ErrorCode.CONVERSATION_OPEN, ready.insert_survey("c1", survey))
    await refused(ErrorCode.NOT_FOUND, ready.insert_survey("nope", survey))
    await ready.close_conversation("c1", "left", "visitor")
    assert await ready.mark_urgent("c1") is False
    await ready.insert_survey("c1", survey)
    await refused(ErrorCode.ALREADY_ANSWERED, ready.insert_survey("c1", survey))
    assert await ready.get_survey("c1") is not None


async def test_settings_version_advances_on_a_desk_change(ready: Store) -> None:
    before = await ready.settings_version()
    await ready.update_desk(ADMIN, "youth", {"name": "若者の窓口"})
    after = await ready.settings_version()
    assert after > before
    await waiting(ready, "c1")
    await ready.append_message("c1", "visitor", None, "k", "x")
    assert await ready.settings_version() == after


async def test_writes_are_checked(ready: Store) -> None:
    assert await ready.check_writes(5.0) is None


async def test_content_is_sealed(ready: Store, backend: Backend) -> None:
    await waiting(ready, "c1")
    await ready.append_message("c1", "visitor", None, "k", "ひみつの話 secret-body")
    await ready.set_code_word("c1", "codeword-xyz")
    bodies = await backend.rows("SELECT body FROM message")
    words = await backend.rows("SELECT code_word FROM conversation")
    for (value,) in [*bodies, *words]:
        assert isinstance(value, bytes)
        assert b"secret-body" not in value and "ひみつ".encode() not in value
        assert b"codeword-xyz" not in value
    # The same key opens it on either backend: another store with the same sealer reads it.
    other = await backend.open_another()
    messages, _ = await other.list_messages("c1", 0, 10)
    assert messages[0].body == "ひみつの話 secret-body"


# PostgreSQL only: several nodes on one database.


async def test_two_nodes_racing_for_one_claim_one_wins(
    postgres: Postgres, backend: Backend, ready: Store
) -> None:
    if backend.name != "postgres":
        pytest.skip("several nodes share only PostgreSQL")
    other = await backend.open_another()
    hana, ren = await user(ready, "hana"), await user(ready, "ren")
    for round_ in range(10):
        name = f"race{round_}"
        await waiting(ready, name)
        results = await asyncio.gather(
            ready.claim_conversation(name, hana.id, 10),
            other.claim_conversation(name, ren.id, 10),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        losses = [r for r in results if isinstance(r, BaseException)]
        assert len(wins) == 1, results
        assert len(losses) == 1 and isinstance(losses[0], AppError), results
        assert losses[0].code == ErrorCode.ALREADY_CLAIMED
        messages, _ = await ready.list_messages(name, 0, 10)
        assert [m.body for m in messages] == ["counselor_joined"]


async def test_two_nodes_append_gaplessly(backend: Backend, ready: Store) -> None:
    if backend.name != "postgres":
        pytest.skip("several nodes share only PostgreSQL")
    other = await backend.open_another()
    await waiting(ready, "c1")
    sent = await asyncio.gather(
        *(
            (ready if i % 2 else other).append_message("c1", "visitor", None, f"k{i % 20}", "x")
            for i in range(60)
        )
    )
    assert sorted({s.message.seq for s in sent}) == list(range(1, 21))
    assert sum(s.created for s in sent) == 20
    count = await backend.rows("SELECT COUNT(*), MAX(seq) FROM message")
    assert count == [(20, 20)]


async def test_a_chat_limit_holds_across_nodes(backend: Backend, ready: Store) -> None:
    if backend.name != "postgres":
        pytest.skip("several nodes share only PostgreSQL")
    other = await backend.open_another()
    hana = await user(ready, "hana")
    for i in range(6):
        await waiting(ready, f"c{i}")
    results = await asyncio.gather(
        *((ready, other)[i % 2].claim_conversation(f"c{i}", hana.id, 2) for i in range(6)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 2
    assert len(await ready.list_held_conversations(hana.id)) == 2


async def test_migrations_run_at_once_from_two_nodes_apply_once(postgres: Postgres) -> None:
    url = postgres.new_database()
    first, second = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        applied = await asyncio.gather(apply_migrations(first), apply_migrations(second))
        names = [m.name for m in pg_migrations()]
        assert sorted(applied, key=len) == [[], names]
        assert await apply_migrations(first) == []
        count = await first.fetchval("SELECT COUNT(*) FROM schema_migrations")
        assert count == len(names)
        assert (
            await first.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
    finally:
        await first.close()
        await second.close()
