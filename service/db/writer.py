"""The writer: every write transaction of the service is queued here and committed in batches.

Group commit: whatever is queued while a batch is being committed goes into the next batch, so
``synchronous=FULL`` costs one fsync per batch rather than one per write. One refused operation
never undoes the others of its batch (``commit_batch``). A caller hears of its write only after
the COMMIT returned, and the callers of one batch in the order they queued: that is what lets
the service acknowledge a message only once it is durable.

An operation is a module-level function and its arguments, ``fn(conn, *args)``, so that it can
be pickled. Two writers run them:

- ``ProcessWriter`` (the server): a child process, ``python -m service.db.writer``, owns the
  writing connection. The event loop only pickles a batch and reads the answer. Run on a thread
  of the server instead, the batch's SQL needed the GIL back after every statement while the
  busy event loop held it, and under load the writes, not the sockets, set the pace
  (docs/performance.md). In its own process it has the machine's second core.
- ``ThreadWriter`` (the admin commands, which write a handful of rows): the same batches on an
  aiosqlite connection's thread, without the cost of starting a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import sqlite3
import struct
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from service.crypto import Sealer

T = TypeVar("T")
Outcome = tuple[bool, Any]  # (True, result) or (False, exception)

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")
# How long close() waits for the child to finish its last commit before it is killed.
_EXIT_TIMEOUT = 10.0


class WriterGone(Exception):
    """The writer process ended with a batch in flight: whether it was committed is unknown."""


def commit_batch(
    conn: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]
) -> list[Outcome]:
    """Commit a batch in one transaction.

    Refusals are rare, so the batch first runs without a SAVEPOINT per operation (each costs
    two more statements). If any operation raises, that attempt is rolled back whole and the
    batch runs again with savepoints, so the refusal undoes only its own operation. Operations
    read the state they change, so running one again is safe.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        results: list[Outcome] = [(True, op(conn)) for op in ops]
    except Exception:
        conn.execute("ROLLBACK")
        return _commit_isolated(conn, ops)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    _commit(conn)
    return results


