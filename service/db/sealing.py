"""Sealed columns: the row functions call :func:`seal` and :func:`unseal` with their connection.

Each SQLite connection of the store is a :class:`SealedConnection` carrying the service's
:class:`~service.crypto.Sealer`, so the row functions (which run on the connections' threads and
get only the connection) seal what they write and open what they read; nothing above the db
layer ever sees ciphertext. The associated data names the column and the conversation.
"""

from __future__ import annotations

import sqlite3

from service.clock import now_iso
from service.crypto import Sealer, SealError


class SealedConnection(sqlite3.Connection):
    sealer: Sealer | None = None


def sealer_of(conn: sqlite3.Connection) -> Sealer:
    sealer = getattr(conn, "sealer", None)
    if not isinstance(sealer, Sealer):
        raise SealError("this connection has no encryption key")
    return sealer


def seal(conn: sqlite3.Connection, column: str, conversation_id: str, text: str) -> bytes:
    return sealer_of(conn).seal(text, f"{column}:{conversation_id}")


def unseal(conn: sqlite3.Connection, column: str, conversation_id: str, blob: bytes) -> str:
    if blob == b"":  # erased by the retention purge
        return ""
    return sealer_of(conn).open(blob, f"{column}:{conversation_id}")


def unseal_or_none(
    conn: sqlite3.Connection, column: str, conversation_id: str, blob: bytes | None
) -> str | None:
    return None if blob is None else unseal(conn, column, conversation_id, blob)


def code_word_mac(conn: sqlite3.Connection, word: str) -> str:
    return sealer_of(conn).lookup(word)


# Every sealed column: (table, key column, conversation id expression, column).
SEALED_COLUMNS = (
    ("message", "seq", "conversation_id", "body"),
    ("note", "id", "conversation_id", "body"),
    ("conversation", "id", "id", "summary"),
    ("conversation", "id", "id", "code_word"),
    ("survey", "conversation_id", "conversation_id", "comment"),
)
SEALED_LABELS = tuple(f"{table}.{column}" for table, _, _, column in SEALED_COLUMNS)
_SELECTS = {
    (table, column): f"SELECT {key}, {conv}, {column} FROM {table} "  # noqa: S608 (constants)
    f"WHERE {column} IS NOT NULL AND {column} != x''"
    for table, key, conv, column in SEALED_COLUMNS
}
_UPDATES = {
    (table, column): f"UPDATE {table} SET {column} = ? WHERE {conv} = ? AND {key} = ?"  # noqa: S608
    for table, key, conv, column in SEALED_COLUMNS
}


def check_key(conn: sqlite3.Connection, sealer: Sealer) -> None:
    """Refuse a key that did not seal this database; on first use, seal any plaintext left by
    earlier versions and record the key. Runs inside the caller's transaction."""
    if sealer.key_id not in check_key_matches(conn, sealer):
        reseal(conn, sealer)


def check_key_matches(conn: sqlite3.Connection, sealer: Sealer) -> set[bytes]:
    """Raise SealError unless one of ``sealer``'s keys sealed this database (a new database
    matches any key); return the ids of the keys in use."""
    known = {bytes.fromhex(r[0]) for r in conn.execute("SELECT key_id FROM sealing_key")}
    if known and not known & set(sealer.key_ids):
        raise SealError("the encryption key does not match this database")
    return known


def rotate(conn: sqlite3.Connection, sealer: Sealer) -> int:
    """``madoguchi rotate-key``: reseal with ``sealer``'s first key, once one of its keys is
    known to have sealed this database; returns how many values were resealed."""
    check_key_matches(conn, sealer)
    return reseal(conn, sealer)


def reseal(conn: sqlite3.Connection, sealer: Sealer) -> int:
    """Seal every value with the sealing key (plaintext of earlier versions included), refresh
    the code words' lookup hashes, and record the sealing key as the only one in use."""
    changed = 0
    for table, _, _, column in SEALED_COLUMNS:
        for key, conv, value in conn.execute(_SELECTS[table, column]).fetchall():
            aad = f"{table}.{column}:{conv}"
            if isinstance(value, bytes):
                if sealer.is_current(value):
                    continue
                text = sealer.open(value, aad)
            else:
                text = str(value)
            conn.execute(_UPDATES[table, column], (sealer.seal(text, aad), conv, key))
            if column == "code_word":
                conn.execute(
                    "UPDATE conversation SET code_word_mac = ? WHERE id = ?",
                    (sealer.lookup(text), key),
                )
            changed += 1
    conn.execute("DELETE FROM sealing_key")
    conn.execute(
        "INSERT INTO sealing_key (key_id, created_at) VALUES (?, ?)",
        (sealer.key_id.hex(), now_iso()),
    )
    return changed
