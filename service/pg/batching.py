"""Group commit for PostgreSQL: the writes of one process are queued and committed in batches.

A write on its own costs a transaction: BEGIN, its statements, COMMIT and a WAL flush, and it
keeps its rows locked until that flush. Writes queued while a batch commits go into the next
batch instead, so many share one transaction and one flush; the visitor's and the counselor's
messages to one conversation no longer queue on its row lock behind one flush after another.

- One batch at a time per process, on one connection of the pool: batches of one process never
  wait for each other's locks. Reads keep the rest of the pool.
- A batch first runs without savepoints (each costs two more round trips). If an operation
  raises, that attempt is rolled back whole and the batch runs again with a savepoint per
  operation, so a refusal (an AppError, a constraint) undoes only its own operation and is
  answered to its own caller. Operations read the state they change, so running one again is
  safe.
- Every caller is answered only after the COMMIT returned, in the order queued.
- The queue is bounded (``WriteLimits.queue_limit``): past it a write is refused at once with
  ``rate_limited``. A caller waits at most ``WriteLimits.deadline``, then hears
  ``StorageUnavailable`` (retry-safe); a batch that cannot commit (the connection was lost, the
  database refuses writes) answers each of its callers so.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from service.crypto import Sealer
from service.errors import AppError, ErrorCode
from service.pg.rows import RetryWrite
from service.pg.sealing import Db
from service.storage import StorageUnavailable, WriteLimits

T = TypeVar("T")
Operation = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]
Outcome = tuple[bool, Any]  # (True, result) or (False, exception)
_Queued = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...], "asyncio.Future[Any]"]

log = logging.getLogger("madoguchi.pg")

MAX_BATCH = 256
"""Operations per transaction: enough to share one flush among a busy node's writes, few enough
that a batch holds its row locks only briefly."""
RETRIES = 3
"""Attempts of an operation that met a changed state (``RetryWrite``), and of a batch that lost
a deadlock or serialization conflict to another node's transaction."""

# The transaction lost to another one: its locks are part of the conflict, so the whole
# transaction is rolled back and runs again.
_CONFLICTS = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
# The connection is gone or the database takes no writes now: no operation can commit.
_BATCH_FAILURES = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
)


class StaleConnection(Exception):
    """BEGIN failed on a connection the server had closed while it sat in the pool: nothing of
    the batch ran, so it may run on another connection."""