def _commit_isolated(
    conn: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            conn.execute("SAVEPOINT op")
            try:
                outcomes.append((True, op(conn)))
                conn.execute("RELEASE op")
            except Exception as exc:  # refused or failed: undo this operation only
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                outcomes.append((False, exc))
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    _commit(conn)
    return outcomes


def _commit(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _bound(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: fn(conn, *args)


Done = Callable[[Outcome], Awaitable[None]]


async def run_on(db: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` on the connection's thread: one hop for a whole function of SQL
    rather than one per statement (aiosqlite's public methods each cost a thread round trip)."""
    return await db._execute(fn, db._conn, *args)  # type: ignore[no-any-return,no-untyped-call]


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


class _Batching:
    """The queue and the loop that turns it into batches; subclasses run a batch."""

    def __init__(self) -> None:
        self._pending: list[tuple[Callable[..., Any], tuple[Any, ...], Done]] = []
        self._wakeup = asyncio.Event()
        self._last_finish: asyncio.Task[None] | None = None
        # Held while a batch or a maintenance call uses the writing connection.
        self._lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="madoguchi-writer")

    async def submit(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the next batch; return its result once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.submit_later(fn, args, _resolver(future))
        return await future

    def submit_later(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Queue ``fn(conn, *args)``; once its batch is committed (or failed), ``done(outcome)``
        runs in a task shared by the whole batch, in the order queued, after the previous
        batch's. A message needs no future and no waiting task of its own."""
        self._pending.append((fn, args, done))
        self._wakeup.set()

    async def maintain(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` between two batches, outside any transaction (a checkpoint,
        a VACUUM)."""
        async with self._lock:
            return await self._maintain(fn, args)  # type: ignore[no-any-return]

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if not batch:
                continue
            try:
                async with self._lock:
                    outcomes = await self._commit_batch([(fn, args) for fn, args, _ in batch])
            except BaseException as exc:  # the COMMIT itself failed: nothing of it is durable
                failure = exc if isinstance(exc, Exception) else RuntimeError()
                self._settle([done for _, _, done in batch], [(False, failure)] * len(batch))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            self._settle([done for _, _, done in batch], outcomes)

    def _settle(self, batch: list[Done], outcomes: list[Outcome]) -> None:
        task = asyncio.create_task(
            _finish(list(zip(batch, outcomes, strict=True)), self._last_finish)
        )
        self._last_finish = task  # also the reference that keeps the task from the collector

    async def _commit_batch(
        self, ops: list[tuple[Callable[..., Any], tuple[Any, ...]]]
    ) -> list[Outcome]:
        raise NotImplementedError

    async def _maintain(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        raise NotImplementedError


class ThreadWriter(_Batching):
    """Batches committed on an aiosqlite connection's thread."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__()
        self._db = db

    async def close(self) -> None:
        await super().close()
        await self._db.close()

    async def _commit_batch(
        self, ops: list[tuple[Callable[..., Any], tuple[Any, ...]]]
    ) -> list[Outcome]:
        return await run_on(self._db, commit_batch, [_bound(fn, args) for fn, args in ops])

    async def _maintain(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        return await run_on(self._db, fn, *args)


class ProcessWriter(_Batching):
    """Batches committed by a child process that owns the writing connection.

    Requests and answers are length-prefixed pickles on a socket pair private to the two
    processes; only one request is in flight (the lock), so answers come back in order. If the
    child dies, the batch in flight fails with ``WriterGone`` (its callers retry: a message's
    client_id makes the retry safe) and the next batch starts a new child.
    """

    def __init__(self, path: Path, sealer: Sealer | None) -> None:
        super().__init__()
        self._path, self._sealer = path, sealer
        self._child: asyncio.subprocess.Process | None = None
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @classmethod
    async def start(cls, path: Path, sealer: Sealer | None) -> ProcessWriter:
        writer = cls(path, sealer)
        try:
            async with writer._lock:
                await writer._spawn()
        except BaseException:
            await writer.close()
            raise
        return writer

    @property
    def pid(self) -> int | None:
        """The writer process's id, for diagnostics (and the tests that stop it)."""
        return None if self._child is None else self._child.pid

    async def close(self) -> None:
        await super().close()
        if self._streams is not None:
            self._streams[1].close()  # the child sees the end of its input and exits
            self._streams = None
        if self._child is not None and self._child.returncode is None:
            try:
                await asyncio.wait_for(self._child.wait(), _EXIT_TIMEOUT)
            except TimeoutError:
                self._child.kill()
                await self._child.wait()

    async def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.db.writer",
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._streams = await asyncio.open_unix_connection(sock=ours)
        # The key travels on the private socket: never in argv or the environment.
        ok, value = await self._call(("open", str(self._path), self._sealer))
        if not ok:
            raise value

    async def _commit_batch(
        self, ops: list[tuple[Callable[..., Any], tuple[Any, ...]]]
    ) -> list[Outcome]:
        # One pickle for the batch: a pickle per operation cost the event loop several times
        # as much (bench profile).
        try:
            data, refused = pickle.dumps(ops, 5), {}
        except Exception:  # a lambda or a handle among them: refuse it to its caller alone
            refused = _unpicklable(ops)
            data = pickle.dumps([op for i, op in enumerate(ops) if i not in refused], 5)
        ok, value = await self._request(("batch", data))
        if not ok:
            raise value
        outcomes: list[Outcome] = pickle.loads(value)  # noqa: S301 (see _call)
        for index in sorted(refused):
            outcomes.insert(index, refused[index])
        return outcomes

    async def _maintain(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        ok, value = await self._request(("maintain", fn, args))
        if not ok:
            raise value
        return value

    async def _request(self, request: tuple[Any, ...]) -> Outcome:
        if self._streams is None or self._child is None or self._child.returncode is not None:
            await self._spawn()
        return await self._call(request)

    async def _call(self, request: tuple[Any, ...]) -> Outcome:
        assert self._streams is not None  # noqa: S101 (spawned by the caller)
        reader, writer = self._streams
        data = pickle.dumps(request, 5)
        try:
            writer.write(_HEADER.pack(len(data)) + data)
            await writer.drain()
            (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            # Our own child on an unnamed socket pair nobody else holds: pickle is trusted here.
            answer: Outcome = pickle.loads(await reader.readexactly(size))  # noqa: S301
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._streams = None
            writer.close()
            log.error("the writer process ended; starting a new one for the next batch")
            raise WriterGone("the writer process ended") from exc
        return answer


# -- the child process ---------------------------------------------------------------------------


def _read_frame(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _answer(sock: socket.socket, outcome: Outcome) -> None:
    data = pickle.dumps(_picklable(outcome), 5)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _picklable(outcome: Outcome) -> Outcome:
    """An outcome that can cross to the server: an error that cannot be pickled becomes a
    plain one naming its type (never its text, which might hold what someone wrote)."""
    try:
        pickle.dumps(outcome, 5)
    except Exception:
        ok, value = outcome
        if ok:
            return False, RuntimeError("the writer's result could not be sent")
        return False, RuntimeError(f"writer error: {type(value).__name__}")
    return outcome


def _unpicklable(ops: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> dict[int, Outcome]:
    refused: dict[int, Outcome] = {}
    for index, (fn, args) in enumerate(ops):
        try:
            pickle.dumps((fn, args), 5)
        except Exception as exc:
            error = TypeError(f"a write operation cannot be pickled: {fn!r}")
            error.__cause__ = exc
            refused[index] = (False, error)
    return refused


def _apply(conn: sqlite3.Connection, request: tuple[Any, ...]) -> Outcome:
    kind = request[0]
    if kind == "batch":
        ops = pickle.loads(request[1])  # noqa: S301 (from our server)
        outcomes = commit_batch(conn, [_bound(fn, args) for fn, args in ops])
        try:
            return True, pickle.dumps(outcomes, 5)
        except Exception:
            return True, pickle.dumps([_picklable(o) for o in outcomes], 5)
    if kind == "maintain":
        return True, request[1](conn, *request[2])
    raise ValueError(f"unknown request {kind!r}")


def serve(sock: socket.socket) -> None:
    """Answer the server's requests until it closes its end."""
    # Imported here: service.db.store imports this module.
    from service.db.store import open_writing_connection

    conn: sqlite3.Connection | None = None
    while (frame := _read_frame(sock)) is not None:
        request = pickle.loads(frame)  # noqa: S301 (our server, on our private socket pair)
        try:
            if request[0] == "open":
                conn = open_writing_connection(Path(request[1]), request[2])
                outcome: Outcome = (True, None)
            else:
                assert conn is not None  # noqa: S101 ("open" comes first)
                outcome = _apply(conn, request)
        except Exception as exc:
            outcome = (False, exc)
        _answer(sock, outcome)
    if conn is not None:
        conn.close()


def main() -> None:
    fd = int(sys.argv[1])
    with socket.socket(fileno=fd) as sock:
        # A Ctrl-C (`make run`) or a service manager's SIGTERM reaches the whole process group:
        # the child finishes the batch it has and leaves when the server closes the socket.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        serve(sock)
    os._exit(0)


if __name__ == "__main__":
    main()
