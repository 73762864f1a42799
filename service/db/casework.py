"""The SQL of casework: notes, tags, risk, transfers and the handoff summary of open
conversations (closed ones are in ``closed.py``).

Every write runs through the store's group-commit writer and checks the conversation's state
inside its own transaction, so a close or a transfer cannot slip in between check and write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from service.clock import now_iso
from service.db.rows import USER_COLUMNS, append_system_message, user_of
from service.db.sealing import seal, unseal, unseal_or_none
from service.domain.accounts import User
from service.domain.casework import (
    Case,
    Note,
    check_summary_base,
    next_summary_at,
    works_inbox,
)
from service.domain.conversations import Message
from service.errors import AppError, ErrorCode

T = TypeVar("T")
TOKYO = ZoneInfo("Asia/Tokyo")


class CaseworkQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def get_case(self, conversation_id: str) -> Case | None:
        return await self._read(case_of, conversation_id)

    async def was_held_by(self, conversation_id: str, user_id: int) -> bool:
        """Whether the user held the conversation before handing it on."""
        return await self._read(_was_held_by, conversation_id, user_id)

    async def get_user(self, username: str) -> User | None:
        return await self._read(_get_user, username)

    async def insert_note(
        self,
        conversation_id: str,
        user_id: int,
        body: str,
        kind: str = "note",
        to_user_id: int | None = None,
    ) -> None:
        await self._write(_insert_note, conversation_id, user_id, body, kind, to_user_id)

    async def set_tags(self, conversation_id: str, keys: list[str]) -> None:
        await self._write(_set_tags, conversation_id, keys)

    async def set_risk(self, conversation_id: str, level: str) -> str:
        """Set the risk level of an open conversation; returns the level it had before."""
        return await self._write(_set_risk, conversation_id, level)

    async def set_summary(
        self, conversation_id: str, user_id: int, summary: str | None, base: str | None = None
    ) -> str:
        """Save the summary if ``base`` is the revision stored (``summary_at``), else refuse
        with ``summary_conflict``; returns the new revision."""
        return await self._write(_set_summary, conversation_id, user_id, summary, base)

    async def transfer_conversation(
        self,
        conversation_id: str,
        by_user_id: int,
        holder_id: int | None,
        to_user: User | None,
        to_desk_id: int,
        note: str | None,
        max_chats: int,
    ) -> Message:
        """Hand an open conversation to ``to_user`` (active) or back to ``to_desk_id``'s queue
        (waiting). NOT_FOUND if its holder changed meanwhile; CHAT_LIMIT if ``to_user`` is full.
        Returns the ``counselor_changed`` system message."""
        return await self._write(
            _transfer, conversation_id, by_user_id, holder_id, to_user, to_desk_id, note, max_chats
        )


# -- synchronous SQL ---------------------------------------------------------------------------


def case_of(conn: sqlite3.Connection, conversation_id: str) -> Case | None:
    row = conn.execute(
        "SELECT c.id, c.desk_id, c.status, c.risk, c.code_word, c.quick_exit, c.summary, "
        "c.summary_at, s.display_name AS summary_by FROM conversation AS c "
        "LEFT JOIN user AS s ON s.id = c.summary_by WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return None
    tags = tuple(
        r[0]
        for r in conn.execute(
            "SELECT t.key FROM conversation_tag AS ct JOIN topic_tag AS t ON t.id = ct.tag_id "
            "WHERE ct.conversation_id = ? ORDER BY t.key = 'other', t.id",
            (conversation_id,),
        )
    )
    notes = tuple(
        Note(
            r["id"],
            r["kind"],
            r["author"],
            unseal(conn, "note.body", conversation_id, r["body"]),
            r["created_at"],
            r["reader"],
        )
        for r in conn.execute(
            "SELECT n.id, n.kind, n.body, n.created_at, a.display_name AS author, "
            "r.display_name AS reader FROM note AS n JOIN user AS a ON a.id = n.user_id "
            "LEFT JOIN user AS r ON r.id = n.to_user_id WHERE n.conversation_id = ? "
            "ORDER BY n.id",
            (conversation_id,),
        )
    )
    return Case(
        conversation_id=row["id"],
        desk_id=row["desk_id"],
        status=row["status"],
        risk=row["risk"],
        tags=tags,
        code_word=unseal_or_none(conn, "conversation.code_word", conversation_id, row["code_word"]),
        quick_exit=bool(row["quick_exit"]),
        summary=unseal_or_none(conn, "conversation.summary", conversation_id, row["summary"]),
        notes=notes,
        summary_at=row["summary_at"],
        summary_by=row["summary_by"],
    )


def _was_held_by(conn: sqlite3.Connection, conversation_id: str, user_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM transfer WHERE conversation_id = ? AND from_user_id = ? LIMIT 1",
        (conversation_id, user_id),
    ).fetchone()
    return row is not None


def _get_user(conn: sqlite3.Connection, username: str) -> User | None:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM user WHERE username = ?",  # noqa: S608 (constant columns)
        (username,),
    ).fetchone()
    return None if row is None else user_of(conn, row)


def _conversation_row(conn: sqlite3.Connection, conversation_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT status, counselor_id, desk_id, risk FROM conversation WHERE id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND)
    return row  # type: ignore[no-any-return]


def _insert_note(
    conn: sqlite3.Connection,
    conversation_id: str,
    user_id: int,
    body: str,
    kind: str,
    to_user_id: int | None,
) -> None:
    _conversation_row(conn, conversation_id)
    conn.execute(
        "INSERT INTO note (conversation_id, user_id, kind, to_user_id, body, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            conversation_id,
            user_id,
            kind,
            to_user_id,
            seal(conn, "note.body", conversation_id, body),
            now_iso(),
        ),
    )


def _set_tags(conn: sqlite3.Connection, conversation_id: str, keys: list[str]) -> None:
    _conversation_row(conn, conversation_id)
    ids = []
    for key in keys:
        row = conn.execute(
            "SELECT id FROM topic_tag WHERE key = ? AND enabled = 1", (key,)
        ).fetchone()
        if row is None:
            raise AppError(ErrorCode.INVALID_PAYLOAD, f"unknown tag {key!r}")
        ids.append(row[0])
    conn.execute("DELETE FROM conversation_tag WHERE conversation_id = ?", (conversation_id,))
    for tag_id in ids:
        conn.execute(
            "INSERT INTO conversation_tag (conversation_id, tag_id) VALUES (?, ?)",
            (conversation_id, tag_id),
        )


def _set_risk(conn: sqlite3.Connection, conversation_id: str, level: str) -> str:
    before = _conversation_row(conn, conversation_id)
    if before["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    conn.execute("UPDATE conversation SET risk = ? WHERE id = ?", (level, conversation_id))
    return str(before["risk"])


def _set_summary(
    conn: sqlite3.Connection,
    conversation_id: str,
    user_id: int,
    summary: str | None,
    base: str | None,
) -> str:
    # Read inside the write transaction: no other save can come between check and write.
    row = conn.execute(
        "SELECT summary, summary_at FROM conversation WHERE id = ?", (conversation_id,)
    ).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND)
    stored = unseal_or_none(conn, "conversation.summary", conversation_id, row["summary"])
    check_summary_base(row["summary_at"], base, stored == summary)
    revision = next_summary_at(row["summary_at"], now_iso())
    conn.execute(
        "UPDATE conversation SET summary = ?, summary_by = ?, summary_at = ? WHERE id = ?",
        (
            None
            if summary is None
            else seal(conn, "conversation.summary", conversation_id, summary),
            user_id,
            revision,
            conversation_id,
        ),
    )
    return revision


def _works_desk(conn: sqlite3.Connection, user: User, desk_id: int) -> bool:
    # Read again here: the account may have changed since the caller looked it up.
    row = conn.execute(
        "SELECT active, role, all_desks FROM user WHERE id = ?", (user.id,)
    ).fetchone()
    if row is None or not row["active"] or not works_inbox(row["role"]):
        return False
    if row["all_desks"]:
        return True
    found = conn.execute(
        "SELECT 1 FROM user_desk WHERE user_id = ? AND desk_id = ?", (user.id, desk_id)
    ).fetchone()
    return found is not None


def _transfer(
    conn: sqlite3.Connection,
    conversation_id: str,
    by_user_id: int,
    holder_id: int | None,
    to_user: User | None,
    to_desk_id: int,
    note: str | None,
    max_chats: int,
) -> Message:
    row = _conversation_row(conn, conversation_id)
    if row["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    if row["counselor_id"] != holder_id:
        raise AppError(ErrorCode.NOT_FOUND)
    now = now_iso()
    if to_user is not None:
        if to_user.id == holder_id or not _works_desk(conn, to_user, to_desk_id):
            raise AppError(ErrorCode.UNKNOWN_USER, "nobody by that name can take it")
        held = conn.execute(
            "SELECT COUNT(*) FROM conversation WHERE counselor_id = ? AND status = 'active'",
            (to_user.id,),
        ).fetchone()[0]
        if held >= max_chats:
            raise AppError(ErrorCode.CHAT_LIMIT, f"they hold {max_chats} chats already")
        conn.execute(
            "UPDATE conversation SET status = 'active', counselor_id = ?, desk_id = ?, "
            "claimed_at = ? WHERE id = ?",
            (to_user.id, to_desk_id, now, conversation_id),
        )
    else:
        if holder_id is None and row["desk_id"] == to_desk_id:
            raise AppError(ErrorCode.INVALID_PAYLOAD, "it is waiting at that desk already")
        conn.execute(
            "UPDATE conversation SET status = 'waiting', counselor_id = NULL, desk_id = ?, "
            "claimed_at = NULL WHERE id = ?",
            (to_desk_id, conversation_id),
        )
    conn.execute(
        "INSERT INTO transfer (conversation_id, by_user_id, from_user_id, to_user_id, "
        "from_desk_id, to_desk_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            conversation_id,
            by_user_id,
            holder_id,
            None if to_user is None else to_user.id,
            row["desk_id"],
            to_desk_id,
            now,
        ),
    )
    if note:
        _insert_note(conn, conversation_id, by_user_id, note, "transfer", None)
    return append_system_message(conn, conversation_id, "counselor_changed")
