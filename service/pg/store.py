"""The PostgreSQL store: the facade that implements ``service.storage.Store`` over asyncpg.

A pool of connections shared by reads and writes. Each write is one transaction on one
connection (``_write``) and returns only after its COMMIT; the database, not this process,
decides what concurrent writers of several nodes may do: row locks and conditional UPDATEs
order message seqs and claims (``conversations.py``), constraints make retries idempotent.

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
from service.pg.admin import AdminQueries
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
from service.pg.visitors import VisitorQueries
from service.storage import StorageUnavailable, WriteLimits

T = TypeVar("T")
log = logging.getLogger("madoguchi.pg")

PATIENT = WriteLimits(deadline=600.0, lock_wait=30.0)
POOL_SIZE = 10
"""Connections per process; the database's ``max_connections`` must cover every node's."""
_RETRIES = 3
"""Attempts of a write that lost a deadlock or serialization conflict (retried from scratch)."""


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
):
    """Open with :meth:`open`; all methods are coroutine-safe."""

    def __init__(self, pool: Any, sealer: Sealer | None, limits: WriteLimits) -> None:
        self._pool = pool
        self._sealer = sealer
        self._limits = limits
        self._closing = False

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
            reason = _reason(exc) or f"cannot connect to the database: {exc}"
            raise StorageUnavailable(reason) from exc
        try:
            async with pool.acquire() as conn:
                applied = await apply_migrations(conn)
            if applied:
                log.info("database migrated: %s", ", ".join(applied))
            store = cls(pool, sealer, limits)
            if sealer is not None:
                await store._write(check_key, sealer)
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        """Wait for the writes under way (at most a deadline), then close every connection."""
        self._closing = True
        try:
            await asyncio.wait_for(self._pool.close(), self._limits.deadline)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            self._pool.terminate()

    async def check_writes(self, timeout: float) -> str | None:
        """A tiny real write: a transaction that takes a transaction id commits (a WAL flush;
        refused on a read-only standby)."""
        try:
            async with asyncio.timeout(timeout):
                async with self._connection(timeout) as conn, conn.transaction():
                    await conn.execute("SELECT pg_current_xact_id()")
        except StorageUnavailable as exc:
            return exc.reason
        except TimeoutError:
            return f"a write did not commit within {timeout:g}s"
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return _reason(exc) or f"a write failed: {type(exc).__name__}"
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
        """``await fn(Db(conn, sealer), *args)`` in one transaction; return once committed.
        Within ``WriteLimits.deadline`` or StorageUnavailable; a write that lost a deadlock or
        a serialization conflict runs again from the start."""
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
        return await self._write(rotate, sealer)


def _reason(exc: BaseException) -> str | None:
    """Why the database cannot take writes now, if ``exc`` says so; None for other errors
    (a bug, a constraint): those propagate as they are."""
    if isinstance(exc, OSError | asyncio.TimeoutError):
        return f"cannot reach the database: {exc}"
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return f"the database connection was lost: {exc}"
    if isinstance(exc, asyncpg.exceptions.OperatorInterventionError):
        return f"the database is shutting down or cancelled the statement: {exc}"
    if isinstance(exc, asyncpg.exceptions.InsufficientResourcesError):
        return f"the database is out of resources: {exc}"
    if isinstance(exc, asyncpg.exceptions.LockNotAvailableError):
        return "another node kept a row locked too long"
    if isinstance(exc, asyncpg.exceptions.ReadOnlySQLTransactionError):
        return "the database is read-only (a standby?)"
    if isinstance(exc, asyncpg.exceptions.IdleInTransactionSessionTimeoutError):
        return "the database ended an idle transaction"
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return "writes kept conflicting with other nodes' writes"
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
        return f"the database connection was closed: {exc}"
    return None


def _raise_unavailable(exc: BaseException) -> None:
    """StorageUnavailable if ``exc`` means the database cannot take writes now; otherwise
    return, and the caller re-raises ``exc`` itself."""
    reason = _reason(exc)
    if reason is not None:
        raise StorageUnavailable(reason) from exc
