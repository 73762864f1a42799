"""The SQL of what a visitor adds besides messages: the urgent choice, a code word, a survey.

Each runs through the store's group-commit writer and checks the conversation's state inside
its own transaction, so a close cannot slip in between the check and the write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from service.clock import now_iso
from service.db.sealing import code_word_mac, seal
from service.domain.visitors import Survey
from service.errors import AppError, ErrorCode

T = TypeVar("T")


class VisitorQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
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


def _mark_urgent(conn: sqlite3.Connection, conversation_id: str) -> bool:
    changed = conn.execute(
        "UPDATE conversation SET urgent = 1 WHERE id = ? AND urgent = 0 AND status != 'closed'",
        (conversation_id,),
    ).rowcount
    return bool(changed)


def _set_code_word(conn: sqlite3.Connection, conversation_id: str, word: str) -> None:
    changed = conn.execute(
        "UPDATE conversation SET code_word = ?, code_word_mac = ? WHERE id = ?",
        (
            seal(conn, "conversation.code_word", conversation_id, word),
            code_word_mac(conn, word),
            conversation_id,
        ),
    ).rowcount
    if changed != 1:
        raise AppError(ErrorCode.NOT_FOUND)


def _insert_survey(conn: sqlite3.Connection, conversation_id: str, survey: Survey) -> None:
    row = conn.execute(
        "SELECT status FROM conversation WHERE id = ?", (conversation_id,)
    ).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND)
    if row[0] != "closed":
        raise AppError(ErrorCode.CONVERSATION_OPEN, "the survey comes after the chat has ended")
    # The primary key makes a second answer fail even if two arrive in one batch.
    inserted = conn.execute(
        "INSERT INTO survey (conversation_id, rating, helpful, comment, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id) DO NOTHING",
        (
            conversation_id,
            survey.rating,
            None if survey.helpful is None else int(survey.helpful),
            None
            if survey.comment is None
            else seal(conn, "survey.comment", conversation_id, survey.comment),
            now_iso(),
        ),
    ).rowcount
    if inserted != 1:
        raise AppError(ErrorCode.ALREADY_ANSWERED, "this survey was answered already")
