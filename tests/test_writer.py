"""The server's writer process: writes are committed there, refusals come back with their code,
and a writer that dies costs at most the batch it had."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.crypto import Sealer, new_key, parse_keys
from service.db.store import Store, StoredMessage
from service.db.writer import ProcessWriter, WriterGone
from service.errors import AppError, ErrorCode

SEALER = Sealer(parse_keys(new_key()))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "madoguchi.sqlite3", SEALER, writer_process=True)
    await opened.ensure_defaults("24/7")
    yield opened
    await opened.close()


def writer_of(store: Store) -> ProcessWriter:
    writer = store._writer
    assert isinstance(writer, ProcessWriter)
    return writer


async def insert_message(
    store: Store, conversation_id: str, client_id: str, body: str
) -> StoredMessage:
    """A visitor's message, as the server queues it, awaited until its outcome."""
    answered: asyncio.Future[StoredMessage] = asyncio.get_running_loop().create_future()

    async def done(outcome: tuple[bool, StoredMessage | Exception]) -> None:
        ok, value = outcome
        if ok:
            answered.set_result(value)  # type: ignore[arg-type]
        else:
            answered.set_exception(value)  # type: ignore[arg-type]

    store.queue_message(conversation_id, "visitor", None, client_id, body, done)
    return await answered


async def new_conversation(store: Store, conversation_id: str) -> None:
    desk = (await store.list_desks())[0]
    await store.insert_conversation(
        conversation_id, f"token-{conversation_id}", desk.id, None, None, "ja", None
    )


async def test_a_message_committed_by_the_writer_process_is_read_back_after_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "madoguchi.sqlite3"
    store = await Store.open(path, SEALER, writer_process=True)
    await store.ensure_defaults("24/7")
    await new_conversation(store, "c1")
    stored = await insert_message(store, "c1", "m1", "こんにちは <b>")
    await store.close()

    reopened = await Store.open(path, SEALER)  # the admin commands' thread writer
    try:
        messages, more = await reopened.list_messages("c1", 0, 10)
    finally:
        await reopened.close()
    assert stored.created and stored.message.seq == 1
    assert [(m.seq, m.body, m.client_id) for m in messages] == [(1, "こんにちは <b>", "m1")]
    assert not more


async def test_a_resend_answers_the_first_seq_across_the_process_boundary(store: Store) -> None:
    await new_conversation(store, "c1")
    first = await insert_message(store, "c1", "m1", "one")
    again = await insert_message(store, "c1", "m1", "one")
    assert (first.created, again.created) == (True, False)
    assert again.message.seq == first.message.seq


async def test_a_refusal_crosses_from_the_writer_process_with_its_code(store: Store) -> None:
    with pytest.raises(AppError) as refused:
        await insert_message(store, "no-such-conversation", "m1", "hello")
    assert refused.value.code == ErrorCode.NOT_FOUND


async def test_an_operation_that_cannot_be_pickled_fails_alone(store: Store) -> None:
    await new_conversation(store, "c1")
    writer = writer_of(store)
    # Queued together, so they share one batch.
    bad = writer.submit(lambda conn: None)
    good = writer.submit(_count_conversations)
    with pytest.raises(TypeError, match="cannot be pickled"):
        await bad
    assert await good == 1


def _count_conversations(conn: object) -> int:
    return int(conn.execute("SELECT count(*) FROM conversation").fetchone()[0])  # type: ignore[attr-defined]


async def test_a_killed_writer_process_is_replaced_for_the_next_write(store: Store) -> None:
    await new_conversation(store, "c1")
    writer = writer_of(store)
    first_pid = writer.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)

    # The write that meets the dead process may fail (its outcome is unknown: the client
    # retries with the same client_id); the next one goes to a new process.
    with contextlib.suppress(WriterGone):
        await insert_message(store, "c1", "m1", "one")
    stored = await insert_message(store, "c1", "m1", "one")

    assert writer.pid not in (None, first_pid)
    assert stored.message.seq == 1  # stored once, whichever write did it


async def test_closing_the_store_ends_the_writer_process(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "madoguchi.sqlite3", SEALER, writer_process=True)
    writer = writer_of(store)
    await store.close()
    assert writer._child is not None
    assert writer._child.returncode == 0


def test_the_key_and_refusals_survive_the_trip_to_the_writer_process() -> None:
    sealer = pickle.loads(pickle.dumps(SEALER))  # noqa: S301 (our own bytes)
    assert sealer.open(SEALER.seal("秘密", "aad"), "aad") == "秘密"
    refusal = pickle.loads(  # noqa: S301 (our own bytes)
        pickle.dumps(AppError(ErrorCode.CONVERSATION_CLOSED, "closed"))
    )
    assert (refusal.code, refusal.message) == (ErrorCode.CONVERSATION_CLOSED, "closed")
