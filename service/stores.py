"""Opening the configured store: PostgreSQL when ``MADOGUCHI_DATABASE_URL`` is set, else the
SQLite file ``MADOGUCHI_DB``. With the entry points (``app.py``, ``cli*.py``, ``backup.py``),
the only module that names a concrete backend; everything else sees ``service.storage.Store``.
"""

from __future__ import annotations

from service.config import Settings
from service.crypto import Sealer
from service.storage import Store, WriteLimits


def uses_postgres(settings: Settings) -> bool:
    return bool(settings.database_url)


def database_name(settings: Settings) -> str:
    """For the log: the SQLite file, or the PostgreSQL host and database (never a password)."""
    if not uses_postgres(settings):
        return str(settings.db_path)
    from urllib.parse import urlsplit

    url = urlsplit(settings.database_url)
    return f"postgresql://{url.hostname or ''}{f':{url.port}' if url.port else ''}{url.path}"


async def open_configured_store(
    settings: Settings,
    sealer: Sealer | None = None,
    *,
    writer_process: bool = False,
    limits: WriteLimits | None = None,
) -> Store:
    """Open (creating or migrating) the configured database. ``writer_process`` (the server's
    SQLite writer in a child process) means nothing to PostgreSQL, whose server is the writer.
    Typed as the protocol, so that mypy checks both stores against it."""
    if uses_postgres(settings):
        from service.pg.store import PgStore

        return await PgStore.open(settings.database_url, sealer, limits=limits)
    from service.db import open_store

    return await open_store(settings.db_path, sealer, writer_process=writer_process, limits=limits)


async def migrate_configured(settings: Settings) -> list[str]:
    """Create or update the schema (``madoguchi migrate``); the names of the migrations
    applied."""
    if uses_postgres(settings):
        import asyncpg

        from service.pg.migrate import apply_migrations

        conn = await asyncpg.connect(settings.database_url)
        try:
            return await apply_migrations(conn)
        finally:
            await conn.close()
    import asyncio

    from service.db import migrate

    return await asyncio.to_thread(migrate, settings.db_path)


async def verify_configured_key(settings: Settings, sealer: Sealer) -> None:
    """SealError unless ``sealer`` opens the configured database (checked before serving, so
    that a wrong key is one line at start)."""
    if uses_postgres(settings):
        import asyncpg

        from service.pg.sealing import Db, check_key_matches

        conn = await asyncpg.connect(settings.database_url)
        try:
            await check_key_matches(Db(conn), sealer)
        finally:
            await conn.close()
        return
    import asyncio

    from service.db import verify_key

    await asyncio.to_thread(verify_key, settings.db_path, sealer)


def shared_key_missing(settings: Settings) -> str | None:
    """Why the key setting does not suit a shared database, if it does not: with PostgreSQL,
    every node must seal with the same key, so a key file made beside a SQLite file that is not
    used would give each machine its own."""
    if not uses_postgres(settings) or settings.encryption_key.strip():
        return None
    if str(settings.key_file) not in ("", "."):
        return None
    return (
        "with MADOGUCHI_DATABASE_URL, set MADOGUCHI_ENCRYPTION_KEY (or MADOGUCHI_KEY_FILE) to "
        "the same key on every node"
    )
