"""The SQL of retention (PostgreSQL): erase what people wrote in conversations closed before a
cutoff.

Rows stay, so reports count the same afterwards: a message keeps its author and time (the first
reply time is read from them) with an empty body; the conversation keeps its times, desk,
outcome and tags, the survey its numbers. Notes (internal, transfer and supervisor notes) are
deleted, summaries, code words with their lookup hash, and survey comments set to NULL.

An UPDATE or DELETE in PostgreSQL leaves the old row version in the table as a dead tuple until
a VACUUM removes it; :meth:`RetentionQueries.forget_erased` runs that VACUUM at once, and tells
whether any session's snapshot was old enough to keep the erased versions alive. A VACUUM FULL
(``compact``) rewrites the tables into new files and gives the old ones back to the system.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from service.domain.audit import Actor
from service.pg.audit_log import audit
from service.pg.sealing import Db
from service.pg.training import erase_training

T = TypeVar("T")

# Every table an erasure rewrites or deletes rows of.
ERASED_TABLES = (
    "message",
    "note",
    "conversation",
    "survey",
    "practice_review",
    "practice_score",
    "practice_mark",
    "practice_session",
)
VACUUM_CONNECTION_WAIT = 60.0
"""Seconds to wait for a free connection of the pool."""


class RetentionQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_write_alone`` and
    ``_connection``."""

    async def _write_alone(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    def _connection(self, timeout: float) -> contextlib.AbstractAsyncContextManager[Any]:
        raise NotImplementedError

    async def purge_closed_before(
        self, actor: Actor, cutoff: str, limit: int, *, practice_only: bool = False
    ) -> int:
        """Erase the content of at most ``limit`` conversations closed before ``cutoff`` that
        still have some (``practice_only``: those of practice desks), with one audit row;
        returns how many (0: none left). A transaction of
        its own, not a batch of writes: it rewrites many rows, and would hold the batch's
        other callers (and its conversations' locks) for as long."""
        return await self._write_alone(_purge_closed_before, actor, cutoff, limit, practice_only)

    async def forget_erased(self, compact: bool) -> bool:
        """VACUUM (FULL if ``compact``) the tables that held erased content, so that no dead
        row version keeps it. False if a session's snapshot still saw erased versions (they
        stay until a later VACUUM) or another VACUUM held a table."""
        # VACUUM cannot run in a transaction block: a connection of its own, autocommitting.
        async with self._connection(VACUUM_CONNECTION_WAIT) as conn:
            unseen = await conn.fetchval(_NOBODY_SEES_ERASED)
            vacuumed = [await _vacuum(conn, table, compact) for table in ERASED_TABLES]
        return bool(unseen) and all(vacuumed)


_WITH_CONTENT = """
SELECT c.id FROM conversation AS c
WHERE c.status = 'closed' AND c.closed_at < $1
  AND (NOT $3::boolean OR c.desk_id IN (SELECT id FROM desk WHERE practice = 1))
  AND (c.summary IS NOT NULL OR c.code_word IS NOT NULL OR c.code_word_mac IS NOT NULL
       OR EXISTS (SELECT 1 FROM message AS m WHERE m.conversation_id = c.id
                  AND m.author != 'system' AND m.body != ''::bytea)
       OR EXISTS (SELECT 1 FROM note AS n WHERE n.conversation_id = c.id)
       OR EXISTS (SELECT 1 FROM survey AS s WHERE s.conversation_id = c.id
                  AND s.comment IS NOT NULL)
       OR EXISTS (SELECT 1 FROM practice_session AS ps WHERE ps.conversation_id = c.id))
ORDER BY c.closed_at
LIMIT $2
FOR UPDATE OF c SKIP LOCKED
"""
# SKIP LOCKED: a purge running on another node at the same time takes other conversations.
_ERASE = (
    # System messages are codes such as "counselor_joined", never anybody's words. A body
    # erased already is left alone: rewriting it would only add a dead row version.
    "UPDATE message SET body = ''::bytea WHERE author != 'system' AND body != ''::bytea "
    "AND conversation_id = ANY($1::text[])",
    "DELETE FROM note WHERE conversation_id = ANY($1::text[])",
    "UPDATE conversation SET summary = NULL, code_word = NULL, code_word_mac = NULL "
    "WHERE id = ANY($1::text[])",
    "UPDATE survey SET comment = NULL WHERE conversation_id = ANY($1::text[])",
)


async def _purge_closed_before(
    db: Db, actor: Actor, cutoff: str, limit: int, practice_only: bool
) -> int:
    ids = [r[0] for r in await db.conn.fetch(_WITH_CONTENT, cutoff, limit, practice_only)]
    if not ids:
        return 0
    for sql in _ERASE:
        await db.conn.execute(sql, ids)
    # A practice chat's reviews and session go with its words (reals have none).
    await erase_training(db, ids)
    detail: dict[str, Any] = {"count": len(ids), "closed_before": cutoff}
    if practice_only:
        detail["practice"] = True
    await audit(db, actor, "retention.purge", "conversations", detail)
    return len(ids)


# The erased row versions were left by the latest purge's transaction, whose id is the xmin of
# its audit row (and earlier purges' are older). A VACUUM removes them unless a session of this
# database holds a snapshot or a transaction from before that one ended (age() compares
# transaction ids across wraparound). Autovacuum workers never hold row versions back.
_NOBODY_SEES_ERASED = """
SELECT NOT EXISTS (
    SELECT 1 FROM pg_stat_activity AS a,
        (SELECT xmin FROM audit_log WHERE action = 'retention.purge'
         ORDER BY id DESC LIMIT 1) AS p
    WHERE a.datname = current_database() AND a.pid != pg_backend_pid()
      AND a.backend_type != 'autovacuum worker'
      AND (age(a.backend_xmin) >= age(p.xmin) OR age(a.backend_xid) >= age(p.xmin)))
"""


async def _vacuum(conn: Any, table: str, full: bool) -> bool:
    """VACUUM one table; False if another VACUUM or a schema change held it longer than the
    connection's lock timeout (the erased versions then wait for the next one)."""
    try:
        await conn.execute(f"VACUUM {'(FULL) ' if full else ''}{table}")
    except asyncpg.exceptions.LockNotAvailableError:
        return False
    return True
