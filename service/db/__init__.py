"""Storage: the only package that speaks SQL. Everything else uses ``service.storage.Store``."""

from __future__ import annotations

from pathlib import Path

from service.crypto import Sealer
from service.db.connections import migrate, verify_key
from service.db.store import SqliteStore
from service.storage import Store, WriteLimits

__all__ = ["migrate", "open_store", "verify_key"]


async def open_store(
    path: Path,
    sealer: Sealer | None = None,
    *,
    writer_process: bool = False,
    limits: WriteLimits | None = None,
) -> Store:
    """Open the SQLite store (see :meth:`SqliteStore.open`). Typed as the protocol, so that
    mypy checks the store against it."""
    return await SqliteStore.open(path, sealer, writer_process=writer_process, limits=limits)
