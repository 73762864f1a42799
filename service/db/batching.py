"""Group commit: every write of the service is queued here and committed in batches.

Whatever is queued while a batch is being committed goes into the next batch, so
``synchronous=FULL`` costs one fsync per batch rather than one per write. A caller hears of its
write only after the COMMIT returned, and the callers of one batch in the order they queued,
batch after batch: that is what lets the service acknowledge a message only once it is durable.

What runs a batch is a :class:`Runner` (``writer.py``: a child process for the server;
``thread.py``: a thread for the admin commands). This module owns the queue and its limits:

- the queue is bounded (``WriteLimits.queue_limit``): past it a write is refused at once with
  ``rate_limited``, and what is queued already is not affected;
- a batch has ``WriteLimits.deadline`` to commit, and a queued write is answered within it
  too; a runner that misses it or dies is restarted, at once the first time and then with a
  growing pause, during which writes are refused at once. Every caller gets
  ``StorageUnavailable`` (a retry-safe ``internal_error``), never a hang;
- ``close()`` commits what is queued, and refuses what cannot be committed in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from service.db.transaction import BatchFailed, Outcome, probe_write
from service.errors import AppError, ErrorCode
from service.storage import StorageUnavailable, WriteLimits

T = TypeVar("T")
Op = tuple[Callable[..., Any], tuple[Any, ...]]
Done = Callable[[Outcome], Awaitable[None]]
_Queued = tuple[Callable[..., Any], tuple[Any, ...], Done, float]

log = logging.getLogger(__name__)

# Pauses before the second, third, … restart in a row (seconds); the first is immediate.
_BACKOFF_FIRST, _BACKOFF_MAX = 0.25, 8.0


class WriterGone(Exception):
    """The runner ended with a batch in flight: whether it was committed is unknown."""


class Runner(Protocol):
    async def run_batch(self, ops: list[Op]) -> list[Outcome]:
        """Commit ``ops`` in one transaction; raise ``BatchFailed`` or ``WriterGone``."""
        ...

    async def maintain(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any: ...

    async def restart(self) -> None:
        """Replace a runner that missed a deadline or died (killing what is left of it)."""
        ...

    async def close(self, *, hung: bool = False) -> None:
        """Let it finish and end; ``hung``: it missed its deadline, end it without waiting."""
        ...


class GroupCommit:
    def __init__(self, runner: Runner, limits: WriteLimits) -> None:
        self.runner = runner
        self._limits = limits
        self._loop = asyncio.get_running_loop()
        self._pending: list[_Queued] = []
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self._last_finish: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        # Held while a batch or a maintenance call uses the runner.
        self._lock = asyncio.Lock()
        self._closing = False
        self._broken: str | None = None
        """Why the last batch did not commit; None once one does."""
        self._down = False
        """The runner must be restarted before the next batch."""
        self._refusing = False
        """Pausing before a restart: new writes are refused at once."""
        self._restarts = 0
        self._probe: asyncio.Future[str | None] | None = None
        self._task = asyncio.create_task(self._run(), name="madoguchi-writer")

    # -- callers -------------------------------------------------------------------------------

    async def submit(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the next batch; return its result once committed."""
        future: asyncio.Future[T] = self._loop.create_future()
        self.submit_later(fn, args, _resolver(future))
        return await future

    def submit_later(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Queue ``fn(conn, *args)``, or raise at once if it cannot be queued. Once its batch is
        committed (or failed), ``done(outcome)`` runs in a task shared by the whole batch, in the
        order queued, after the previous batch's: a message needs no future of its own."""
        if self._closing:
            raise StorageUnavailable("the store is closing")
        if self._refusing:
            raise StorageUnavailable(self._broken or "the writer is restarting")
        if len(self._pending) + self._in_flight >= self._limits.queue_limit:
            raise AppError(ErrorCode.RATE_LIMITED, "too many writes are waiting; retry shortly")
        self._pending.append((fn, args, done, self._loop.time() + self._limits.deadline))
        if self._expiry is None:
            self._expiry = self._loop.call_at(self._pending[0][3], self._expire)
        self._wakeup.set()

    async def maintain(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` between two batches, outside any transaction (a checkpoint,
        a VACUUM)."""
        async with self._lock:
            if self._down:
                raise StorageUnavailable(self._broken or "the writer is restarting")
            try:
                async with asyncio.timeout(self._limits.deadline):
                    return await self.runner.maintain(fn, args)  # type: ignore[no-any-return]
            except (TimeoutError, WriterGone) as exc:
                raise self._fault(exc) from None

    async def check(self, timeout: float) -> str | None:
        """None if a probe write queued now commits within ``timeout``; otherwise why not.
        Concurrent checks share one probe: a flood of health requests queues one write."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._check_once(timeout))
        return await asyncio.shield(self._probe)

    async def _check_once(self, timeout: float) -> str | None:
        try:
            async with asyncio.timeout(timeout):
                await self.submit(probe_write)
        except TimeoutError:
            return self._broken or f"a write did not commit within {timeout:g} s"
        except StorageUnavailable as exc:
            return exc.reason
        except AppError as exc:
            return exc.message
        return None

    async def close(self) -> None:
        """Commit what is queued; whatever cannot be committed within the deadline is answered
        ``StorageUnavailable``. Every queued write is answered before this returns."""
        self._closing = True
        self._wakeup.set()
        try:
            # Two deadlines: the batch in flight, then the one holding the rest of the queue.
            await asyncio.wait_for(asyncio.shield(self._task), 2 * self._limits.deadline + 1)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._down = True
        self._fail_pending("the store closed before this write could commit")
        if self._expiry is not None:
            self._expiry.cancel()
        if self._last_finish is not None:
            await asyncio.wait([self._last_finish])
        await self.runner.close(hung=self._down)

    # -- the batches ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while not (self._closing and not self._pending):
            if self._down and not self._closing:
                await self._restart()
                continue
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            batch, self._pending = self._pending, []
            self._in_flight = len(batch)
            try:
                outcomes = await self._commit(batch)
            except asyncio.CancelledError:
                self._settle(batch, [(False, StorageUnavailable("the store closed"))] * len(batch))
                raise
            finally:
                self._in_flight = 0
            self._settle(batch, outcomes)

    async def _commit(self, batch: list[_Queued]) -> list[Outcome]:
        async with self._lock:
            # Closing with a runner that could not be restarted, or a maintenance call just
            # found it hung: the batch would only wait for another deadline.
            if self._down:
                return [(False, StorageUnavailable(self._broken or "no writer"))] * len(batch)
            try:
                async with asyncio.timeout(self._limits.deadline):
                    ops = [(fn, args) for fn, args, _, _ in batch]
                    outcomes = await self.runner.run_batch(ops)
            except (TimeoutError, WriterGone, BatchFailed) as exc:
                return [(False, self._fault(exc))] * len(batch)
            except Exception as exc:  # nothing of the batch is durable
                log.error("a batch failed", exc_info=exc)
                return [(False, self._fault(exc))] * len(batch)
        self._broken, self._restarts = None, 0
        return outcomes

    def _fault(self, exc: BaseException) -> StorageUnavailable:
        """Record why writes fail; a runner that timed out or died is restarted."""
        if isinstance(exc, BatchFailed) and exc.locked:
            reason = "the database is locked by another program"
        elif isinstance(exc, BatchFailed) and exc.full:
            # The writer gave the log's space back; each new write retries.
            reason = "the disk is full: writes fail until space is freed"
        elif isinstance(exc, BatchFailed):
            reason = f"the database refused the commit ({exc.error_name})"
        elif isinstance(exc, TimeoutError):
            reason = f"the writer did not answer within {self._limits.deadline:g} s"
            self._down = True
        elif isinstance(exc, WriterGone):
            reason = "the writer ended"
            self._down = True
        else:
            reason = f"the writer failed ({type(exc).__name__})"
        if reason != self._broken:
            log.error("writes cannot commit: %s", reason)
        self._broken = reason
        return StorageUnavailable(reason)

    async def _restart(self) -> None:
        self._restarts += 1
        if self._restarts > 1:  # restarting did not help: fail fast while pausing
            pause = min(_BACKOFF_FIRST * 2 ** (self._restarts - 2), _BACKOFF_MAX)
            self._refusing = True
            self._fail_pending(self._broken or "the writer is restarting")
            try:
                await asyncio.sleep(pause)
            finally:
                self._refusing = False
        try:
            async with self._lock, asyncio.timeout(self._limits.deadline):
                await self.runner.restart()
        except Exception as exc:
            log.error("restarting the writer failed (%s)", type(exc).__name__)
            return
        self._down = False
        log.warning("the writer was restarted")

    # -- answers -------------------------------------------------------------------------------

    def _expire(self) -> None:
        """Answer the queued writes whose deadline passed (the batch before them is stuck)."""
        self._expiry = None
        now, expired = self._loop.time(), 0
        while expired < len(self._pending) and self._pending[expired][3] <= now:
            expired += 1
        if expired:
            late, self._pending = self._pending[:expired], self._pending[expired:]
            failure = StorageUnavailable(self._broken or "the writer is too slow")
            self._settle(late, [(False, failure)] * expired)
        if self._pending:
            self._expiry = self._loop.call_at(self._pending[0][3], self._expire)

    def _fail_pending(self, reason: str) -> None:
        late, self._pending = self._pending, []
        if late:
            self._settle(late, [(False, StorageUnavailable(reason))] * len(late))

    def _settle(self, batch: list[_Queued], outcomes: list[Outcome]) -> None:
        callbacks = [
            (done, outcome) for (_, _, done, _), outcome in zip(batch, outcomes, strict=True)
        ]
        task = asyncio.create_task(_finish(callbacks, self._last_finish))
        self._last_finish = task  # also the reference that keeps the task from the collector


async def _finish(callbacks: list[tuple[Done, Outcome]], after: asyncio.Task[None] | None) -> None:
    if after is not None and not after.done():  # the previous batch's answers go first
        await asyncio.wait([after])
    for done, outcome in callbacks:
        try:
            await done(outcome)
        except Exception:  # one caller's failure must not keep the others from their answers
            log.exception("a write's completion failed")


def _resolver(future: asyncio.Future[Any]) -> Done:
    async def resolve(outcome: Outcome) -> None:
        ok, value = outcome
        if future.done():  # the caller gave up (cancelled)
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    return resolve
