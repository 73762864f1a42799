"""The SQL of what a visitor adds besides messages (PostgreSQL): the urgent choice, a code
word, a survey. Each checks the conversation's state inside its own transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service.clock import now_iso
from service.domain.visitors import Survey
from service.errors import AppError, ErrorCode
from service.pg.rows import rowcount
from service.pg.sealing import Db, code_word_mac, seal

T = TypeVar("T")


class VisitorQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def mark_urgent(self, conversation_id: str) -> bool:
        """Flag an open conversation as urgent; False if it was already, or is closed."""
        return await self._write(_mark_urgent, conversation_id)

    async def set_code_word(self, conversation_id: str, word: str) -> None:
        await self._write(_set_code_word, conversation_id, word)

    async def insert_survey(self, conversation_id: str, survey: Survey) -> None:
        """Store the answer to the post-chat survey: only once the conversation has closed
        (CONVERSATION_OPEN before), and once per conversation (ALREADY_ANSWERED after)."""
        await self._write(_insert_survey, conversation_id, survey)


async def _mark_urgent(db: Db, conversation_id: str) -> bool:
    status = await db.conn.execute(
        "UPDATE conversation SET urgent = 1 WHERE id = $1 AND urgent = 0 AND status != 'closed'",
        conversation_id,
    )
    return rowcount(status) > 0


async def _set_code_word(db: Db, conversation_id: str, word: str) -> None:
    status = await db.conn.execute(
        "UPDATE conversation SET code_word = $1, code_word_mac = $2 WHERE id = $3",
        seal(db, "conversation.code_word", conversation_id, word),
        code_word_mac(db, word),
        conversation_id,
    )
    if rowcount(status) != 1:
        raise AppError(ErrorCode.NOT_FOUND)


async def _insert_survey(db: Db, conversation_id: str, survey: Survey) -> None:
    status = await db.conn.fetchval(
        "SELECT status FROM conversation WHERE id = $1", conversation_id
    )
    if status is None:
        raise AppError(ErrorCode.NOT_FOUND)
    if status != "closed":
        raise AppError(ErrorCode.CONVERSATION_OPEN, "the survey comes after the chat has ended")
    # The primary key makes a second answer fail even if two arrive at once on two nodes: the
    # later waits for the earlier's COMMIT, then conflicts.
    inserted = await db.conn.fetchval(
        "INSERT INTO survey (conversation_id, rating, helpful, comment, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id) DO NOTHING "
        "RETURNING conversation_id",
        conversation_id,
        survey.rating,
        None if survey.helpful is None else int(survey.helpful),
        None
        if survey.comment is None
        else seal(db, "survey.comment", conversation_id, survey.comment),
        now_iso(),
    )
    if inserted is None:
        raise AppError(ErrorCode.ALREADY_ANSWERED, "this survey was answered already")