class GroupCommit:
    """The write queue of one :class:`service.pg.store.PgStore` and the task that commits it."""

    def __init__(self, pool: Any, sealer: Sealer | None, limits: WriteLimits) -> None:
        self._pool = pool
        self._sealer = sealer
        self._limits = limits
        self._loop = asyncio.get_running_loop()
        self._queue: collections.deque[_Queued] = collections.deque()
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="madoguchi-pg-writer")

    # -- callers -------------------------------------------------------------------------------

    async def submit(self, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
        """``await fn(Db(conn, sealer), *args)`` in the next batch; its result once committed."""
        future = self._enqueue(fn, args)
        deadline = self._limits.deadline
        try:
            # On timeout the future is cancelled: a write still queued is then left out.
            async with asyncio.timeout(deadline):
                return await future  # type: ignore[no-any-return]
        except TimeoutError as exc:
            raise StorageUnavailable(f"the write did not commit within {deadline:g}s") from exc

    def _enqueue(
        self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> asyncio.Future[Any]:
        """Queue a write, or refuse it at once (closing, or too many waiting)."""
        if self._closing:
            raise StorageUnavailable("the store is closing")
        if len(self._queue) + self._in_flight >= self._limits.queue_limit:
            raise AppError(ErrorCode.RATE_LIMITED, "too many writes are waiting; retry shortly")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.append((fn, args, future))
        self._wakeup.set()
        return future

    async def close(self) -> None:
        """Commit what is queued; what cannot be committed in time is answered
        ``StorageUnavailable``. Every queued write is answered before this returns."""
        self._closing = True
        self._wakeup.set()
        try:
            # Two deadlines: the batch in flight, then one more for what is queued behind it.
            await asyncio.wait_for(asyncio.shield(self._task), 2 * self._limits.deadline + 1)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        late = list(self._queue)
        self._queue.clear()
        _answer(late, [(False, StorageUnavailable("the store closed"))] * len(late))

    # -- the batches ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while self._queue or not self._closing:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take()
            if batch:
                await self._commit_and_answer(batch)

    def _take(self) -> list[_Queued]:
        """The next batch: what is queued, in order, up to ``MAX_BATCH``, without the writes
        whose callers stopped waiting."""
        batch: list[_Queued] = []
        while self._queue and len(batch) < MAX_BATCH:
            queued = self._queue.popleft()
            if not queued[2].done():
                batch.append(queued)
        return batch

    async def _commit_and_answer(self, batch: list[_Queued]) -> None:
        self._in_flight = len(batch)
        try:
            outcomes = await self._commit([(fn, args) for fn, args, _ in batch])
        except asyncio.CancelledError:  # close() gave up on this batch
            _answer(batch, [(False, StorageUnavailable("the store closed"))] * len(batch))
            raise
        finally:
            self._in_flight = 0
        _answer(batch, outcomes)

    async def _commit(self, ops: list[Operation]) -> list[Outcome]:
        """The batch's outcomes; if the transaction itself failed, the same StorageUnavailable
        for every operation (none of them was committed, or it is unknown whether)."""
        deadline = self._limits.deadline
        try:
            async with asyncio.timeout(deadline):
                return await self._commit_on_a_connection(ops)
        except TimeoutError:
            failure = StorageUnavailable(f"a batch of writes did not commit within {deadline:g}s")
        except StorageUnavailable as exc:
            failure = exc
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                log.error("a batch of writes failed", exc_info=exc)
            failure = StorageUnavailable(reason or f"the batch failed ({type(exc).__name__})")
        log.warning("a batch of %d writes did not commit: %s", len(ops), failure.reason)
        return [(False, failure)] * len(ops)

    async def _commit_on_a_connection(self, ops: list[Operation]) -> list[Outcome]:
        for attempt in (1, 2):
            async with self._pool.acquire() as conn:
                try:
                    return await commit_batch(Db(conn, self._sealer), ops)
                except StaleConnection:
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover


def _answer(batch: list[_Queued], outcomes: list[Outcome]) -> None:
    for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
        if future.done():  # the caller stopped waiting
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


# -- one batch in one transaction ------------------------------------------------------------


async def commit_batch(db: Db, ops: list[Operation]) -> list[Outcome]:
    """Commit ``ops`` in one transaction on ``db.conn`` and return each one's outcome; raise if
    the transaction itself failed (then nothing of it was committed, or it is unknown)."""
    try:
        return await _commit_fast(db, ops)
    except _CONFLICTS:
        pass  # rolled back; the isolated attempt below is the first retry
    except Exception as exc:
        if _fails_batch(db.conn, exc):
            raise
    for attempt in range(1, RETRIES + 1):
        try:
            return await _commit_isolated(db, ops)
        except _CONFLICTS:
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _commit_fast(db: Db, ops: list[Operation]) -> list[Outcome]:
    """Every operation, no savepoints; any exception rolls the whole attempt back."""
    began = False
    try:
        async with db.conn.transaction():
            began = True
            return [(True, await fn(db, *args)) for fn, args in ops]
    except _BATCH_FAILURES as exc:
        if not began:
            raise StaleConnection from exc
        raise


async def _commit_isolated(db: Db, ops: list[Operation]) -> list[Outcome]:
    """Every operation in a savepoint of its own: a refusal undoes only that operation."""
    async with db.conn.transaction():
        return [await _run_alone(db, fn, args) for fn, args in ops]


async def _run_alone(db: Db, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> Outcome:
    """One operation in a savepoint (asyncpg's nested transaction), run again from the start
    while it meets a changed state; raises only what fails the whole transaction."""
    for attempt in range(1, RETRIES + 1):
        try:
            async with db.conn.transaction():
                return True, await fn(db, *args)
        except RetryWrite as exc:
            if attempt == RETRIES:
                failure = StorageUnavailable("the write kept meeting changes")
                failure.__cause__ = exc
                return False, failure
        except Exception as exc:
            if _fails_batch(db.conn, exc) or isinstance(exc, _CONFLICTS):
                raise
            return False, _refusal(exc)
    raise AssertionError("unreachable")  # pragma: no cover


def _fails_batch(conn: Any, exc: BaseException) -> bool:
    return conn.is_closed() or isinstance(exc, _BATCH_FAILURES)


def _refusal(exc: Exception) -> Exception:
    """What one operation's caller hears: a lock another node held too long is retry-safe
    StorageUnavailable; a refusal or a bug is the operation's own exception."""
    reason = unavailable_reason(exc)
    if reason is None:
        return exc
    failure = StorageUnavailable(reason)
    failure.__cause__ = exc
    return failure


def unavailable_reason(exc: BaseException) -> str | None:
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
    if isinstance(exc, StaleConnection):
        return "the database closed the connections"
    return None
