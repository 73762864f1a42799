"""One batch of writes in one transaction, on the writing connection (synchronous).

An operation is ``fn(conn)``; a batch is committed whole with one fsync. One refused operation
never undoes the others of its batch. Run by the writer process and by the admin commands'
thread alike (``service/db/writer.py``, ``service/db/thread.py``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any

Outcome = tuple[bool, Any]  # (True, result) or (False, exception)
Operation = Callable[[sqlite3.Connection], Any]


class BatchFailed(Exception):
    """The transaction itself failed (BEGIN, COMMIT): nothing of the batch was committed.
    Carries only the SQLite error's name, never its text (which may quote what was written)."""

    def __init__(self, error_name: str) -> None:
        super().__init__(error_name)
        self.error_name = error_name

    @property
    def locked(self) -> bool:
        """Another connection held the write lock for longer than our busy timeout."""
        return self.error_name in ("SQLITE_BUSY", "SQLITE_LOCKED")

    @property
    def full(self) -> bool:
        """The disk (or the database's size limit) had no room for the batch."""
        return self.error_name == "SQLITE_FULL"

    def __reduce__(self) -> tuple[type[BatchFailed], tuple[str]]:
        return type(self), (self.error_name,)


def commit_batch(conn: sqlite3.Connection, ops: list[Operation]) -> list[Outcome]:
    """Commit a batch in one transaction; raise :class:`BatchFailed` if the transaction failed.

    Refusals are rare, so the batch first runs without a SAVEPOINT per operation (each costs
    two more statements). If any operation raises, that attempt is rolled back whole and the
    batch runs again with savepoints, so the refusal undoes only its own operation. Operations
    read the state they change, so running one again is safe.
    """
    try:
        return _commit_fast(conn, ops)
    except sqlite3.Error as exc:  # BEGIN, COMMIT, ROLLBACK, or the disk (_is_full)
        name = getattr(exc, "sqlite_errorname", type(exc).__name__)
    if name == "SQLITE_FULL":
        give_back_log_space(conn)
    raise BatchFailed(name)


def give_back_log_space(conn: sqlite3.Connection) -> None:
    """After a write failed for lack of space: copy the WAL into the database and truncate it
    to nothing, so that its space returns to the volume. With the disk still full this may
    fail too; the next batch is the retry."""
    with contextlib.suppress(sqlite3.Error):
        _rollback(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _is_full(exc: Exception) -> bool:
    """A full disk is no operation's fault: the whole batch fails, retry-safe, rather than
    each operation being answered with its own unexpected error (and traceback)."""
    return getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL"


def _commit_fast(conn: sqlite3.Connection, ops: list[Operation]) -> list[Outcome]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        results: list[Outcome] = [(True, op(conn)) for op in ops]
    except Exception as exc:
        _rollback(conn)  # SQLite may have rolled back already (a full disk)
        if _is_full(exc):
            raise
        return _commit_isolated(conn, ops)
    except BaseException:
        _rollback(conn)
        raise
    _commit(conn)
    return results


def _commit_isolated(conn: sqlite3.Connection, ops: list[Operation]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            conn.execute("SAVEPOINT op")
            try:
                outcomes.append((True, op(conn)))
                conn.execute("RELEASE op")
            except Exception as exc:  # refused or failed: undo this operation only
                if _is_full(exc):
                    raise
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                outcomes.append((False, exc))
    except BaseException:
        _rollback(conn)
        raise
    _commit(conn)
    return outcomes


def _commit(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def probe_write(conn: sqlite3.Connection) -> None:
    """The health check's write: rewrites the schema version with its own value. It takes the
    write lock and dirties a page, so the COMMIT writes and fsyncs like any other, while no
    row, trigger or counter changes."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute(f"PRAGMA user_version = {version:d}")
