"""The SQL of closed conversations: the casebook's list, opening one on purpose (each opening
audited in the same transaction as the read), and the visitor's survey."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from service.clock import iso
from service.db.audit_log import audit
from service.db.casework import case_of
from service.db.sealing import code_word_mac, unseal, unseal_or_none
from service.domain.audit import Actor
from service.domain.casework import Case, ClosedFilter, ClosedItem
from service.domain.conversations import Message
from service.errors import AppError, ErrorCode

T = TypeVar("T")
TOKYO = ZoneInfo("Asia/Tokyo")


class ClosedQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read`` and
    ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

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


# -- synchronous SQL ---------------------------------------------------------------------------


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
                "ON t.id = ct.tag_id WHERE ct.conversation_id = ? ORDER BY t.key = 'other', t.id",
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
    case = case_of(conn, conversation_id)
    if case is None or case.status != "closed":
        raise AppError(ErrorCode.NOT_FOUND)
    detail = {"purpose": purpose, "transcript": transcript}
    audit(conn, actor, "conversation.open", f"conversation:{conversation_id}", detail)
    messages: list[Message] = []
    if transcript:
        rows = conn.execute(
            "SELECT m.seq, m.author, m.body, m.created_at, m.user_id, u.display_name AS writer "
            "FROM message AS m LEFT JOIN user AS u ON u.id = m.user_id "
            "WHERE m.conversation_id = ? ORDER BY m.seq",
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
                r["user_id"],
                r["writer"],
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
