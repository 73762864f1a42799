"""A ``store`` fixture run on both backends: a SQLite file and a fresh PostgreSQL database.

Import ``store`` (or ``backend``, which also tells how to reach the database underneath) into a
test module and every test there runs twice, ``[sqlite]`` and ``[postgres]``:

    from tests import stores
    backend, store = stores.backend, stores.store  # fixtures

The PostgreSQL server is the private one of ``tests/backends.py`` (fixture ``postgres``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.crypto import Sealer, new_key, parse_keys
from service.db.store import SqliteStore
from service.pg.store import PgStore
from service.storage import Store
from tests.backends import Postgres

BACKENDS = ["sqlite", "postgres"]


@dataclass
class Backend:
    """An opened store and where its database is."""

    name: str
    store: Any
    sealer: Sealer
    path: Path | None = None
    """The SQLite file."""
    url: str = ""
    """The PostgreSQL database, as the service's role."""
    admin_url: str = ""
    """The same database as the superuser, for a test's own inspection."""
    _others: list[Any] = field(default_factory=list)

    async def open_another(self, sealer: Sealer | None = None) -> Any:
        """A second store on the same database, as another node (or process) opens it;
        closed with this one."""
        key = sealer or self.sealer
        other: Any
        if self.name == "postgres":
            other = await PgStore.open(self.url, key)
        else:
            assert self.path is not None
            other = await SqliteStore.open(self.path, key)
        self._others.append(other)
        return other

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Raw rows, read past the store (PostgreSQL: ``$1`` placeholders, as the superuser;
        SQLite: ``?``)."""
        if self.name == "postgres":
            conn = await asyncpg.connect(self.admin_url)
            try:
                return [tuple(r) for r in await conn.fetch(sql, *params)]
            finally:
                await conn.close()
        import sqlite3

        assert self.path is not None
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]

    async def close(self) -> None:
        for other in self._others:
            await other.close()
        await self.store.close()


async def open_backend(name: str, tmp_path: Path, postgres: Postgres | None) -> Backend:
    sealer = Sealer(parse_keys(new_key()))
    if name == "postgres":
        assert postgres is not None
        url = postgres.new_database()
        opened = await PgStore.open(url, sealer)
        return Backend(name, opened, sealer, url=url, admin_url=postgres.admin_url(url))
    path = tmp_path / "madoguchi.sqlite3"
    return Backend(name, await SqliteStore.open(path, sealer), sealer, path=path)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    postgres = request.getfixturevalue("postgres") if request.param == "postgres" else None
    opened = await open_backend(request.param, tmp_path, postgres)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    """The opened store of ``backend`` (either), typed as the protocol."""
    opened: Store = backend.store
    return opened
