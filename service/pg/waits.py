"""The SQL of waiting times (PostgreSQL): when the desk's recent chats were started and
claimed, and when the day's were started, claimed and closed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service.domain.desk_board import Activity
from service.pg.sealing import Db

T = TypeVar("T")

# Both read through indexes on created_at, claimed_at and closed_at (migration 6): the board
# asks up to once a second, and the table keeps every month of service.
RECENT_WAITS = (
    "SELECT created_at, claimed_at FROM conversation "
    "WHERE desk_id = $1 AND claimed_at IS NOT NULL AND claimed_at >= $2 "
    "ORDER BY claimed_at DESC, id LIMIT $3"
)
DAY_ACTIVITY = (
    "SELECT desk_id, created_at, claimed_at, "
    "CASE WHEN status = 'closed' THEN closed_at END AS closed_at FROM conversation "
    "WHERE created_at >= $1 OR claimed_at >= $1 OR (status = 'closed' AND closed_at >= $1)"
)


class WaitQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def recent_waits(self, desk_id: int, since: str, limit: int) -> list[tuple[str, str]]:
        """(created_at, claimed_at) of the desk's conversations claimed since ``since``, the
        newest claims first, at most ``limit``."""
        return await self._read(_recent_waits, desk_id, since, limit)

    async def day_activity(self, since: str) -> list[Activity]:
        """Every conversation started, claimed or closed at or after ``since``."""
        return await self._read(_day_activity, since)


async def _recent_waits(db: Db, desk_id: int, since: str, limit: int) -> list[tuple[str, str]]:
    rows = await db.conn.fetch(RECENT_WAITS, desk_id, since, limit)
    return [(str(r["created_at"]), str(r["claimed_at"])) for r in rows]


async def _day_activity(db: Db, since: str) -> list[Activity]:
    rows = await db.conn.fetch(DAY_ACTIVITY, since)
    return [
        Activity(int(r["desk_id"]), str(r["created_at"]), r["claimed_at"], r["closed_at"])
        for r in rows
    ]
