"""The writer and its group commit, on real SQLite files: writes are committed by the writer
process, refusals come back with their code, a writer that dies or hangs costs at most the
batch it had, the queue is bounded, and close() answers every queued write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.crypto import Sealer, new_key, parse_keys
from service.db.store import SqliteStore
from service.db.writer import ProcessRunner
from service.errors import AppError, ErrorCode
from service.storage import StorageUnavailable, StoredMessage, WriteLimits
from tests.support import stopped

SEALER = Sealer(parse_keys(new_key()))
# Short enough for the tests to see a deadline pass, long enough for a loaded machine.
QUICK = WriteLimits(deadline=2.0, queue_limit=50, lock_wait=0.5)


async def open_store(path: Path, limits: WriteLimits = QUICK) -> SqliteStore:
    store = await SqliteStore.open(path, SEALER, writer_process=True, limits=limits)
    await store.ensure_defaults("24/7")
    return store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await open_store(tmp_path / "madoguchi.sqlite3")
    yield opened
    await opened.close()


def runner_of(store: SqliteStore) -> ProcessRunner:
    runner = store.writer.runner
    assert isinstance(runner, ProcessRunner)
    return runner


def writer_pid(store: SqliteStore) -> int:
    pid = runner_of(store).pid
    assert pid is not None
    return pid


Outcomes = list[tuple[bool, Any]]


def queue(store: SqliteStore, conversation_id: str, client_id: str, answers: Outcomes) -> None:
    """A visitor's message, queued as the server queues it; its outcome lands in ``answers``."""

    async def done(outcome: tuple[bool, StoredMessage | Exception]) -> None:
        answers.append(outcome)

    store.queue_message(conversation_id, "visitor", None, client_id, client_id, done)


async def send(store: SqliteStore, conversation_id: str, client_id: str) -> StoredMessage:
    return await store.append_message(conversation_id, "visitor", None, client_id, client_id)


async def new_conversation(store: SqliteStore, conversation_id: str) -> None:
    desk = (await store.list_desks())[0]
    await store.insert_conversation(
        conversation_id, f"token-{conversation_id}", desk.id, None, None, "ja", None
    )


