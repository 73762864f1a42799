"""The SQL of waiting times (SQLite): when the desk's recent chats were started and claimed,
and when the day's were started, claimed and closed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from service.domain.desk_board import Activity

T = TypeVar("T")

# Both read through indexes on created_at, claimed_at and closed_at (migration 13): the board
# asks up to once a second, and the table keeps every month of service.
RECENT_WAITS = (
    "SELECT created_at, claimed_at FROM conversation "
    "WHERE desk_id = ? AND claimed_at IS NOT NULL AND claimed_at >= ? "
    "ORDER BY claimed_at DESC, id LIMIT ?"
)
DAY_ACTIVITY = (
    "SELECT desk_id, created_at, claimed_at, "
    "CASE WHEN status = 'closed' THEN closed_at END FROM conversation "
    "WHERE created_at >= ? OR claimed_at >= ? OR (status = 'closed' AND closed_at >= ?)"
)


class WaitQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def recent_waits(self, desk_id: int, since: str, limit: int) -> list[tuple[str, str]]:
        """(created_at, claimed_at) of the desk's conversations claimed since ``since``, the
        newest claims first, at most ``limit``."""
        return await self._read(_recent_waits, desk_id, since, limit)

    async def day_activity(self, since: str) -> list[Activity]:
        """Every conversation started, claimed or closed at or after ``since``."""
        return await self._read(_day_activity, since)


def _recent_waits(
    conn: sqlite3.Connection, desk_id: int, since: str, limit: int
) -> list[tuple[str, str]]:
    rows = conn.execute(RECENT_WAITS, (desk_id, since, limit)).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _day_activity(conn: sqlite3.Connection, since: str) -> list[Activity]:
    rows = conn.execute(DAY_ACTIVITY, (since, since, since)).fetchall()
    return [Activity(int(r[0]), str(r[1]), r[2], r[3]) for r in rows]
