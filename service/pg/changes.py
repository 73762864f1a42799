"""The SQL of change detection (PostgreSQL): the counter that the triggers of the schema
advance inside the transaction of every change of the settings kept in memory, whichever node
made it; each node reads it about once a second (``service/catalog.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service.pg.sealing import Db

T = TypeVar("T")


class ChangeQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def settings_version(self) -> int:
        """Advances with every committed change of the settings kept in memory."""
        return await self._read(_settings_version)


async def _settings_version(db: Db) -> int:
    return int(await db.conn.fetchval("SELECT version FROM settings_change WHERE id = 1"))
