"""``madoguchi serve | migrate | backup | purge | new-key | rotate-key``; the settings commands
``desk | partner | campaign | contact`` are in ``cli_admin.py``, ``add-user | user | canned | tag``
in ``cli_staff.py``: parse arguments, then call into the service."""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service import logs
from service.actions.retention import purge_expired_content
from service.auth import hash_password, new_password
from service.backup import backup_database
from service.cli_admin import add_directory_commands
from service.cli_staff import add_staff_commands
from service.config import Settings
from service.crypto import Sealer, SealError, load_keys, new_key, rotate_keys
from service.db.serving_lock import DatabaseInUse, held, hold_for_life
from service.domain.audit import CLI_ACTOR
from service.errors import AppError, ErrorCode
from service.pg.backup import backup_postgres
from service.storage import StorageUnavailable
from service.stores import (
    database_name,
    migrate_configured,
    open_configured_store,
    shared_key_missing,
    uses_postgres,
    verify_configured_key,
)

log = logging.getLogger("madoguchi")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = Settings.from_env(
        db_path=getattr(args, "db", None),  # new-key has no database
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )
    logs.configure(settings.log_level)
    try:
        args.run(settings, args)
    except StorageUnavailable as exc:
        sys.exit(f"madoguchi: the database is unavailable: {exc.reason}")
    except AppError as exc:
        sys.exit(f"madoguchi: {exc.message}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="madoguchi", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)

    mig = commands.add_parser("migrate", help="create or update the database schema")
    mig.set_defaults(run=_migrate)

    new_key_cmd = commands.add_parser("new-key", help="print a new encryption key")
    new_key_cmd.set_defaults(run=_new_key)

    rotate = commands.add_parser(
        "rotate-key", help="reseal all content with a new key (run with the service stopped)"
    )
    rotate.set_defaults(run=_rotate_key)

    backup = commands.add_parser(
        "backup", help="copy the database, consistently, even while the service runs"
    )
    backup.add_argument("path", type=Path, help="the file to write (replaced if it exists)")
    backup.set_defaults(run=_backup)

    purge = commands.add_parser(
        "purge", help="erase the content of conversations closed MADOGUCHI_RETENTION_DAYS ago"
    )
    purge.set_defaults(run=_purge)

    settings_commands = [*add_directory_commands(commands), *add_staff_commands(commands)]
    for sub in (serve, mig, rotate, backup, purge, *settings_commands):
        sub.add_argument("--db", type=Path, help="database file (default: $MADOGUCHI_DB)")
    return parser


def _migrate(settings: Settings, _: argparse.Namespace) -> None:
    """Safe while servers run on the same PostgreSQL database, and run by several at once."""
    applied = asyncio.run(migrate_configured(settings))
    asyncio.run(_ensure_defaults(settings))
    log.info(
        "database %s is up to date (%d migrations applied)", database_name(settings), len(applied)
    )


async def _ensure_defaults(settings: Settings) -> bool:
    """Create the default desk and partners; on the very first start, an admin account.

    Returns True if the admin was created (its password is printed once by ``serve``).
    """
    store = await open_configured_store(settings)
    try:
        await store.ensure_defaults(settings.default_desk_hours)
        if await store.count_users() == 0:
            password = new_password()
            hashed = await hash_password(password)
            try:
                await store.insert_user("admin", "管理者", "admin", hashed, None)
            except AppError as exc:  # another node, starting at the same time, was first
                if exc.code != ErrorCode.ALREADY_EXISTS:
                    raise
                return False
            print(  # noqa: T201 (shown once, on the operator's console, never logged)
                f"\n  First start: created the account 'admin' with the password: {password}\n"
                "  Log in at /inbox/login and keep it safe; it is not shown again.\n",
                flush=True,
            )
            return True
        return False
    finally:
        await store.close()


def _serve(settings: Settings, _: argparse.Namespace) -> None:
    import uvicorn

    from service.app import create_app

    missing = shared_key_missing(settings)
    if missing:
        sys.exit(f"madoguchi: {missing}")
    try:
        if not uses_postgres(settings):
            # Held until the process ends: rotate-key and a second server refuse meanwhile.
            # (PostgreSQL is served by several processes at once, by design.)
            hold_for_life(settings.db_path)
        asyncio.run(migrate_configured(settings))
        # Made on first start, reused after; checked here so that a wrong key is one line.
        sealer = load_keys(settings.encryption_key, settings.key_path, create=True)
        asyncio.run(verify_configured_key(settings, sealer))
    except (SealError, DatabaseInUse) as exc:
        sys.exit(f"madoguchi: {exc}")
    asyncio.run(_ensure_defaults(settings))
    log.info("Madoguchi on %s (database %s)", settings.public_url, database_name(settings))
    app = create_app(settings)
    # Everything made so far lives as long as the process: keep it out of the collector's way.
    # Full collections over it stalled the event loop for tens of ms (bench profile, p99).
    gc.freeze()
    # The storage thread waits for the GIL at every statement; the default 5 ms switch interval
    # made each group commit take twice its CPU time (bench profile).
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=_uvicorn_logging(),
        log_level=None,
        # Access logs would keep visitors' addresses; the service stores none.
        access_log=False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; the service decides the
        # client's address in one place, from MADOGUCHI_TRUSTED_PROXIES (http/client_address.py).
        proxy_headers=False,
        # Per-message deflate nearly doubles the memory of each idle connection.
        ws_per_message_deflate=False,
        lifespan="on",
        loop="auto",
        http="auto",
        ws="websockets-sansio",
        server_header=False,
        # Long-poll requests stay open until the next ping; don't let them hold a restart.
        timeout_graceful_shutdown=3,
    )


