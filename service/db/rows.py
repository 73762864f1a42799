"""Rows → domain objects, and the SQL shared by ``store.py``, ``admin.py`` and ``casework.py``."""

from __future__ import annotations

import json
import sqlite3

from service.clock import now_iso
from service.db.sealing import seal
from service.domain.accounts import User
from service.domain.conversations import Author, Message
from service.domain.directory import Campaign, Desk, Partner
from service.errors import AppError, ErrorCode

USER_COLUMNS = "user.id, username, display_name, role, active, all_desks, password_hash"


def desk_of(row: sqlite3.Row) -> Desk:
    return Desk(
        id=row["id"],
        key=row["key"],
        name=row["name"],
        is_default=bool(row["is_default"]),
        description=row["description"],
        phones=tuple(json.loads(row["phones"])),
        hours=row["hours"],
        closures=row["closures"],
        name_en=row["name_en"],
        name_kana=row["name_kana"],
        practice=bool(row["practice"]),
    )


def partner_of(row: sqlite3.Row) -> Partner:
    return Partner(
        id=row["id"],
        key=row["key"],
        name=row["name"],
        origins=tuple(json.loads(row["origins"])),
        is_default=bool(row["is_default"]),
        enabled=bool(row["enabled"]),
        exit_url=row["exit_url"],
        desk_id=row["desk_id"],
        lang=row["lang"],
    )


def campaign_of(row: sqlite3.Row) -> Campaign:
    return Campaign(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        desk_id=row["desk_id"],
        partner_id=row["partner_id"],
        enabled=bool(row["enabled"]),
    )


def user_of(conn: sqlite3.Connection, row: sqlite3.Row) -> User:
    desk_ids = None
    if not row["all_desks"]:
        desk_ids = frozenset(
            r[0]
            for r in conn.execute("SELECT desk_id FROM user_desk WHERE user_id = ?", (row["id"],))
        )
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        active=bool(row["active"]),
        desk_ids=desk_ids,
    )


def desk_id_of(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT id FROM desk WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise AppError(ErrorCode.UNKNOWN_DESK, f"no desk {key!r}")
    return int(row[0])


def set_user_desks(conn: sqlite3.Connection, user_id: int, desk_keys: list[str] | None) -> None:
    """``None``: every desk, now and future; a list: exactly those desks."""
    conn.execute("UPDATE user SET all_desks = ? WHERE id = ?", (int(desk_keys is None), user_id))
    conn.execute("DELETE FROM user_desk WHERE user_id = ?", (user_id,))
    for key in desk_keys or []:
        conn.execute(
            "INSERT OR IGNORE INTO user_desk (user_id, desk_id) VALUES (?, ?)",
            (user_id, desk_id_of(conn, key)),
        )


def insert_user(
    conn: sqlite3.Connection,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    desk_keys: list[str] | None,
) -> int:
    try:
        cursor = conn.execute(
            "INSERT INTO user (username, display_name, role, password_hash, all_desks, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (username, display_name, role, password_hash, int(desk_keys is None), now_iso()),
        )
    except sqlite3.IntegrityError:
        raise AppError(ErrorCode.ALREADY_EXISTS, f"user {username!r} exists already") from None
    user_id = int(cursor.lastrowid or 0)
    set_user_desks(conn, user_id, desk_keys)
    return user_id


# The next seq is the conversation's last_seq + 1; a trigger (migration 0007) advances last_seq.
APPEND = (
    "INSERT INTO message (conversation_id, seq, author, user_id, client_id, body, created_at)"
    " SELECT id, last_seq + 1, ?2, ?3, ?4, ?5, ?6 FROM conversation WHERE id = ?1"
)
# A client's message, with every check of the common case in the WHERE: the conversation is
# open and, for a counselor, theirs; a client_id seen before inserts nothing. No row back sends
# the caller to the checks that say why (store.py ``_not_appended``).
APPEND_CHECKED = (
    APPEND + " AND status != 'closed' AND (?2 != 'counselor' OR counselor_id IS ?3)"
    " ON CONFLICT (conversation_id, author, client_id) DO NOTHING"
)


def append_message(
    conn: sqlite3.Connection,
    conversation_id: str,
    author: Author,
    user_id: int | None,
    client_id: str | None,
    body: str,
    sql: str = APPEND,
) -> Message | None:
    """Insert a message with the next seq; None if ``sql`` inserted nothing."""
    created_at = now_iso()
    sealed = seal(conn, "message.body", conversation_id, body)
    row = conn.execute(
        sql + " RETURNING seq", (conversation_id, author, user_id, client_id, sealed, created_at)
    ).fetchone()
    if row is None:
        return None
    return Message(conversation_id, row[0], author, body, created_at, client_id)


def append_system_message(conn: sqlite3.Connection, conversation_id: str, body: str) -> Message:
    message = append_message(conn, conversation_id, "system", None, None, body)
    if message is None:
        raise AppError(ErrorCode.NOT_FOUND)
    return message
