"""The SQL of reports (PostgreSQL): the facts of each conversation in a range, and the audit row
of an export. The same rows, in the same order, as ``service/db/reports.py``, so that a report
and its CSV file do not depend on the backend.

A report reads times, keys and survey numbers only. No statement here selects a message's
body, a note, a summary, a code word or a survey comment: what is never read cannot end up in
a page or a CSV file. Every text column is ``COLLATE "C"`` (the schema), so the ISO times
compare and sort by code point exactly as in SQLite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service.domain.audit import Actor
from service.domain.reports import Consultation
from service.pg.audit_log import audit
from service.pg.sealing import Db

T = TypeVar("T")


class ReportQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def list_consultations(
        self, since: str, until: str, desk_ids: list[int] | None
    ) -> list[Consultation]:
        """Conversations created in [since, until) on ``desk_ids`` (None: every desk), those of
        practice desks never: training is not consultation."""
        desks = None if desk_ids is None else sorted(desk_ids)
        return await self._read(_list_consultations, since, until, desks)

    async def insert_report_export(self, actor: Actor, target: str, detail: dict[str, Any]) -> None:
        """Record that someone downloaded a report (the audit log, append-only)."""
        await self._write(audit, actor, "report.export", target, detail)


# The topics are joined in the order of their tag ids: the order in which SQLite's group_concat
# meets them, walking conversation_tag's primary key (conversation_id, tag_id).
_CONSULTATIONS = """
SELECT c.created_at, c.status, d.key AS desk, c.lang, c.claimed_at, c.closed_at, c.closed_by,
       c.outcome, c.quick_exit, c.campaign,
       CASE WHEN p.is_default <> 0 THEN NULL ELSE p.key END AS partner,
       (SELECT MIN(m.created_at) FROM message AS m
        WHERE m.conversation_id = c.id AND m.author = 'counselor') AS first_reply_at,
       (SELECT string_agg(t.key, ' ' ORDER BY ct.tag_id) FROM conversation_tag AS ct
        JOIN topic_tag AS t ON t.id = ct.tag_id WHERE ct.conversation_id = c.id) AS topics,
       s.conversation_id IS NOT NULL AS surveyed, s.rating, s.helpful
FROM conversation AS c
JOIN desk AS d ON d.id = c.desk_id
LEFT JOIN partner AS p ON p.id = c.partner_id
LEFT JOIN survey AS s ON s.conversation_id = c.id
WHERE c.created_at >= $1 AND c.created_at < $2 AND d.practice = 0
  AND ($3::bigint[] IS NULL OR c.desk_id = ANY($3::bigint[]))
ORDER BY c.created_at, c.id
"""


async def _list_consultations(
    db: Db, since: str, until: str, desks: list[int] | None
) -> list[Consultation]:
    rows = await db.conn.fetch(_CONSULTATIONS, since, until, desks)
    return [
        Consultation(
            created_at=r["created_at"],
            status=r["status"],
            desk=r["desk"],
            lang=r["lang"],
            claimed_at=r["claimed_at"],
            first_reply_at=r["first_reply_at"],
            closed_at=r["closed_at"],
            closed_by=r["closed_by"],
            outcome=r["outcome"],
            quick_exit=bool(r["quick_exit"]),
            partner=r["partner"],
            campaign=r["campaign"],
            topics=tuple((r["topics"] or "").split()),
            surveyed=bool(r["surveyed"]),
            rating=r["rating"],
            helpful=None if r["helpful"] is None else bool(r["helpful"]),
        )
        for r in rows
    ]
