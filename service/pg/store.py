"""The PostgreSQL store: the facade that implements ``service.storage.Store`` over asyncpg.

A pool of connections shared by reads and writes. Writes are committed in batches, one batch
at a time per process (group commit, ``batching.py``): a write returns only after its batch's
COMMIT, and a refusal undoes only its own write. The database, not this process, decides what
concurrent writers of several nodes may do: row locks and conditional UPDATEs order message
seqs and claims (``conversations.py``), constraints make retries idempotent. Long maintenance
writes (a key rotation, a retention purge) run alone, in a transaction of their own
(``_write_alone``), so that they never hold a batch's callers.

The SQL is in modules by area, mixed in here like ``SqliteStore``'s: accounts and sessions
(``sessions.py``), conversations and messages (``conversations.py``), a visitor's urgent choice,
code word and survey (``visitors.py``), change detection (``changes.py``); the other areas add
their mixins to the base list below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from service.crypto import Sealer
from service.errors import AppError
from service.pg.admin import AdminQueries
from service.pg.batching import GroupCommit, unavailable_reason
from service.pg.casework import CaseworkQueries
from service.pg.changes import ChangeQueries
from service.pg.closed import ClosedQueries
from service.pg.conversations import ConversationQueries
from service.pg.migrate import apply_migrations
from service.pg.reports import ReportQueries
from service.pg.retention import RetentionQueries
from service.pg.rows import RetryWrite
from service.pg.sealing import Db, check_key, rotate
from service.pg.sessions import SessionQueries
from service.pg.training import TrainingQueries
from service.pg.visitors import VisitorQueries
from service.pg.waits import WaitQueries
from service.storage import StorageUnavailable, WriteLimits

T = TypeVar("T")
log = logging.getLogger("madoguchi.pg")

PATIENT = WriteLimits(deadline=600.0, lock_wait=30.0)
POOL_SIZE = 10
"""Connections per process; the database's ``max_connections`` must cover every node's."""
_RETRIES = 3
"""Attempts of a write run alone that lost a deadlock or serialization conflict."""


class PgStore(
    SessionQueries,
    ConversationQueries,
    VisitorQueries,
    CaseworkQueries,
    ClosedQueries,
    AdminQueries,
    ReportQueries,
    RetentionQueries,
    ChangeQueries,
    WaitQueries,
    TrainingQueries,
):
    """Open with :meth:`open`; all methods are coroutine-safe."""

    def __init__(self, pool: Any, sealer: Sealer | None, limits: WriteLimits) -> None:
        self._pool = pool
        self._sealer = sealer
        self._limits = limits
        self._closing = False
        self._batches = GroupCommit(pool, sealer, limits)

    @classmethod
    async def open(
        cls, url: str, sealer: Sealer | None = None, *, limits: WriteLimits | None = None
    ) -> PgStore:
        """Connect, apply pending migrations, and (with ``sealer``) refuse a key that did not
        seal this database (:func:`service.pg.sealing.check_key`). Without ``limits``, the
        admin commands' patient ones."""
        limits = limits or PATIENT
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                server_settings={
                    "application_name": "madoguchi",
                    # A row another node keeps locked longer than this fails the write quickly
                    # (StorageUnavailable) instead of running into its deadline.
                    "lock_timeout": str(max(1, round(limits.lock_wait * 1000))),
                    # A hung node must not hold a conversation's lock for ever.
                    "idle_in_transaction_session_timeout": str(
                        max(10_000, round(limits.deadline * 4000))
                    ),
                },
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            reason = unavailable_reason(exc) or f"cannot connect to the database: {exc}"
            raise StorageUnavailable(reason) from exc
        try:
            async with pool.acquire() as conn:
                applied = await apply_migrations(conn)
            if applied:
                log.info("database migrated: %s", ", ".join(applied))
        except BaseException:
            await pool.close()
            raise
        store = cls(pool, sealer, limits)
        try:
            if sealer is not None:
                # Under the schema lock, and possibly resealing everything: alone.
                await store._write_alone(check_key, sealer)
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        """Commit (or answer) every queued write, wait for the reads and writes under way (at
        most a deadline), then close every connection."""
        await self._batches.close()
        self._closing = True
        try:
            await asyncio.wait_for(self._pool.close(), self._limits.deadline)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            self._pool.terminate()

    async def check_writes(self, timeout: float) -> str | None:
        """A tiny real write, queued like any other: a transaction that takes a transaction id
        commits (a WAL flush; refused on a read-only standby)."""
        try:
            async with asyncio.timeout(timeout):
                await self._batches.submit(_probe_write, ())
        except TimeoutError:
            return f"a write did not commit within {timeout:g}s"
        except StorageUnavailable as exc:
            return exc.reason
        except AppError as exc:  # the queue is full
            return exc.message
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return unavailable_reason(exc) or f"a write failed: {type(exc).__name__}"
        return None

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(Db(conn, sealer), *args)`` on a connection of the pool, outside a
        transaction (each statement sees what was committed when it started)."""
        try:
            async with self._connection(self._limits.deadline) as conn:
                return await fn(Db(conn, self._sealer), *args)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _raise_unavailable(exc)
            raise

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(Db(conn, sealer), *args)`` in the next batch of writes; return once
        committed. Within ``WriteLimits.deadline`` or StorageUnavailable; ``rate_limited`` at
        once if too many writes are waiting."""
        return await self._batches.submit(fn, args)

    async def _write_alone(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(Db(conn, sealer), *args)`` in a transaction of its own, beside the
        batches, for long maintenance writes that would hold a batch's callers. Within
        ``WriteLimits.deadline`` or StorageUnavailable; a write that lost a deadlock or a
        serialization conflict runs again from the start."""
        deadline = self._limits.deadline
        try:
            async with asyncio.timeout(deadline):
                for attempt in range(1, _RETRIES + 1):
                    try:
                        async with self._connection(deadline) as conn, conn.transaction():
                            return await fn(Db(conn, self._sealer), *args)
                    except (
                        asyncpg.DeadlockDetectedError,
                        asyncpg.SerializationError,
                        RetryWrite,
                    ) as exc:
                        if attempt == _RETRIES:
                            if isinstance(exc, RetryWrite):
                                raise StorageUnavailable("the write kept meeting changes") from exc
                            raise
                raise AssertionError("unreachable")  # pragma: no cover
        except TimeoutError as exc:
            raise StorageUnavailable(f"the write did not commit within {deadline:g}s") from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _raise_unavailable(exc)
            raise

    @contextlib.asynccontextmanager
    async def _connection(self, timeout: float) -> AsyncIterator[Any]:
        if self._closing:
            raise StorageUnavailable("the store is closing")
        try:
            conn = await self._pool.acquire(timeout=timeout)
        except TimeoutError as exc:
            raise StorageUnavailable(f"no database connection free within {timeout:g}s") from exc
        except asyncpg.InterfaceError as exc:  # the pool is closing or closed
            raise StorageUnavailable(f"the store is closing: {exc}") from exc
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    async def reseal(self, sealer: Sealer) -> int:
        """Seal every sealed value with ``sealer``'s first key (``madoguchi rotate-key``); open
        the store without a sealer first, or its key check will have resealed everything."""
        return await self._write_alone(rotate, sealer)


async def _probe_write(db: Db) -> None:
    """The health check's write: taking a transaction id makes its batch's COMMIT flush."""
    await db.conn.execute("SELECT pg_current_xact_id()")


def _raise_unavailable(exc: BaseException) -> None:
    """StorageUnavailable if ``exc`` means the database cannot take writes now; otherwise
    return, and the caller re-raises ``exc`` itself."""
    reason = unavailable_reason(exc)
    if reason is not None:
        raise StorageUnavailable(reason) from exc
