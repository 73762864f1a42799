"""The SQLite store: the facade that implements ``service.storage.Store``.

Two connections: one only reads (on a thread of its own, ``thread.py``), one only writes. Writes
are queued and committed in batches (group commit, ``batching.py``) by the writer: a child
process for the server (``writer.py``), a thread for the admin commands. A caller's write
returns only after its COMMIT: that is what lets the service acknowledge a message only once it
is durable.

The SQL is in modules by area, mixed in here: accounts and sessions (``sessions.py``),
conversations and messages (``conversations.py``), what admins set up (``admin.py``), a
visitor's urgent choice, code word and survey (``visitors.py``), casework (``casework.py``),
closed conversations (``closed.py``), the facts reports count (``reports.py``), erasing
content past its retention (``retention.py``), change detection (``changes.py``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from service.crypto import Sealer
from service.db.admin import AdminQueries
from service.db.batching import Done, GroupCommit
from service.db.casework import CaseworkQueries
from service.db.changes import ChangeQueries
from service.db.closed import ClosedQueries
from service.db.connections import migrate, open_reading_connection, open_writing_connection
from service.db.conversations import ConversationQueries
from service.db.reports import ReportQueries
from service.db.retention import RetentionQueries
from service.db.sealing import check_key, rotate
from service.db.sessions import SessionQueries
from service.db.thread import ConnectionThread, ThreadRunner
from service.db.training import TrainingQueries
from service.db.visitors import VisitorQueries
from service.db.waits import WaitQueries
from service.db.writer import ProcessRunner
from service.storage import WriteLimits

T = TypeVar("T")

PATIENT = WriteLimits(deadline=600.0, lock_wait=30.0)


class SqliteStore(
    SessionQueries,
    ConversationQueries,
    AdminQueries,
    VisitorQueries,
    CaseworkQueries,
    ClosedQueries,
    ReportQueries,
    RetentionQueries,
    ChangeQueries,
    WaitQueries,
    TrainingQueries,
):
    """Open with :meth:`open`; all methods are coroutine-safe."""

    def __init__(self, reader: ConnectionThread, writer: GroupCommit) -> None:
        self._reader = reader
        self.writer = writer
        """The group commit; ``writer.runner`` is what runs its batches (tests stop it)."""

    @classmethod
    async def open(
        cls,
        path: Path,
        sealer: Sealer | None = None,
        *,
        writer_process: bool = False,
        limits: WriteLimits | None = None,
    ) -> SqliteStore:
        """Open (creating or migrating) the database. Without ``sealer`` (the admin commands),
        reading or writing sealed content fails; with one, a key that did not seal this
        database is refused (:func:`service.db.sealing.check_key`). ``writer_process`` (the
        server) commits in a child process rather than on a thread. Without ``limits``, the
        admin commands' patient ones: a command may wait for the server or a VACUUM."""
        limits = limits or PATIENT
        await asyncio.to_thread(migrate, path)
        reader = await ConnectionThread.open(
            functools.partial(open_reading_connection, path, sealer), "madoguchi-reader"
        )
        runner: ProcessRunner | ThreadRunner
        if writer_process:
            runner = ProcessRunner(path, sealer, limits.lock_wait)
        else:
            runner = ThreadRunner(
                functools.partial(open_writing_connection, path, sealer, limits.lock_wait)
            )
        try:
            await runner.restart()
        except BaseException:
            await runner.close()
            await reader.close()
            raise
        store = cls(reader, GroupCommit(runner, limits))
        if sealer is not None:
            try:
                await store._write(check_key, sealer)
            except BaseException:
                await store.close()
                raise
        return store

    async def close(self) -> None:
        try:
            await self.writer.close()
        finally:
            await self._reader.close()

    async def check_writes(self, timeout: float) -> str | None:
        return await self.writer.check(timeout)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._reader.run(fn, *args)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the next batch's transaction; return once committed.
        ``fn`` is a module-level function and ``args`` plain data: both are pickled."""
        return await self.writer.submit(fn, *args)

    def _queue(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        self.writer.submit_later(fn, args, done)

    async def _maintain(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the writing connection between two batches, outside any transaction
        (a checkpoint, a VACUUM)."""
        return await self.writer.maintain(fn, *args)

    async def reseal(self, sealer: Sealer) -> int:
        """Seal every sealed value with ``sealer``'s first key (``madoguchi rotate-key``); open
        the store without a sealer first, or its key check will have resealed everything."""
        return await self._write(rotate, sealer)