def _uvicorn_logging() -> dict[str, Any]:
    """uvicorn's logging, but quiet at INFO: it logs each WebSocket's client address there,
    and the service keeps no visitor's address, not even in a log. Its handlers get the
    filter of ``service/logs.py`` (no query string, no address, repeats held back)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["level"] = "WARNING"
    config.setdefault("filters", {})["private"] = {"()": logs.shared}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("private")
    return config


def _new_key(_: Settings, __: argparse.Namespace) -> None:
    print(new_key())  # noqa: T201 (the operator asked for it; never logged)


def _rotate_key(settings: Settings, _: argparse.Namespace) -> None:
    """With a key file: write a new key in front of the old, reseal, then drop the old key.
    With ``MADOGUCHI_ENCRYPTION_KEY``: reseal with its first key (the operator put the new key
    first) so that the others can be removed."""
    if uses_postgres(settings):
        _rotate_shared_key(settings)
        return
    if not settings.db_path.exists():
        sys.exit(f"madoguchi: no database at {settings.db_path}")
    try:
        # A server writing meanwhile would seal with the old key, which is then dropped.
        with held(settings.db_path):
            sealer = rotate_keys(settings.encryption_key, settings.key_path)
            count = asyncio.run(_reseal(settings, sealer))
            if not settings.encryption_key.strip():
                rotate_keys(settings.encryption_key, settings.key_path, finish=True)
    except DatabaseInUse as exc:
        sys.exit(f"madoguchi: {exc}; stop it, then run rotate-key again (nothing was changed)")
    except SealError as exc:
        sys.exit(f"madoguchi: {exc}")
    print(  # noqa: T201 (the operator asked for it: a count and a key id, never a key)
        f"resealed {count} values with the key {sealer.key_id.hex()}"
    )


def _rotate_shared_key(settings: Settings) -> None:
    """PostgreSQL: the nodes keep serving. Every node already seals with the new key (first in
    ``MADOGUCHI_ENCRYPTION_KEY``, the old one after it); this reseals what the old one sealed,
    after which the old key can be removed everywhere."""
    if not settings.encryption_key.strip():
        sys.exit(
            "madoguchi: with MADOGUCHI_DATABASE_URL, put the new key first in "
            "MADOGUCHI_ENCRYPTION_KEY on every node, restart them, then run rotate-key"
        )
    try:
        sealer = load_keys(settings.encryption_key, settings.key_path, create=False)
        count = asyncio.run(_reseal(settings, sealer))
    except SealError as exc:
        sys.exit(f"madoguchi: {exc}")
    print(  # noqa: T201 (the operator asked for it: a count and a key id, never a key)
        f"resealed {count} values with the key {sealer.key_id.hex()}"
    )


async def _reseal(settings: Settings, sealer: Sealer) -> int:
    # Without a sealer: opening with one would reseal everything in its key check, uncounted.
    store = await open_configured_store(settings)
    try:
        return await store.reseal(sealer)
    finally:
        await store.close()


def _backup(settings: Settings, args: argparse.Namespace) -> None:
    try:
        if uses_postgres(settings):
            backup_postgres(settings.database_url, args.path)
        else:
            backup_database(settings.db_path, args.path)
    except (OSError, RuntimeError, ValueError) as exc:
        sys.exit(f"madoguchi: {exc}")
    log.info("copied %s to %s", database_name(settings), args.path)


def _purge(settings: Settings, _: argparse.Namespace) -> None:
    """What the service does daily, now, then a VACUUM: no erased page is left anywhere."""
    if not uses_postgres(settings) and not settings.db_path.exists():
        sys.exit(f"madoguchi: no database at {settings.db_path}")

    async def run() -> int:
        store = await open_configured_store(settings)
        try:
            return await purge_expired_content(
                store,
                settings.retention_days,
                CLI_ACTOR,
                vacuum=True,
                practice_days=settings.practice_retention_days,
            )
        finally:
            await store.close()

    purged = asyncio.run(run())
    print(  # noqa: T201 (the operator asked for it: a count, never content)
        f"purged {purged} conversations closed more than {settings.retention_days} days ago"
        f" (on practice desks: {settings.practice_retention_days} days)"
    )
