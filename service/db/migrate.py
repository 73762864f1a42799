"""Numbered plain-SQL migrations, recorded in ``PRAGMA user_version``.

A migration file is never edited once merged: a change is a new file. Each runs in its own
transaction together with the version bump, so a crash leaves the database at a known version.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"bad migration file name: {path.name}")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text("utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1..n without gaps: {versions}")
    return found


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Bring the schema up to date; returns the names of the migrations applied."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    applied = []
    for migration in load_migrations():
        if migration.version <= current:
            continue
        # executescript would COMMIT first; run the statements inside our own transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(migration.sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {migration.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(migration.name)
    return applied


def _split(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer)
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer)
    return statements
