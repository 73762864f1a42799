"""``madoguchi backup PATH``: a consistent copy of the database while the service runs.

SQLite's online backup API copies the pages inside one read transaction, so writers carry on
(WAL) and the copy is a snapshot of one committed state. Content in the copy stays sealed: the
key is not in the database, and must be kept apart from the backups (docs/security.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path


def backup_database(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (replaced atomically, mode 0600)."""
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(temp)
    try:
        src.backup(dst)
        # A single file: the copy needs no WAL beside it.
        dst.execute("PRAGMA journal_mode = DELETE")
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise RuntimeError("the copy failed its integrity check")
    finally:
        dst.close()
        src.close()
    with open(temp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temp, target)
