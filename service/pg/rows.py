"""Rows → domain objects, and the SQL shared by the area modules (PostgreSQL).

asyncpg's records are indexed by column name like ``sqlite3.Row``, so the converters that only
read columns by name are SQLite's own (``desk_of``, ``partner_of``, ``campaign_of``).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from service.clock import now_iso
from service.db.rows import campaign_of, desk_of, partner_of
from service.domain.accounts import User
from service.domain.conversations import Author, Message
from service.errors import AppError, ErrorCode
from service.pg.sealing import Db, seal

__all__ = [
    "APPEND",
    "USER_COLUMNS",
    "RetryWrite",
    "append_message",
    "append_system_message",
    "campaign_of",
    "desk_id_of",
    "desk_of",
    "insert_user",
    "partner_of",
    "rowcount",
    "set_user_desks",
    "user_of",
]

# "user" is a reserved word in PostgreSQL: quoted everywhere.
USER_COLUMNS = "u.id, u.username, u.display_name, u.role, u.active, u.all_desks, u.password_hash"
"""Select from ``"user" AS u``."""


async def user_of(db: Db, row: Any) -> User:
    desk_ids = None
    if not row["all_desks"]:
        rows = await db.conn.fetch("SELECT desk_id FROM user_desk WHERE user_id = $1", row["id"])
        desk_ids = frozenset(r[0] for r in rows)
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        active=bool(row["active"]),
        desk_ids=desk_ids,
    )


async def desk_id_of(db: Db, key: str) -> int:
    desk_id = await db.conn.fetchval("SELECT id FROM desk WHERE key = $1", key)
    if desk_id is None:
        raise AppError(ErrorCode.UNKNOWN_DESK, f"no desk {key!r}")
    return int(desk_id)


async def set_user_desks(db: Db, user_id: int, desk_keys: list[str] | None) -> None:
    """``None``: every desk, now and future; a list: exactly those desks."""
    await db.conn.execute(
        'UPDATE "user" SET all_desks = $1 WHERE id = $2', int(desk_keys is None), user_id
    )
    await db.conn.execute("DELETE FROM user_desk WHERE user_id = $1", user_id)
    for key in desk_keys or []:
        await db.conn.execute(
            "INSERT INTO user_desk (user_id, desk_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            user_id,
            await desk_id_of(db, key),
        )


async def insert_user(
    db: Db,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    desk_keys: list[str] | None,
) -> int:
    # ON CONFLICT: a unique violation would abort the caller's whole transaction.
    user_id = await db.conn.fetchval(
        'INSERT INTO "user" (username, display_name, role, password_hash, all_desks, created_at)'
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING id",
        username,
        display_name,
        role,
        password_hash,
        int(desk_keys is None),
        now_iso(),
    )
    if user_id is None:
        raise AppError(ErrorCode.ALREADY_EXISTS, f"user {username!r} exists already")
    await set_user_desks(db, int(user_id), desk_keys)
    return int(user_id)


# The seq is decided here: advancing conversation.last_seq locks the conversation's row until
# COMMIT, so appends to one conversation are serialised across every node, and gapless.
APPEND = (
    "WITH bump AS (UPDATE conversation SET last_seq = last_seq + 1 WHERE id = $1"
    " RETURNING last_seq)"
    " INSERT INTO message (conversation_id, seq, author, user_id, client_id, body, created_at)"
    " SELECT $1, last_seq, $2, $3, $4, $5, $6 FROM bump RETURNING seq"
)


async def append_message(
    db: Db,
    conversation_id: str,
    author: Author,
    user_id: int | None,
    client_id: str | None,
    body: str,
) -> Message | None:
    """Insert a message with the next seq, unchecked; None if there is no such conversation.
    (A client's message goes through ``conversations.py``'s checked append instead.)"""
    created_at = now_iso()
    sealed = seal(db, "message.body", conversation_id, body)
    seq = await db.conn.fetchval(
        APPEND, conversation_id, author, user_id, client_id, sealed, created_at
    )
    if seq is None:
        return None
    return Message(conversation_id, seq, author, body, created_at, client_id)


async def append_system_message(db: Db, conversation_id: str, body: str) -> Message:
    message = await append_message(db, conversation_id, "system", None, None, body)
    if message is None:
        raise AppError(ErrorCode.NOT_FOUND)
    return message


class RetryWrite(Exception):
    """Raised by an area function whose checks met a state that changed under it (another
    node committed in between): ``PgStore._write`` rolls back and runs the write again."""


def rowcount(status: str) -> int:
    """The row count of an asyncpg command status (``"UPDATE 1"``, ``"INSERT 0 1"``)."""
    return int(status.rsplit(" ", 1)[-1])


def is_unique_violation(exc: BaseException) -> bool:
    """Raise the AppError SQLite's IntegrityError maps to (the transaction is lost anyway)."""
    return isinstance(exc, asyncpg.UniqueViolationError)
