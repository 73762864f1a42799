"""The SQL of reports: the facts of each conversation in a range, and the audit row of an export.

A report reads times, keys and survey numbers only. No statement here selects a message's
body, a note, a summary, a code word or a survey comment: what is never read cannot end up in
a page or a CSV file. Desks are filtered with ``json_each`` so the statement stays constant.
Conversations started at the same instant come in the order of their ids, as in PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from service.db.audit_log import audit
from service.domain.audit import Actor
from service.domain.reports import Consultation

T = TypeVar("T")


class ReportQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def list_consultations(
        self, since: str, until: str, desk_ids: list[int] | None
    ) -> list[Consultation]:
        """Conversations created in [since, until) on ``desk_ids`` (None: every desk), those of
        practice desks never: training is not consultation."""
        desks = None if desk_ids is None else json.dumps(sorted(desk_ids))
        return await self._read(_list_consultations, since, until, desks)

    async def insert_report_export(self, actor: Actor, target: str, detail: dict[str, Any]) -> None:
        """Record that someone downloaded a report (the audit log, append-only)."""
        await self._write(audit, actor, "report.export", target, detail)


_CONSULTATIONS = """
SELECT c.created_at, c.status, d.key AS desk, c.lang, c.claimed_at, c.closed_at, c.closed_by,
       c.outcome, c.quick_exit, c.campaign,
       CASE WHEN p.is_default THEN NULL ELSE p.key END AS partner,
       (SELECT MIN(m.created_at) FROM message AS m
        WHERE m.conversation_id = c.id AND m.author = 'counselor') AS first_reply_at,
       (SELECT group_concat(t.key, ' ') FROM conversation_tag AS ct
        JOIN topic_tag AS t ON t.id = ct.tag_id WHERE ct.conversation_id = c.id) AS topics,
       s.conversation_id IS NOT NULL AS surveyed, s.rating, s.helpful
FROM conversation AS c
JOIN desk AS d ON d.id = c.desk_id
LEFT JOIN partner AS p ON p.id = c.partner_id
LEFT JOIN survey AS s ON s.conversation_id = c.id
WHERE c.created_at >= ? AND c.created_at < ? AND d.practice = 0
  AND (? IS NULL OR c.desk_id IN (SELECT value FROM json_each(?)))
ORDER BY c.created_at, c.id
"""


def _list_consultations(
    conn: sqlite3.Connection, since: str, until: str, desks: str | None
) -> list[Consultation]:
    rows = conn.execute(_CONSULTATIONS, (since, until, desks, desks))
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