def stored_client_ids(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT client_id FROM message WHERE author = 'visitor' ORDER BY seq")
        return [r[0] for r in rows]
    finally:
        conn.close()


async def test_a_message_committed_by_the_writer_process_is_read_back_after_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "madoguchi.sqlite3"
    store = await open_store(path)
    await new_conversation(store, "c1")
    stored = await store.append_message("c1", "visitor", None, "m1", "こんにちは <b>")
    await store.close()

    reopened = await SqliteStore.open(path, SEALER)  # the admin commands' thread writer
    try:
        messages, more = await reopened.list_messages("c1", 0, 10)
    finally:
        await reopened.close()
    assert stored.created and stored.message.seq == 1
    assert [(m.seq, m.body, m.client_id) for m in messages] == [(1, "こんにちは <b>", "m1")]
    assert not more


async def test_a_resend_answers_the_first_seq_across_the_process_boundary(
    store: SqliteStore,
) -> None:
    await new_conversation(store, "c1")
    first = await send(store, "c1", "m1")
    again = await send(store, "c1", "m1")
    assert (first.created, again.created) == (True, False)
    assert again.message.seq == first.message.seq


async def test_a_refusal_crosses_from_the_writer_process_with_its_code(store: SqliteStore) -> None:
    with pytest.raises(AppError) as refused:
        await send(store, "no-such-conversation", "m1")
    assert refused.value.code == ErrorCode.NOT_FOUND


async def test_an_operation_that_cannot_be_pickled_fails_alone(store: SqliteStore) -> None:
    await new_conversation(store, "c1")
    # Queued together, so they share one batch.
    bad = asyncio.ensure_future(store.writer.submit(lambda conn: None))
    good = asyncio.ensure_future(store.writer.submit(_count_conversations))
    with pytest.raises(TypeError, match="cannot be pickled"):
        await bad
    assert await good == 1


def _count_conversations(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM conversation").fetchone()[0])


async def test_a_killed_writer_process_is_replaced_for_the_next_write(store: SqliteStore) -> None:
    await new_conversation(store, "c1")
    first_pid = writer_pid(store)
    os.kill(first_pid, signal.SIGKILL)

    # The write that meets the dead process fails retry-safe (whether it was committed is
    # unknown: the client retries with the same client_id); a later one goes to a new process.
    with contextlib.suppress(StorageUnavailable):
        await send(store, "c1", "m1")
    stored = await send(store, "c1", "m1")

    assert writer_pid(store) != first_pid
    assert stored.message.seq == 1  # stored once, whichever write did it


async def test_a_hung_writer_fails_its_writes_within_the_deadline_and_is_replaced(
    store: SqliteStore,
) -> None:
    await new_conversation(store, "c1")
    await send(store, "c1", "m1")
    hung = writer_pid(store)
    with stopped(hung):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as failed:
            await send(store, "c1", "m2")
        assert time.monotonic() - started < 3 * QUICK.deadline, "answered, not hung"
        assert failed.value.code == ErrorCode.INTERNAL_ERROR
        # The hung process was killed (even stopped) and a new one answers.
        stored = await send(store, "c1", "m2")
    assert stored.message.seq == 2
    assert writer_pid(store) != hung
    assert runner_of(store).returncode is None
    with pytest.raises(ProcessLookupError):
        os.kill(hung, 0)


async def test_a_writer_that_cannot_restart_is_retried_with_pauses_that_refuse_at_once(
    store: SqliteStore, tmp_path: Path
) -> None:
    await new_conversation(store, "c1")
    path = tmp_path / "madoguchi.sqlite3"
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    aside = tmp_path / "aside"
    aside.mkdir()
    for f in files:  # a writer started now cannot open the database
        f.rename(aside / f.name)
    path.mkdir()
    os.kill(writer_pid(store), signal.SIGKILL)
    try:
        deadline = time.monotonic() + 20
        answers: Outcomes = []
        while True:  # until a restart has failed and the store pauses before the next one
            assert time.monotonic() < deadline, "writes were never refused at once"
            try:
                queue(store, "c1", "m1", answers)
            except StorageUnavailable as refused:  # raised at once: nothing was queued
                assert refused.code == ErrorCode.INTERNAL_ERROR
                break
            await asyncio.sleep(0.05)
        assert await store.check_writes(1.0) is not None
    finally:
        path.rmdir()
        for f in files:
            (aside / f.name).rename(f)
    deadline = time.monotonic() + 20
    while await store.check_writes(1.0) is not None:
        assert time.monotonic() < deadline, "the writer never came back"
    assert (await send(store, "c1", "m1")).message.seq == 1


async def test_the_health_check_fails_while_a_batch_hangs_and_passes_once_writes_commit(
    store: SqliteStore,
) -> None:
    await new_conversation(store, "c1")
    assert await store.check_writes(1.0) is None
    with stopped(writer_pid(store)):
        reason = await store.check_writes(0.3)
    assert reason is not None
    deadline = time.monotonic() + 10
    while await store.check_writes(1.0) is not None:
        assert time.monotonic() < deadline, "writes never recovered"


async def test_concurrent_health_checks_share_one_probe_write(tmp_path: Path) -> None:
    store = await open_store(
        tmp_path / "madoguchi.sqlite3", WriteLimits(deadline=30.0, queue_limit=3)
    )
    try:
        with stopped(writer_pid(store)):
            reasons = await asyncio.gather(*(store.check_writes(0.3) for _ in range(20)))
            # A flood of checks took one place in the queue, so writes still fit.
            answers: Outcomes = []
            queue(store, "c1", "m1", answers)
        assert all(r is not None and "did not commit" in r for r in reasons), reasons
    finally:
        await store.close()


async def test_past_the_queue_bound_new_writes_are_refused_at_once_and_the_queued_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "madoguchi.sqlite3"
    patient = WriteLimits(deadline=30.0, queue_limit=20, lock_wait=0.5)
    store = await open_store(path, patient)
    try:
        await new_conversation(store, "c1")
        answers: Outcomes = []
        with stopped(writer_pid(store)):
            for i in range(20):
                queue(store, "c1", f"m{i:02d}", answers)
            with pytest.raises(AppError) as refused:
                queue(store, "c1", "one-too-many", answers)
            assert refused.value.code == ErrorCode.RATE_LIMITED
            with pytest.raises(AppError):
                await send(store, "c1", "also-too-many")
        deadline = time.monotonic() + 10
        while len(answers) < 20:
            assert time.monotonic() < deadline, "the queued writes were never answered"
            await asyncio.sleep(0.05)
        assert all(ok for ok, _ in answers)
        assert [m.message.seq for _, m in answers] == list(range(1, 21))
    finally:
        await store.close()
    assert stored_client_ids(path) == [f"m{i:02d}" for i in range(20)]


async def test_close_commits_every_queued_write(tmp_path: Path) -> None:
    path = tmp_path / "madoguchi.sqlite3"
    store = await open_store(path, WriteLimits(deadline=10.0))
    await new_conversation(store, "c1")
    answers: Outcomes = []
    for i in range(200):
        queue(store, "c1", f"m{i:03d}", answers)
    await store.close()
    assert len(answers) == 200 and all(ok for ok, _ in answers)
    assert stored_client_ids(path) == [f"m{i:03d}" for i in range(200)]
    with pytest.raises(StorageUnavailable):
        queue(store, "c1", "after-close", answers)


async def test_close_with_a_hung_writer_refuses_every_queued_write_and_ends_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "madoguchi.sqlite3"
    store = await open_store(path)
    await new_conversation(store, "c1")
    hung = writer_pid(store)
    answers: Outcomes = []
    with stopped(hung):
        for i in range(30):
            queue(store, "c1", f"m{i:02d}", answers)
        started = time.monotonic()
        await store.close()
        assert time.monotonic() - started < 4 * QUICK.deadline, "close() did not hang"
    assert len(answers) == 30
    assert all(not ok and isinstance(err, StorageUnavailable) for ok, err in answers)
    with pytest.raises(ProcessLookupError):
        os.kill(hung, 0)
    assert stored_client_ids(path) == []


async def test_a_database_locked_by_another_program_fails_writes_quickly_then_recovers(
    store: SqliteStore, tmp_path: Path
) -> None:
    await new_conversation(store, "c1")
    other = sqlite3.connect(tmp_path / "madoguchi.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as failed:
            await send(store, "c1", "m1")
        assert time.monotonic() - started < QUICK.deadline, "a lock error, not the deadline"
        assert "locked" in failed.value.reason
        assert "locked" in (await store.check_writes(QUICK.deadline) or "")
        pid = writer_pid(store)
    finally:
        other.execute("ROLLBACK")
        other.close()
    stored = await send(store, "c1", "m1")
    assert stored.message.seq == 1
    assert await store.check_writes(1.0) is None
    assert writer_pid(store) == pid, "a lock is not the writer's fault: it is not replaced"


async def test_closing_the_store_ends_the_writer_process(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "madoguchi.sqlite3")
    runner = runner_of(store)
    await store.close()
    assert runner.returncode == 0


def test_the_key_and_refusals_survive_the_trip_to_the_writer_process() -> None:
    sealer = pickle.loads(pickle.dumps(SEALER))  # noqa: S301 (our own bytes)
    assert sealer.open(SEALER.seal("秘密", "aad"), "aad") == "秘密"
    refusal = pickle.loads(  # noqa: S301 (our own bytes)
        pickle.dumps(AppError(ErrorCode.CONVERSATION_CLOSED, "closed"))
    )
    assert (refusal.code, refusal.message) == (ErrorCode.CONVERSATION_CLOSED, "closed")
