"""The SQL of retention: erase what people wrote in conversations closed before a cutoff.

Rows stay, so reports count the same afterwards: a message keeps its author and time (the first
reply time is read from them) with an empty body; the conversation keeps its times, desk,
outcome and tags, the survey its numbers. Notes (internal, transfer and supervisor notes) are
deleted, summaries, code words with their lookup hash, and survey comments set to NULL.

The erasure is real: the writing connection runs with ``secure_delete`` (freed space is zeroed),
and after a purge a ``wal_checkpoint(TRUNCATE)`` leaves no older page in the WAL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from service.db.audit_log import audit
from service.db.training import erase_training
from service.domain.audit import Actor

T = TypeVar("T")


class RetentionQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_write`` and
    ``_maintain``."""

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _maintain(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def purge_closed_before(
        self, actor: Actor, cutoff: str, limit: int, *, practice_only: bool = False
    ) -> int:
        """Erase the content of at most ``limit`` conversations closed before ``cutoff`` that
        still have some (``practice_only``: those of practice desks), with one audit row;
        returns how many (0: none left)."""
        return await self._write(_purge_closed_before, actor, cutoff, limit, practice_only)

    async def forget_erased(self, compact: bool) -> bool:
        """Checkpoint and truncate the WAL (after a ``VACUUM`` if ``compact``). False if a
        reader kept part of the WAL in use."""
        return await self._maintain(_clear_wal, compact)


def enable_secure_delete(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA secure_delete = ON")


_WITH_CONTENT = """
SELECT c.id FROM conversation AS c
WHERE c.status = 'closed' AND c.closed_at < ?
  AND (? = 0 OR c.desk_id IN (SELECT id FROM desk WHERE practice = 1))
  AND (c.summary IS NOT NULL OR c.code_word IS NOT NULL OR c.code_word_mac IS NOT NULL
       OR EXISTS (SELECT 1 FROM message AS m WHERE m.conversation_id = c.id
                  AND m.author != 'system' AND m.body != x'')
       OR EXISTS (SELECT 1 FROM note AS n WHERE n.conversation_id = c.id)
       OR EXISTS (SELECT 1 FROM survey AS s WHERE s.conversation_id = c.id
                  AND s.comment IS NOT NULL)
       OR EXISTS (SELECT 1 FROM practice_session AS ps WHERE ps.conversation_id = c.id))
ORDER BY c.closed_at
LIMIT ?
"""
_ERASE = (
    # System messages are codes such as "counselor_joined", never anybody's words.
    "UPDATE message SET body = x'' "
    "WHERE author != 'system' AND conversation_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM note WHERE conversation_id IN (SELECT value FROM json_each(?))",
    "UPDATE conversation SET summary = NULL, code_word = NULL, code_word_mac = NULL "
    "WHERE id IN (SELECT value FROM json_each(?))",
    "UPDATE survey SET comment = NULL WHERE conversation_id IN (SELECT value FROM json_each(?))",
)


def _purge_closed_before(
    conn: sqlite3.Connection, actor: Actor, cutoff: str, limit: int, practice_only: bool
) -> int:
    ids = [r[0] for r in conn.execute(_WITH_CONTENT, (cutoff, int(practice_only), limit))]
    if not ids:
        return 0
    encoded = json.dumps(ids)
    for sql in _ERASE:
        conn.execute(sql, (encoded,))
    # A practice chat's reviews and session go with its words (reals have none).
    erase_training(conn, ids)
    detail: dict[str, Any] = {"count": len(ids), "closed_before": cutoff}
    if practice_only:
        detail["practice"] = True
    audit(conn, actor, "retention.purge", "conversations", detail)
    return len(ids)


def _clear_wal(conn: sqlite3.Connection, vacuum: bool) -> bool:
    if vacuum:
        conn.execute("VACUUM")
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return bool(busy == 0)
