"""The SQL of change detection: a counter that only changes of the settings the server keeps in
memory advance (desks, partners, campaigns, emergency contacts, accounts and their desks).

Triggers of migration 0008 advance it inside the transaction that made the change, whichever
process or connection that was, so one cheap read tells whether anything needs reloading.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ChangeQueries:
    """Mixed into :class:`service.db.store.Store`, which provides ``_read``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def settings_version(self) -> int:
        """Advances with every committed change of the settings kept in memory."""
        return await self._read(_settings_version)


def _settings_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT version FROM settings_change WHERE id = 1").fetchone()[0])
