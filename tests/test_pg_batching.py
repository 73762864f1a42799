"""PostgreSQL's group commit (``service/pg/batching.py``): many writes share one transaction,
a refusal undoes only its own write, and every caller is answered, whatever happens to the
queue, the store or the connection.

To hold a batch in flight, a test locks a conversation's row from a connection of its own:
the batch's append to that conversation waits for the lock, and the writes queued meanwhile
make the next batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from service.crypto import Sealer, new_key, parse_keys
from service.errors import AppError, ErrorCode
from service.pg.store import PgStore
from service.storage import StorageUnavailable, StoredMessage, WriteLimits
from tests.backends import Postgres

PATIENT = WriteLimits(deadline=20.0, queue_limit=10_000, lock_wait=20.0)
WAIT = 20.0
"""Seconds a test waits for a condition before it fails."""


@dataclass
class Db:
    store: PgStore
    admin: Any
    """A superuser connection of the test's own (no ``madoguchi`` application name)."""


async def open_db(postgres: Postgres, limits: WriteLimits) -> tuple[PgStore, Any]:
    url = postgres.new_database()
    store = await PgStore.open(url, Sealer(parse_keys(new_key())), limits=limits)
    await store.ensure_defaults("24/7")
    return store, await asyncpg.connect(postgres.admin_url(url))


@pytest.fixture
async def db(postgres: Postgres) -> AsyncIterator[Db]:
    store, admin = await open_db(postgres, PATIENT)
    try:
        yield Db(store, admin)
    finally:
        await store.close()
        await admin.close()


async def waiting(store: PgStore, *conversation_ids: str) -> None:
    desk_id = (await store.list_desks())[0].id
    for conversation_id in conversation_ids:
        await store.insert_conversation(
            conversation_id, f"t-{conversation_id}", desk_id, None, None, "ja", None
        )


async def lock_row(admin: Any, conversation_id: str) -> Any:
    """Lock a conversation's row until the returned transaction ends."""
    transaction = admin.transaction()
    await transaction.start()
    await admin.execute("SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE", conversation_id)
    return transaction


async def until(condition: Any) -> None:
    """Wait until ``await condition()`` is true, or fail after ``WAIT`` seconds."""
    async with asyncio.timeout(WAIT):
        while not await condition():
            await asyncio.sleep(0.01)


async def batch_waits_for_lock(admin: Any) -> None:
    """A batch of the store is in flight, waiting for a row the test holds."""

    async def waiting_for_lock() -> bool:
        return bool(
            await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'madoguchi' AND wait_event_type = 'Lock'"
            )
        )

    await until(waiting_for_lock)


def held_write(store: PgStore, client_id: str = "b1") -> asyncio.Task[StoredMessage]:
    """An append to the locked conversation ``blocker``: its batch waits for the lock."""
    return asyncio.ensure_future(store.append_message("blocker", "visitor", None, client_id, "x"))


async def test_concurrent_appends_commit_gaplessly_in_shared_transactions(db: Db) -> None:
    conversations = [f"c{i}" for i in range(4)]
    await waiting(db.store, *conversations)
    # Every message is sent twice at once: a resend must find the first and advance nothing.
    sends = [
        db.store.append_message(conv, author, None, f"{author}-{n}", f"{conv} {author} {n}")
        for n in range(40)
        for conv in conversations
        for author in ("visitor", "visitor", "counselor")
    ]
    sent = await asyncio.gather(*sends)
    for conv in conversations:
        mine = [s for s in sent if s.message.conversation_id == conv]
        seqs = {(s.message.client_id, s.message.seq) for s in mine}
        assert sorted(seq for _, seq in seqs) == list(range(1, 81))  # one seq per client_id
        assert sum(s.created for s in mine) == 80
        stored, more = await db.store.list_messages(conv, 0, 200)
        assert not more and [m.seq for m in stored] == list(range(1, 81))
        assert {(m.client_id, m.seq) for m in stored} == seqs
    rows = await db.admin.fetch(
        "SELECT count(*) AS n, count(DISTINCT xmin::text) AS xacts FROM message"
    )
    # 320 messages, sent at once: a few batches, not a transaction each.
    assert rows[0]["n"] == 320
    assert rows[0]["xacts"] < 10


