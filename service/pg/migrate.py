"""Numbered plain-SQL migrations for PostgreSQL, recorded in ``schema_migrations``.

As for SQLite (``service/db/migrate.py``), a migration file is never edited once merged. All
pending migrations run in one transaction under an advisory lock, so ``madoguchi migrate`` is
safe while nodes serve and when several nodes start at once: the first applies them, the others
wait for its COMMIT and then find nothing left to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.clock import now_iso
from service.db.migrate import Migration, load_migrations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SCHEMA_LOCK = 0x6D61646F  # "mado": pg_advisory_xact_lock's key for schema changes
"""Also taken by :func:`service.pg.sealing.check_key`, so that two nodes starting on a new
database cannot both record their own key."""


def pg_migrations() -> list[Migration]:
    return load_migrations(MIGRATIONS_DIR)


async def apply_migrations(conn: Any) -> list[str]:
    """Bring the schema up to date; returns the names of the migrations applied.

    ``conn`` is an asyncpg connection outside any transaction."""
    migrations = pg_migrations()
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY,"
            ' name TEXT COLLATE "C" NOT NULL,'
            ' applied_at TEXT COLLATE "C" NOT NULL)'
        )
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations:
            if migration.version in done:
                continue
            # No arguments: the simple query protocol, which runs a whole script.
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                now_iso(),
            )
            applied.append(migration.name)
    return applied
