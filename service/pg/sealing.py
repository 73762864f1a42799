"""Sealed columns in PostgreSQL: the same seal and associated data as SQLite's
``service/db/sealing.py`` (``"{table}.{column}:{conversation_id}"``), so one key reads both.

Area functions get a :class:`Db`: the asyncpg connection and the store's sealer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.clock import now_iso
from service.crypto import Sealer, SealError
from service.db.sealing import SEALED_COLUMNS
from service.pg.migrate import SCHEMA_LOCK


@dataclass(frozen=True, slots=True)
class Db:
    """What every area function gets: ``conn`` (an asyncpg connection, inside the write's
    transaction for ``_write``) and the ``sealer`` (None for the admin commands)."""

    conn: Any
    sealer: Sealer | None = None


def sealer_of(db: Db) -> Sealer:
    if db.sealer is None:
        raise SealError("this connection has no encryption key")
    return db.sealer


def seal(db: Db, column: str, conversation_id: str, text: str) -> bytes:
    return sealer_of(db).seal(text, f"{column}:{conversation_id}")


def unseal(db: Db, column: str, conversation_id: str, blob: bytes) -> str:
    if blob == b"":  # erased by the retention purge
        return ""
    return sealer_of(db).open(bytes(blob), f"{column}:{conversation_id}")


def unseal_or_none(db: Db, column: str, conversation_id: str, blob: bytes | None) -> str | None:
    return None if blob is None else unseal(db, column, conversation_id, blob)


def code_word_mac(db: Db, word: str) -> str:
    return sealer_of(db).lookup(word)


_SELECTS = {
    (table, column): f"SELECT {key}, {conv}, {column} FROM {table} "  # noqa: S608 (constants)
    f"WHERE {column} IS NOT NULL AND {column} != ''::bytea"
    for table, key, conv, column in SEALED_COLUMNS
}
_UPDATES = {
    (table, column): f"UPDATE {table} SET {column} = $1 WHERE {conv} = $2 AND {key} = $3"  # noqa: S608
    for table, key, conv, column in SEALED_COLUMNS
}


async def check_key(db: Db, sealer: Sealer) -> None:
    """Refuse a key that did not seal this database; on first use, record the key. Runs inside
    the caller's transaction, under the schema lock: two nodes starting on a new database with
    different keys cannot both record theirs."""
    await db.conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
    if sealer.key_id not in await check_key_matches(db, sealer):
        await reseal(db, sealer)


async def check_key_matches(db: Db, sealer: Sealer) -> set[bytes]:
    """Raise SealError unless one of ``sealer``'s keys sealed this database (a new database
    matches any key); return the ids of the keys in use."""
    rows = await db.conn.fetch("SELECT key_id FROM sealing_key")
    known = {bytes.fromhex(r[0]) for r in rows}
    if known and not known & set(sealer.key_ids):
        raise SealError("the encryption key does not match this database")
    return known


async def rotate(db: Db, sealer: Sealer) -> int:
    """``madoguchi rotate-key``: reseal with ``sealer``'s first key, once one of its keys is
    known to have sealed this database; returns how many values were resealed."""
    await db.conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
    await check_key_matches(db, sealer)
    return await reseal(db, sealer)


async def reseal(db: Db, sealer: Sealer) -> int:
    """Seal every value with the sealing key, refresh the code words' lookup hashes, and record
    the sealing key as the only one in use."""
    changed = 0
    for table, _, _, column in SEALED_COLUMNS:
        for key, conv, value in await db.conn.fetch(_SELECTS[table, column]):
            aad = f"{table}.{column}:{conv}"
            value = bytes(value)
            if sealer.is_current(value):
                continue
            text = sealer.open(value, aad)
            await db.conn.execute(_UPDATES[table, column], sealer.seal(text, aad), conv, key)
            if column == "code_word":
                await db.conn.execute(
                    "UPDATE conversation SET code_word_mac = $1 WHERE id = $2",
                    sealer.lookup(text),
                    key,
                )
            changed += 1
    await db.conn.execute("DELETE FROM sealing_key")
    await db.conn.execute(
        "INSERT INTO sealing_key (key_id, created_at) VALUES ($1, $2)",
        sealer.key_id.hex(),
        now_iso(),
    )
    return changed