async def test_a_refusal_in_a_batch_refuses_only_its_own_write(db: Db) -> None:
    await waiting(db.store, "blocker", "c1", "closed", "c3")
    await db.store.close_conversation("closed", "left", "visitor")
    lock = await lock_row(db.admin, "blocker")
    held = held_write(db.store)
    await batch_waits_for_lock(db.admin)
    # All queued while the batch before them waits: they make one batch.
    queued = asyncio.gather(
        db.store.append_message("c1", "visitor", None, "k1", "first"),
        db.store.append_message("closed", "visitor", None, "k1", "too late"),
        db.store.append_message("c3", "visitor", None, "k1", "other"),
        db.store.append_message("c1", "counselor", 999, "k9", "not theirs"),
        db.store.append_message("c1", "visitor", None, "k2", "second"),
        return_exceptions=True,
    )
    await lock.rollback()
    assert (await held).created
    first, closed, other, not_theirs, second = await queued
    assert isinstance(closed, AppError) and closed.code == ErrorCode.CONVERSATION_CLOSED
    assert isinstance(not_theirs, AppError) and not_theirs.code == ErrorCode.NOT_FOUND
    assert isinstance(first, StoredMessage) and first.message.seq == 1
    assert isinstance(second, StoredMessage) and second.message.seq == 2
    assert isinstance(other, StoredMessage) and other.message.seq == 1
    messages, _ = await db.store.list_messages("closed", 0, 10)
    assert [m.body for m in messages] == ["visitor_left"]
    stored, _ = await db.store.list_messages("c1", 0, 10)
    assert [(m.seq, m.body) for m in stored] == [(1, "first"), (2, "second")]


async def test_writes_past_the_queue_limit_are_refused_at_once(postgres: Postgres) -> None:
    limits = WriteLimits(deadline=PATIENT.deadline, queue_limit=3, lock_wait=PATIENT.lock_wait)
    store, admin = await open_db(postgres, limits)
    try:
        await waiting(store, "blocker", "c1")
        lock = await lock_row(admin, "blocker")
        held = held_write(store)
        await batch_waits_for_lock(admin)
        queued = [
            asyncio.ensure_future(store.append_message("c1", "visitor", None, f"k{i}", "x"))
            for i in range(2)
        ]
        # Tasks run in the order created: this one after the two queued above.
        with pytest.raises(AppError) as refused:
            await asyncio.ensure_future(
                store.append_message("c1", "visitor", None, "k9", "one too many")
            )
        assert refused.value.code == ErrorCode.RATE_LIMITED
        assert not isinstance(refused.value, StorageUnavailable)
        await lock.rollback()
        assert [s.message.seq for s in await asyncio.gather(held, *queued)] == [1, 1, 2]
        assert (await store.append_message("c1", "visitor", None, "k9", "now")).message.seq == 3
    finally:
        await store.close()
        await admin.close()


async def test_close_answers_every_queued_write(postgres: Postgres) -> None:
    store, admin = await open_db(postgres, PATIENT)
    try:
        await waiting(store, "blocker", "c1")
        lock = await lock_row(admin, "blocker")
        held = held_write(store)
        await batch_waits_for_lock(admin)
        queued = [
            asyncio.ensure_future(store.append_message("c1", "visitor", None, f"k{i}", "x"))
            for i in range(5)
        ]
        # Tasks run in the order created: the writes queue, then the store closes, then one
        # more write comes too late.
        closing = asyncio.ensure_future(store.close())
        with pytest.raises(StorageUnavailable):
            await asyncio.ensure_future(store.append_message("c1", "visitor", None, "late", "x"))
        assert not closing.done() and not any(q.done() for q in queued)
        await lock.rollback()
        await closing
        assert all(q.done() for q in [held, *queued])
        assert [q.result().message.seq for q in queued] == [1, 2, 3, 4, 5]
        rows = await admin.fetch("SELECT count(*) FROM message WHERE conversation_id = 'c1'")
        assert rows[0][0] == 5
    finally:
        await store.close()
        await admin.close()


async def test_a_write_past_its_deadline_is_unavailable(postgres: Postgres) -> None:
    limits = WriteLimits(deadline=0.5, queue_limit=100, lock_wait=PATIENT.lock_wait)
    store, admin = await open_db(postgres, limits)
    try:
        await waiting(store, "blocker")
        lock = await lock_row(admin, "blocker")
        with pytest.raises(StorageUnavailable):
            await store.append_message("blocker", "visitor", None, "b1", "x")
        await lock.rollback()
        sent = await store.append_message("blocker", "visitor", None, "b1", "x")
        assert sent.created and sent.message.seq == 1
    finally:
        await store.close()
        await admin.close()


async def test_a_lost_connection_fails_its_batch_and_the_next_write_commits(db: Db) -> None:
    await waiting(db.store, "blocker")
    lock = await lock_row(db.admin, "blocker")
    held = held_write(db.store)
    await batch_waits_for_lock(db.admin)
    killed = await db.admin.fetch(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
        " WHERE application_name = 'madoguchi'"
    )
    assert killed and all(r[0] for r in killed)
    with pytest.raises(StorageUnavailable):
        await held
    await lock.rollback()
    sent = await db.store.append_message("blocker", "visitor", None, "b1", "x")
    assert sent.created and sent.message.seq == 1
    assert await db.store.check_writes(WAIT) is None
