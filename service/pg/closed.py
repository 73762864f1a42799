"""The SQL of closed conversations (PostgreSQL): the casebook's list, opening one on purpose
(each opening audited in the same transaction as the read), and the visitor's survey."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from service.clock import iso
from service.domain.audit import Actor
from service.domain.casework import Case, ClosedFilter, ClosedItem
from service.domain.conversations import Message
from service.errors import AppError, ErrorCode
from service.pg.audit_log import audit
from service.pg.casework import case_of
from service.pg.sealing import Db, code_word_mac, unseal, unseal_or_none

T = TypeVar("T")
TOKYO = ZoneInfo("Asia/Tokyo")


class ClosedQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
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


# -- SQL ---------------------------------------------------------------------------------------

# Each item's tags come with it (one round trip for the whole list), sorted as case_of sorts.
_LIST = (
    "SELECT c.id, c.desk_id, c.created_at, c.closed_at, c.outcome, c.risk, c.quick_exit, "
    "c.summary IS NOT NULL AS has_summary, u.display_name AS counselor, "
    "ARRAY(SELECT t.key FROM conversation_tag AS ct JOIN topic_tag AS t ON t.id = ct.tag_id "
    "WHERE ct.conversation_id = c.id ORDER BY t.key = 'other', t.id) AS tags "
    'FROM conversation AS c LEFT JOIN "user" AS u ON u.id = c.counselor_id '
    "WHERE c.status = 'closed'"
)


def _local_day_start(day: date) -> str:
    return iso(datetime.combine(day, time.min, tzinfo=TOKYO))


class _Where:
    """The conditions of the list and their arguments, numbered as they are added."""

    def __init__(self) -> None:
        self.sql = _LIST
        self.args: list[Any] = []

    def add(self, condition: str, *args: Any) -> None:
        """``condition`` names its arguments {0}, {1}, … in the order given."""
        first = len(self.args) + 1
        self.args += args
        self.sql += " AND " + condition.format(*(f"${first + n}" for n in range(len(args))))


def _filtered(db: Db, desk_ids: list[int] | None, held_by: int | None, f: ClosedFilter) -> _Where:
    where = _Where()
    if desk_ids is not None:
        where.add("c.desk_id = ANY({0}::bigint[])", desk_ids)
    if f.code_word:
        # A visitor's code word, told to a phone counselor, finds their handoff on any
        # conversation of the counselor's desks; nothing else widens a counselor's list.
        where.add("c.code_word_mac = {0}", code_word_mac(db, f.code_word))
    elif held_by is not None:
        where.add(
            "(c.counselor_id = {0} OR EXISTS (SELECT 1 FROM transfer AS t "
            "WHERE t.conversation_id = c.id AND t.from_user_id = {0}))",
            held_by,
        )
    if f.date_from is not None:
        where.add("c.created_at >= {0}", _local_day_start(f.date_from))
    if f.date_to is not None:
        where.add("c.created_at < {0}", _local_day_start(f.date_to + timedelta(days=1)))
    if f.desk_id is not None:
        where.add("c.desk_id = {0}", f.desk_id)
    if f.outcome:
        where.add("c.outcome = {0}", f.outcome)
    if f.tag:
        where.add(
            "EXISTS (SELECT 1 FROM conversation_tag AS ct JOIN topic_tag AS t "
            "ON t.id = ct.tag_id WHERE ct.conversation_id = c.id AND t.key = {0})",
            f.tag,
        )
    return where


async def _list_closed(
    db: Db, desk_ids: list[int] | None, held_by: int | None, f: ClosedFilter
) -> list[ClosedItem]:
    where = _filtered(db, desk_ids, held_by, f)
    rows = await db.conn.fetch(where.sql + " ORDER BY c.created_at DESC LIMIT 200", *where.args)
    return [
        ClosedItem(
            id=r["id"],
            desk_id=r["desk_id"],
            created_at=r["created_at"],
            closed_at=r["closed_at"],
            outcome=r["outcome"],
            risk=r["risk"],
            quick_exit=bool(r["quick_exit"]),
            counselor=r["counselor"],
            tags=tuple(r["tags"]),
            has_summary=bool(r["has_summary"]),
        )
        for r in rows
    ]


async def _open_closed(
    db: Db, actor: Actor, conversation_id: str, purpose: str, transcript: bool
) -> tuple[Case, list[Message]]:
    case = await case_of(db, conversation_id)
    if case is None or case.status != "closed":
        raise AppError(ErrorCode.NOT_FOUND)
    detail = {"purpose": purpose, "transcript": transcript}
    await audit(db, actor, "conversation.open", f"conversation:{conversation_id}", detail)
    messages: list[Message] = []
    if transcript:
        rows = await db.conn.fetch(
            "SELECT m.seq, m.author, m.body, m.created_at, m.user_id, u.display_name AS writer "
            'FROM message AS m LEFT JOIN "user" AS u ON u.id = m.user_id '
            "WHERE m.conversation_id = $1 ORDER BY m.seq",
            conversation_id,
        )
        messages = [
            Message(
                conversation_id,
                r["seq"],
                r["author"],
                unseal(db, "message.body", conversation_id, r["body"]),
                r["created_at"],
                None,
                r["user_id"],
                r["writer"],
            )
            for r in rows
        ]
    return case, messages


async def _get_survey(db: Db, conversation_id: str) -> dict[str, Any] | None:
    row = await db.conn.fetchrow(
        "SELECT rating, helpful, comment FROM survey WHERE conversation_id = $1",
        conversation_id,
    )
    if row is None:
        return None
    helpful = None if row["helpful"] is None else bool(row["helpful"])
    comment = unseal_or_none(db, "survey.comment", conversation_id, row["comment"])
    return {"rating": row["rating"], "helpful": helpful, "comment": comment}
