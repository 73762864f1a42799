"""Opening SQLite connections: the schema, the pragmas, and who waits how long for a lock.

The service reads on one connection and writes on another (WAL: readers never wait for the
writer). Every commit is fsynced (``synchronous=FULL``), so an acknowledged message survives a
power cut too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.crypto import Sealer
from service.db.migrate import apply_migrations
from service.db.retention import enable_secure_delete
from service.db.sealing import SealedConnection, check_key_matches

# Readers and the migrations at start may wait for a lock: nothing is answered meanwhile.
_PATIENT_MS = 30_000
# About twice what the WAL holds between automatic checkpoints (1000 pages of 4 KiB).
_WAL_KEPT_BYTES = 8 << 20


def migrate(path: Path) -> list[str]:
    """Create the database if needed and apply pending migrations (synchronous, for the CLI)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readable by the service's own account only; SQLite gives its -wal and -shm files the
    # same mode.
    path.touch(mode=0o600, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn, None, _PATIENT_MS)
        return apply_migrations(conn)
    finally:
        conn.close()


def verify_key(path: Path, sealer: Sealer) -> None:
    """SealError unless ``sealer`` opens this database: checked before serving, so that a
    wrong key is one line at start rather than a failed startup's traceback."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {_PATIENT_MS:d}")
        check_key_matches(conn, sealer)
    finally:
        conn.close()


def open_reading_connection(path: Path, sealer: Sealer | None) -> sqlite3.Connection:
    conn = sqlite3.connect(path, factory=SealedConnection, isolation_level=None)
    _configure(conn, sealer, _PATIENT_MS)
    return conn


def open_writing_connection(
    path: Path, sealer: Sealer | None, lock_wait: float
) -> sqlite3.Connection:
    """The writing connection. It waits at most ``lock_wait`` seconds for a lock that another
    program holds (a backup tool, the admin commands): a batch then fails quickly with a clear
    error instead of running into its deadline."""
    conn = sqlite3.connect(path, factory=SealedConnection, isolation_level=None)
    _configure(conn, sealer, round(lock_wait * 1000))
    enable_secure_delete(conn)
    # A checkpoint lets the WAL be reused from its start, but it keeps its size: after a burst
    # it would hold that space for good. Beyond this size it is cut back after a checkpoint.
    conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEPT_BYTES:d}")
    return conn


def _configure(conn: sqlite3.Connection, sealer: Sealer | None, busy_ms: int) -> None:
    if isinstance(conn, SealedConnection):
        conn.sealer = sealer
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {busy_ms:d}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: every COMMIT is fsynced, so an acknowledged message survives a power cut too.
    conn.execute("PRAGMA synchronous = FULL")
