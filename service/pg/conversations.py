"""The SQL of conversations and their messages (PostgreSQL).

What SQLite gets from having one writer, PostgreSQL gets from row locks, decided in the
database whichever node writes: a message's seq is the conversation's ``last_seq`` advanced by
the statement that stores it (the row stays locked until COMMIT, so seqs stay gapless and in
commit order); a claim is a conditional UPDATE of a row that only one transaction can change
from 'waiting'; a resend finds its earlier message by the UNIQUE (conversation_id, author,
client_id) and advances nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from service.clock import now_iso
from service.domain.conversations import Author, Conversation, Message
from service.errors import AppError, ErrorCode
from service.pg.rows import RetryWrite, append_system_message, rowcount
from service.pg.sealing import Db, seal, unseal
from service.storage import StoredMessage, sha256

T = TypeVar("T")


class ConversationQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
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
        holds ``max_chats`` active conversations, NOT_FOUND if the account no longer works its
        desk (checked again here, inside the claim's transaction).
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

    async def list_messages(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> tuple[list[Message], bool]:
        """Messages after ``after_seq`` in order, at most ``limit``, and whether more exist."""
        return await self._read(_list_messages, conversation_id, after_seq, limit)

    async def get_history(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> tuple[Conversation, list[Message], bool] | None:
        """The conversation and its messages after ``after_seq``, read in one snapshot."""
        return await self._read(_get_history, conversation_id, after_seq, limit)


_CONVERSATION_SELECT = (
    "SELECT c.id, c.desk_id, c.partner_id, c.campaign, c.lang, c.topic, c.status, c.urgent, "
    "c.counselor_id, c.last_seq, c.outcome, c.created_at, u.display_name AS counselor_name, "
    "c.risk, c.claimed_at "
    'FROM conversation AS c LEFT JOIN "user" AS u ON u.id = c.counselor_id'
)


def conversation_of(row: Any) -> Conversation:
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


async def _insert_conversation(
    db: Db,
    conversation_id: str,
    token_hash: str,
    desk_id: int,
    partner_id: int | None,
    campaign: str | None,
    lang: str,
    topic: str | None,
) -> Conversation:
    await db.conn.execute(
        "INSERT INTO conversation (id, token_hash, desk_id, partner_id, campaign, lang, topic,"
        " status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', $8)",
        conversation_id,
        token_hash,
        desk_id,
        partner_id,
        campaign,
        lang,
        topic,
        now_iso(),
    )
    conv = await get_conversation(db, conversation_id)
    assert conv is not None  # noqa: S101 (just inserted in this transaction)
    return conv


async def get_conversation(db: Db, conversation_id: str) -> Conversation | None:
    row = await db.conn.fetchrow(_CONVERSATION_SELECT + " WHERE c.id = $1", conversation_id)
    return None if row is None else conversation_of(row)


_get_conversation = get_conversation


async def _get_conversation_by_token_hash(db: Db, token_hash: str) -> Conversation | None:
    row = await db.conn.fetchrow(_CONVERSATION_SELECT + " WHERE c.token_hash = $1", token_hash)
    return None if row is None else conversation_of(row)


async def _list_open_conversations(db: Db, desk_ids: list[int] | None) -> list[Conversation]:
    if desk_ids is None:
        rows = await db.conn.fetch(
            _CONVERSATION_SELECT + " WHERE c.status != 'closed' ORDER BY c.created_at"
        )
    else:
        rows = await db.conn.fetch(
            _CONVERSATION_SELECT + " WHERE c.status != 'closed' AND c.desk_id = ANY($1::bigint[])"
            " ORDER BY c.created_at",
            desk_ids,
        )
    return [conversation_of(r) for r in rows]


async def _list_held_conversations(db: Db, user_id: int) -> list[Conversation]:
    rows = await db.conn.fetch(
        _CONVERSATION_SELECT + " WHERE c.counselor_id = $1 AND c.status = 'active' "
        "ORDER BY c.created_at",
        user_id,
    )
    return [conversation_of(r) for r in rows]


# A client's message in one round trip, with every check of the common case in the WHERE: the
# conversation is open and, for a counselor, theirs; a client_id seen before advances nothing.
# The UPDATE locks the conversation's row: appends to one conversation queue here, on every
# node, and each takes the next seq. No row back sends the caller to the checks that say why.
# ``bumped`` without ``seq``: a resend of a message whose first try committed while this one
# waited for the lock (the NOT EXISTS ran on the statement's snapshot); the caller gives the seq
# back before anyone else can take it (the row is still locked).
_APPEND_CHECKED = (
    "WITH bump AS (UPDATE conversation SET last_seq = last_seq + 1"
    " WHERE id = $1 AND status != 'closed'"
    " AND ($2 != 'counselor' OR counselor_id IS NOT DISTINCT FROM $3)"
    " AND NOT EXISTS (SELECT 1 FROM message AS m"
    "  WHERE m.conversation_id = $1 AND m.author = $2 AND m.client_id = $4)"
    " RETURNING last_seq),"
    " ins AS (INSERT INTO message"
    " (conversation_id, seq, author, user_id, client_id, body, created_at)"
    " SELECT $1, last_seq, $2, $3, $4, $5, $6 FROM bump"
    " ON CONFLICT (conversation_id, author, client_id) DO NOTHING RETURNING seq)"
    " SELECT (SELECT last_seq FROM bump) AS bumped, (SELECT seq FROM ins) AS seq"
)


async def _insert_message(
    db: Db,
    conversation_id: str,
    author: Author,
    user_id: int | None,
    client_id: str,
    body: str,
) -> StoredMessage:
    created_at = now_iso()
    sealed = seal(db, "message.body", conversation_id, body)
    row = await db.conn.fetchrow(
        _APPEND_CHECKED, conversation_id, author, user_id, client_id, sealed, created_at
    )
    if row["seq"] is not None:
        message = Message(conversation_id, row["seq"], author, body, created_at, client_id)
        return StoredMessage(message, created=True)
    if row["bumped"] is not None:
        await db.conn.execute(
            "UPDATE conversation SET last_seq = last_seq - 1 WHERE id = $1", conversation_id
        )
    return await _not_appended(db, conversation_id, author, user_id, client_id)


async def _not_appended(
    db: Db,
    conversation_id: str,
    author: Author,
    user_id: int | None,
    client_id: str,
) -> StoredMessage:
    """Why ``_APPEND_CHECKED`` stored nothing: a resend, or a refusal. Each statement here sees
    what was committed before it started, so a first try that just committed is found."""
    # FOR SHARE: a transfer or a close cannot slip in between this check and the COMMIT.
    conv = await db.conn.fetchrow(
        "SELECT status, counselor_id FROM conversation WHERE id = $1 FOR SHARE", conversation_id
    )
    if conv is None or (author == "counselor" and conv["counselor_id"] != user_id):
        raise AppError(ErrorCode.NOT_FOUND)
    # A resend of an acknowledged message answers the original, even after the conversation
    # closed: the client only learns its message is safe once it gets that answer.
    row = await db.conn.fetchrow(
        "SELECT seq, body, created_at FROM message "
        "WHERE conversation_id = $1 AND author = $2 AND client_id = $3",
        conversation_id,
        author,
        client_id,
    )
    if row is not None:
        message = Message(
            conversation_id,
            row["seq"],
            author,
            unseal(db, "message.body", conversation_id, row["body"]),
            row["created_at"],
            client_id,
        )
        return StoredMessage(message, created=False)
    if conv["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    # The conversation changed between the append and these checks (a claim, the first try's
    # rollback): the write runs again from the start (``PgStore._write``).
    raise RetryWrite


async def _claim_conversation(
    db: Db, conversation_id: str, user_id: int, max_chats: int | None
) -> Message:
    # The account's row is locked first: this counselor's claims (on any node) run one at a
    # time, so two quick claims cannot both slip under the limit, and a change of the account's
    # desks or active flag (which updates that row) is either before the claim or after it.
    await db.conn.execute('SELECT 1 FROM "user" WHERE id = $1 FOR NO KEY UPDATE', user_id)
    # A conversation taken already says so first: that is the answer the counselor can act on.
    if max_chats is not None and await _is_waiting(db, conversation_id):
        held = await db.conn.fetchval(
            "SELECT COUNT(*) FROM conversation WHERE counselor_id = $1 AND status = 'active'",
            user_id,
        )
        if held >= max_chats:
            raise AppError(ErrorCode.CHAT_LIMIT, f"at most {max_chats} chats at once")
    # The WHERE clause is the race guard: of two simultaneous claims only one finds 'waiting'
    # (the other waits for the row, then finds it changed and updates nothing).
    status = await db.conn.execute(
        "UPDATE conversation SET status = 'active', counselor_id = $1, claimed_at = $2 "
        "WHERE id = $3 AND status = 'waiting' AND EXISTS (SELECT 1 FROM \"user\" AS u "
        "WHERE u.id = $1 AND u.active = 1 AND (u.all_desks = 1 OR EXISTS (SELECT 1 FROM user_desk "
        "AS d WHERE d.user_id = u.id AND d.desk_id = conversation.desk_id)))",
        user_id,
        now_iso(),
        conversation_id,
    )
    changed = rowcount(status)
    if changed != 1 and await _is_waiting(db, conversation_id):
        raise AppError(ErrorCode.NOT_FOUND)
    if changed != 1:
        raise AppError(ErrorCode.ALREADY_CLAIMED, "another counselor took this conversation")
    return await append_system_message(db, conversation_id, "counselor_joined")


async def _is_waiting(db: Db, conversation_id: str) -> bool:
    status = await db.conn.fetchval(
        "SELECT status FROM conversation WHERE id = $1", conversation_id
    )
    return bool(status == "waiting")


async def _close_conversation(
    db: Db,
    conversation_id: str,
    outcome: str,
    closed_by: str,
    holder_id: int | None,
    quick_exit: bool,
) -> Message:
    # Locked: a transfer or a claim on another node waits for this close, or this close for it.
    row = await db.conn.fetchrow(
        "SELECT counselor_id, status FROM conversation WHERE id = $1 FOR UPDATE",
        conversation_id,
    )
    if holder_id is not None and (row is None or row["counselor_id"] != holder_id):
        raise AppError(ErrorCode.NOT_FOUND)
    if row is None or row["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    await db.conn.execute(
        "UPDATE conversation SET status = 'closed', outcome = $1, closed_by = $2, closed_at = $3,"
        " quick_exit = $4 WHERE id = $5",
        outcome,
        closed_by,
        now_iso(),
        int(quick_exit),
        conversation_id,
    )
    # Closed by the system: the visitor was gone too long, which counts as leaving.
    body = "conversation_closed" if closed_by == "counselor" else "visitor_left"
    if quick_exit:
        body = "visitor_quick_exit"
    return await append_system_message(db, conversation_id, body)


async def list_messages(
    db: Db, conversation_id: str, after_seq: int, limit: int
) -> tuple[list[Message], bool]:
    # The writer's name is for staff; the visitor's payload leaves it out (wire.py).
    rows = await db.conn.fetch(
        "SELECT m.seq, m.author, m.body, m.created_at, m.client_id, m.user_id, "
        'u.display_name AS writer FROM message AS m LEFT JOIN "user" AS u ON u.id = m.user_id '
        # bigint: a client may ask after any seq up to 2**53, as SQLite's integers allow.
        "WHERE m.conversation_id = $1 AND m.seq > $2::bigint ORDER BY m.seq LIMIT $3",
        conversation_id,
        after_seq,
        limit + 1,
    )
    messages = [
        Message(
            conversation_id,
            r["seq"],
            r["author"],
            unseal(db, "message.body", conversation_id, r["body"]),
            r["created_at"],
            r["client_id"],
            r["user_id"],
            r["writer"],
        )
        for r in rows[:limit]
    ]
    return messages, len(rows) > limit


_list_messages = list_messages


async def _get_history(
    db: Db, conversation_id: str, after_seq: int, limit: int
) -> tuple[Conversation, list[Message], bool] | None:
    async with db.conn.transaction(isolation="repeatable_read", readonly=True):
        conv = await get_conversation(db, conversation_id)
        if conv is None:
            return None
        messages, more = await list_messages(db, conversation_id, after_seq, limit)
        return conv, messages, more
