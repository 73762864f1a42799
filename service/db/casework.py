"""The SQL of casework: notes, tags, risk, transfers, the handoff summary, closed conversations
opened on purpose (each opening audited), and a counselor changing their own password.

Every write runs through the store's group-commit writer and checks the conversation's state
inside its own transaction, so a close or a transfer cannot slip in between check and write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from service.clock import iso, now_iso
from service.db.admin import audit
from service.db.rows import USER_COLUMNS, append_system_message, user_of
from service.db.sealing import code_word_mac, seal, unseal, unseal_or_none
from service.domain.accounts import User
from service.domain.audit import Actor
from service.domain.casework import Case, ClosedFilter, ClosedItem, Note, works_inbox
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
        return await self._read(_get_case, conversation_id)

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

    async def set_summary(self, conversation_id: str, user_id: int, summary: str | None) -> None:
        await self._write(_set_summary, conversation_id, user_id, summary)

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

    async def list_closed(
        self, desk_ids: list[int] | None, held_by: int | None, where: ClosedFilter
    ) -> list[ClosedItem]:
        """Closed conversations on ``desk_ids`` (None: all), newest first; with ``held_by``,
        only those that user held — unless the filter names an exact code word."""
        return await self._read(_list_closed, desk_ids, held_by, where)

    async def open_closed(
        self, actor: Actor, conversation_id: str, purpose: str, transcript: bool
    ) -> tuple[Case, list[Message]]:
        """Read a closed conversation on purpose: the audit row is written in the same
        transaction as the read, so no opening goes unrecorded."""
        return await self._write(_open_closed, actor, conversation_id, purpose, transcript)

    async def get_survey(self, conversation_id: str) -> dict[str, Any] | None:
        return await self._read(_get_survey, conversation_id)

    async def change_own_password(
        self, actor: Actor, user_id: int, password_hash: str, keep_session_hash: str
    ) -> None:
        """Set a new password and end every other session of the account."""
        await self._write(_change_own_password, actor, user_id, password_hash, keep_session_hash)


# -- synchronous SQL ---------------------------------------------------------------------------


def _get_case(conn: sqlite3.Connection, conversation_id: str) -> Case | None:
    row = conn.execute(
        "SELECT id, desk_id, status, risk, code_word, quick_exit, summary FROM conversation "
        "WHERE id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return None
    tags = tuple(
        r[0]
        for r in conn.execute(
            "SELECT t.key FROM conversation_tag AS ct JOIN topic_tag AS t ON t.id = ct.tag_id "
            "WHERE ct.conversation_id = ? ORDER BY t.key",
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
    conn: sqlite3.Connection, conversation_id: str, user_id: int, summary: str | None
) -> None:
    _conversation_row(conn, conversation_id)
    conn.execute(
        "UPDATE conversation SET summary = ?, summary_by = ?, summary_at = ? WHERE id = ?",
        (
            None
            if summary is None
            else seal(conn, "conversation.summary", conversation_id, summary),
            user_id,
            now_iso(),
            conversation_id,
        ),
    )


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


def _local_day_start(day: Any) -> str:
    return iso(datetime.combine(day, time.min, tzinfo=TOKYO))


def _list_closed(
    conn: sqlite3.Connection, desk_ids: list[int] | None, held_by: int | None, where: ClosedFilter
) -> list[ClosedItem]:
    sql = (
        "SELECT c.id, c.desk_id, c.created_at, c.closed_at, c.outcome, c.risk, c.quick_exit, "
        "c.summary IS NOT NULL AS has_summary, u.display_name AS counselor "
        "FROM conversation AS c LEFT JOIN user AS u ON u.id = c.counselor_id "
        "WHERE c.status = 'closed'"
    )
    params: list[Any] = []
    if desk_ids is not None:
        sql += " AND c.desk_id IN (" + ",".join("?" * len(desk_ids)) + ")"
        params += desk_ids
    if where.code_word:
        # A visitor's code word, told to a phone counselor, finds their handoff on any
        # conversation of the counselor's desks; nothing else widens a counselor's list.
        sql += " AND c.code_word_mac = ?"
        params.append(code_word_mac(conn, where.code_word))
    elif held_by is not None:
        sql += (
            " AND (c.counselor_id = ? OR EXISTS (SELECT 1 FROM transfer AS t "
            "WHERE t.conversation_id = c.id AND t.from_user_id = ?))"
        )
        params += [held_by, held_by]
    if where.date_from is not None:
        sql += " AND c.created_at >= ?"
        params.append(_local_day_start(where.date_from))
    if where.date_to is not None:
        sql += " AND c.created_at < ?"
        params.append(_local_day_start(where.date_to + timedelta(days=1)))
    if where.desk_id is not None:
        sql += " AND c.desk_id = ?"
        params.append(where.desk_id)
    if where.outcome:
        sql += " AND c.outcome = ?"
        params.append(where.outcome)
    if where.tag:
        sql += (
            " AND EXISTS (SELECT 1 FROM conversation_tag AS ct JOIN topic_tag AS t "
            "ON t.id = ct.tag_id WHERE ct.conversation_id = c.id AND t.key = ?)"
        )
        params.append(where.tag)
    sql += " ORDER BY c.created_at DESC LIMIT 200"
    items = []
    for r in conn.execute(sql, params).fetchall():
        tags = tuple(
            t[0]
            for t in conn.execute(
                "SELECT t.key FROM conversation_tag AS ct JOIN topic_tag AS t "
                "ON t.id = ct.tag_id WHERE ct.conversation_id = ? ORDER BY t.key",
                (r["id"],),
            )
        )
        items.append(
            ClosedItem(
                id=r["id"],
                desk_id=r["desk_id"],
                created_at=r["created_at"],
                closed_at=r["closed_at"],
                outcome=r["outcome"],
                risk=r["risk"],
                quick_exit=bool(r["quick_exit"]),
                counselor=r["counselor"],
                tags=tags,
                has_summary=bool(r["has_summary"]),
            )
        )
    return items


def _open_closed(
    conn: sqlite3.Connection, actor: Actor, conversation_id: str, purpose: str, transcript: bool
) -> tuple[Case, list[Message]]:
    case = _get_case(conn, conversation_id)
    if case is None or case.status != "closed":
        raise AppError(ErrorCode.NOT_FOUND)
    detail = {"purpose": purpose, "transcript": transcript}
    audit(conn, actor, "conversation.open", f"conversation:{conversation_id}", detail)
    messages: list[Message] = []
    if transcript:
        rows = conn.execute(
            "SELECT seq, author, body, created_at FROM message WHERE conversation_id = ? "
            "ORDER BY seq",
            (conversation_id,),
        )
        messages = [
            Message(
                conversation_id,
                r["seq"],
                r["author"],
                unseal(conn, "message.body", conversation_id, r["body"]),
                r["created_at"],
                None,
            )
            for r in rows
        ]
    return case, messages


def _get_survey(conn: sqlite3.Connection, conversation_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT rating, helpful, comment FROM survey WHERE conversation_id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return None
    helpful = None if row["helpful"] is None else bool(row["helpful"])
    comment = unseal_or_none(conn, "survey.comment", conversation_id, row["comment"])
    return {"rating": row["rating"], "helpful": helpful, "comment": comment}


def _change_own_password(
    conn: sqlite3.Connection, actor: Actor, user_id: int, password_hash: str, keep: str
) -> None:
    conn.execute("UPDATE user SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    conn.execute("DELETE FROM session WHERE user_id = ? AND id_hash != ?", (user_id, keep))
    audit(conn, actor, "user.password_change", f"user:{actor.name}", {})
