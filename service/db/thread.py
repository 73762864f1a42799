"""A SQLite connection on a thread of its own, driven from the event loop.

Our SQL is written as whole synchronous functions, ``fn(conn, *args)``. Each call is one hop to
the connection's thread (``loop.run_in_executor`` on a one-thread executor), however many
statements the function runs. That is what aiosqlite does inside, but its public API offers
one hop per statement and no way to run such a function, so the service uses the standard
library directly (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from service.db.batching import WriterGone
from service.db.transaction import commit_batch

T = TypeVar("T")


class ConnectionThread:
    """One connection, opened, used and closed only on its own thread."""

    def __init__(self, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self._executor, self._conn = executor, conn

    @classmethod
    async def open(cls, connect: Callable[[], sqlite3.Connection], name: str) -> ConnectionThread:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        try:
            conn = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, conn)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on the connection's thread."""
        call = functools.partial(fn, self._conn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        try:
            await self.run(_close)
        finally:
            self._executor.shutdown(wait=False)

    def abandon(self) -> None:
        """Give up a thread stuck in a call: it closes its connection when (if) it returns."""
        self._executor.submit(_close, self._conn)
        self._executor.shutdown(wait=False)


def _close(conn: sqlite3.Connection) -> None:
    conn.close()


class ThreadRunner:
    """Runs batches on a connection's thread: for the admin commands, which write a handful of
    rows and should not start a process. A thread cannot be killed: ``restart()`` abandons a
    stuck one and opens the connection again on a new thread."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._thread: ConnectionThread | None = None

    async def run_batch(self, ops: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
        return await self._open().run(commit_batch, [_bound(fn, args) for fn, args in ops])

    async def maintain(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        return await self._open().run(fn, *args)

    async def restart(self) -> None:
        if self._thread is not None:
            self._thread.abandon()
        self._thread = await ConnectionThread.open(self._connect, "madoguchi-writer")

    async def close(self, *, hung: bool = False) -> None:
        if self._thread is not None:
            if hung:
                self._thread.abandon()
            else:
                await self._thread.close()
            self._thread = None

    def _open(self) -> ConnectionThread:
        if self._thread is None:
            raise WriterGone("the writing connection is not open")
        return self._thread


def _bound(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: fn(conn, *args)
