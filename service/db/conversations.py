"""The SQL of conversations and their messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from service.clock import now_iso
from service.db.batching import Done
from service.db.rows import APPEND_CHECKED, append_message, append_system_message
from service.db.sealing import unseal
from service.domain.conversations import Author, Conversation, Message
from service.errors import AppError, ErrorCode
from service.storage import StoredMessage, sha256

T = TypeVar("T")


class ConversationQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read``, ``_write``
    and ``_queue``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def _queue(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        raise NotImplementedError

    async def insert_conversation(
        self,
        conversation_id: str,
        token: str,
        desk_id: int,
        partner_id: int | None,
        campaign: str | None,
        lang: str,
        topic: str | None,
    ) -> Conversation:
        return await self._write(
            _insert_conversation,
            conversation_id,
            sha256(token),
            desk_id,
            partner_id,
            campaign,
            lang,
            topic,
        )

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        return await self._read(_get_conversation, conversation_id)

    async def get_conversation_by_token(self, token: str) -> Conversation | None:
        return await self._read(_get_conversation_by_token_hash, sha256(token))

    async def list_open_conversations(self, desk_ids: Iterable[int] | None) -> list[Conversation]:
        ids = None if desk_ids is None else sorted(desk_ids)
        return await self._read(_list_open_conversations, ids)

    async def list_held_conversations(self, user_id: int) -> list[Conversation]:
        return await self._read(_list_held_conversations, user_id)

    async def claim_conversation(
        self, conversation_id: str, user_id: int, max_chats: int | None = None
    ) -> Message:
        """Mark a waiting conversation as held by ``user_id`` and record the system message.

        Raises ALREADY_CLAIMED if it is no longer waiting, CHAT_LIMIT if the counselor already
        holds ``max_chats`` active conversations, NOT_FOUND if the account no longer works its desk
        (checked again here, inside the claim's transaction).
        """
        return await self._write(_claim_conversation, conversation_id, user_id, max_chats)

    async def close_conversation(
        self,
        conversation_id: str,
        outcome: str,
        closed_by: Author,
        holder_id: int | None = None,
        quick_exit: bool = False,
    ) -> Message:
        """Close an open conversation and record the system message.

        With ``holder_id``, only that counselor's conversation closes (NOT_FOUND otherwise);
        CONVERSATION_CLOSED if it was closed already.
        """
        return await self._write(
            _close_conversation, conversation_id, outcome, closed_by, holder_id, quick_exit
        )

    async def append_message(
        self,
        conversation_id: str,
        author: Author,
        user_id: int | None,
        client_id: str,
        body: str,
    ) -> StoredMessage:
        """Store a client's message; return once committed. A ``client_id`` seen before in the
        conversation returns the earlier message with ``created=False``."""
        return await self._write(_insert_message, conversation_id, author, user_id, client_id, body)

    def queue_message(
        self,
        conversation_id: str,
        author: Author,
        user_id: int | None,
        client_id: str,
        body: str,
        done: Callable[[tuple[bool, StoredMessage | Exception]], Awaitable[None]],
    ) -> None:
        """The callback form of :meth:`append_message`, outside the ``Store`` protocol: it
        queues without a task or a future, so a caller can queue many writes and see at once
        which were refused (the writer's tests do). Once committed, ``done((True, stored))``, or
        ``done((False, error))`` if refused or failed, runs in the order queued
        (``service/db/batching.py`` ``submit_later``). Raises at once if the write cannot be
        queued (``rate_limited``, ``StorageUnavailable``)."""
        self._queue(_insert_message, (conversation_id, author, user_id, client_id, body), done)

    async def list_messages(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> tuple[list[Message], bool]:
        """Messages after ``after_seq`` in order, at most ``limit``, and whether more exist."""
        return await self._read(list_messages, conversation_id, after_seq, limit)

    async def get_history(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> tuple[Conversation, list[Message], bool] | None:
        """The conversation and its messages after ``after_seq``, read in one snapshot."""
        return await self._read(_get_history, conversation_id, after_seq, limit)


_CONVERSATION_SELECT = (
    "SELECT c.id, c.desk_id, c.partner_id, c.campaign, c.lang, c.topic, c.status, c.urgent, "
    "c.counselor_id, c.last_seq, c.outcome, c.created_at, u.display_name AS counselor_name, "
    "c.risk, c.claimed_at "
    "FROM conversation AS c LEFT JOIN user AS u ON u.id = c.counselor_id"
)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        desk_id=row["desk_id"],
        partner_id=row["partner_id"],
        campaign=row["campaign"],
        lang=row["lang"],
        topic=row["topic"],
        status=row["status"],
        urgent=bool(row["urgent"]),
        counselor_id=row["counselor_id"],
        last_seq=row["last_seq"],
        outcome=row["outcome"],
        created_at=row["created_at"],
        counselor_name=row["counselor_name"],
        risk=row["risk"],
        claimed_at=row["claimed_at"],
    )


def _insert_conversation(
    conn: sqlite3.Connection,
    conversation_id: str,
    token_hash: str,
    desk_id: int,
    partner_id: int | None,
    campaign: str | None,
    lang: str,
    topic: str | None,
) -> Conversation:
    conn.execute(
        "INSERT INTO conversation (id, token_hash, desk_id, partner_id, campaign, lang, topic,"
        " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?)",
        (conversation_id, token_hash, desk_id, partner_id, campaign, lang, topic, now_iso()),
    )
    conv = _get_conversation(conn, conversation_id)
    assert conv is not None  # noqa: S101 (just inserted in this transaction)
    return conv


def _get_conversation(conn: sqlite3.Connection, conversation_id: str) -> Conversation | None:
    row = conn.execute(
        _CONVERSATION_SELECT + " WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    return None if row is None else _conversation(row)


def _get_conversation_by_token_hash(
    conn: sqlite3.Connection, token_hash: str
) -> Conversation | None:
    row = conn.execute(
        _CONVERSATION_SELECT + " WHERE c.token_hash = ?",
        (token_hash,),
    ).fetchone()
    return None if row is None else _conversation(row)


def _list_open_conversations(
    conn: sqlite3.Connection, desk_ids: list[int] | None
) -> list[Conversation]:
    sql = _CONVERSATION_SELECT + " WHERE c.status != 'closed'"
    params: list[int] = []
    if desk_ids is not None:
        sql += " AND c.desk_id IN (" + ",".join("?" * len(desk_ids)) + ")"
        params = desk_ids
    return [_conversation(r) for r in conn.execute(sql + " ORDER BY c.created_at", params)]


def _list_held_conversations(conn: sqlite3.Connection, user_id: int) -> list[Conversation]:
    rows = conn.execute(
        _CONVERSATION_SELECT + " WHERE c.counselor_id = ? AND c.status = 'active' "
        "ORDER BY c.created_at",
        (user_id,),
    )
    return [_conversation(r) for r in rows]


def _insert_message(
    conn: sqlite3.Connection,
    conversation_id: str,
    author: Author,
    user_id: int | None,
    client_id: str,
    body: str,
) -> StoredMessage:
    message = append_message(
        conn, conversation_id, author, user_id, client_id, body, APPEND_CHECKED
    )
    if message is not None:
        return StoredMessage(message, created=True)
    return _not_appended(conn, conversation_id, author, user_id, client_id)


def _not_appended(
    conn: sqlite3.Connection,
    conversation_id: str,
    author: Author,
    user_id: int | None,
    client_id: str,
) -> StoredMessage:
    """Why ``APPEND_CHECKED`` stored nothing: a resend, or a refusal."""
    conv = conn.execute(
        "SELECT status, counselor_id FROM conversation WHERE id = ?", (conversation_id,)
    ).fetchone()
    # Checked inside the write transaction, so a transfer or close cannot slip in between.
    if conv is None or (author == "counselor" and conv["counselor_id"] != user_id):
        raise AppError(ErrorCode.NOT_FOUND)
    # A resend of an acknowledged message answers the original, even after the conversation
    # closed: the client only learns its message is safe once it gets that answer.
    row = conn.execute(
        "SELECT seq, body, created_at FROM message "
        "WHERE conversation_id = ? AND author = ? AND client_id = ?",
        (conversation_id, author, client_id),
    ).fetchone()
    if row is not None:
        message = Message(
            conversation_id,
            row["seq"],
            author,
            unseal(conn, "message.body", conversation_id, row["body"]),
            row["created_at"],
            client_id,
        )
        return StoredMessage(message, created=False)
    if conv["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    raise AssertionError("message neither stored nor refused")  # pragma: no cover


def _claim_conversation(
    conn: sqlite3.Connection, conversation_id: str, user_id: int, max_chats: int | None
) -> Message:
    # Counted in the claim's own transaction: two quick claims cannot both slip under the limit.
    # A conversation taken already says so first: that is the answer the counselor can act on.
    if max_chats is not None and _is_waiting(conn, conversation_id):
        held = conn.execute(
            "SELECT COUNT(*) FROM conversation WHERE counselor_id = ? AND status = 'active'",
            (user_id,),
        ).fetchone()[0]
        if held >= max_chats:
            raise AppError(ErrorCode.CHAT_LIMIT, f"at most {max_chats} chats at once")
    # The WHERE clause is the race guard: of two simultaneous claims only one finds 'waiting'.
    # It also checks the account as it is in this transaction, so a claim racing a change of the
    # account's desks or active flag cannot take a chat the account no longer may.
    changed = conn.execute(
        "UPDATE conversation SET status = 'active', counselor_id = ?, claimed_at = ? "
        "WHERE id = ? AND status = 'waiting' AND EXISTS (SELECT 1 FROM user AS u "
        "WHERE u.id = ? AND u.active = 1 AND (u.all_desks = 1 OR EXISTS (SELECT 1 FROM user_desk "
        "AS d WHERE d.user_id = u.id AND d.desk_id = conversation.desk_id)))",
        (user_id, now_iso(), conversation_id, user_id),
    ).rowcount
    if changed != 1 and _is_waiting(conn, conversation_id):
        raise AppError(ErrorCode.NOT_FOUND)
    if changed != 1:
        raise AppError(ErrorCode.ALREADY_CLAIMED, "another counselor took this conversation")
    return append_system_message(conn, conversation_id, "counselor_joined")


def _is_waiting(conn: sqlite3.Connection, conversation_id: str) -> bool:
    row = conn.execute(
        "SELECT status FROM conversation WHERE id = ?", (conversation_id,)
    ).fetchone()
    return row is not None and row[0] == "waiting"


def _close_conversation(
    conn: sqlite3.Connection,
    conversation_id: str,
    outcome: str,
    closed_by: str,
    holder_id: int | None,
    quick_exit: bool,
) -> Message:
    if holder_id is not None:
        holder = conn.execute(
            "SELECT counselor_id FROM conversation WHERE id = ?", (conversation_id,)
        ).fetchone()
        if holder is None or holder[0] != holder_id:
            raise AppError(ErrorCode.NOT_FOUND)
    changed = conn.execute(
        "UPDATE conversation SET status = 'closed', outcome = ?, closed_by = ?, closed_at = ?, "
        "quick_exit = ? WHERE id = ? AND status != 'closed'",
        (outcome, closed_by, now_iso(), int(quick_exit), conversation_id),
    ).rowcount
    if changed != 1:
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    # Closed by the system: the visitor was gone too long, which counts as leaving.
    body = "conversation_closed" if closed_by == "counselor" else "visitor_left"
    if quick_exit:
        body = "visitor_quick_exit"
    return append_system_message(conn, conversation_id, body)


def list_messages(
    conn: sqlite3.Connection, conversation_id: str, after_seq: int, limit: int
) -> tuple[list[Message], bool]:
    # The writer's name is for staff; the visitor's payload leaves it out (wire.py).
    rows = conn.execute(
        "SELECT m.seq, m.author, m.body, m.created_at, m.client_id, m.user_id, "
        "u.display_name AS writer FROM message AS m LEFT JOIN user AS u ON u.id = m.user_id "
        "WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?",
        (conversation_id, after_seq, limit + 1),
    ).fetchall()
    messages = [
        Message(
            conversation_id,
            r["seq"],
            r["author"],
            unseal(conn, "message.body", conversation_id, r["body"]),
            r["created_at"],
            r["client_id"],
            r["user_id"],
            r["writer"],
        )
        for r in rows[:limit]
    ]
    return messages, len(rows) > limit


def _get_history(
    conn: sqlite3.Connection, conversation_id: str, after_seq: int, limit: int
) -> tuple[Conversation, list[Message], bool] | None:
    conn.execute("BEGIN")
    try:
        conv = _get_conversation(conn, conversation_id)
        if conv is None:
            return None
        messages, more = list_messages(conn, conversation_id, after_seq, limit)
        return conv, messages, more
    finally:
        conn.execute("COMMIT")
