"""The SQL of casework (PostgreSQL): notes, tags, risk, transfers and the handoff summary of
open conversations (closed ones are in ``closed.py``).

Every write runs in its own transaction and first locks the conversation's row, so a close or a
transfer on another node waits for it and cannot slip in between check and write. A transfer to
a counselor also locks that account's row, as a claim does: transfers and claims to one
counselor count their chats one after the other, so together they cannot pass the limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service.clock import now_iso
from service.domain.accounts import User
from service.domain.casework import (
    Case,
    Note,
    check_summary_base,
    next_summary_at,
    works_inbox,
)
from service.domain.conversations import Message
from service.errors import AppError, ErrorCode
from service.pg.rows import USER_COLUMNS, append_system_message, user_of
from service.pg.sealing import Db, seal, unseal, unseal_or_none

T = TypeVar("T")


class CaseworkQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def get_case(self, conversation_id: str) -> Case | None:
        return await self._read(case_of, conversation_id)

    async def was_held_by(self, conversation_id: str, user_id: int) -> bool:
        """Whether the user held the conversation before handing it on."""
        return await self._read(_was_held_by, conversation_id, user_id)

    async def get_user(self, username: str) -> User | None:
        return await self._read(_get_user, username)

    async def insert_note(
        self,
        conversation_id: str,
        user_id: int,
        body: str,
        kind: str = "note",
        to_user_id: int | None = None,
    ) -> None:
        await self._write(_insert_note, conversation_id, user_id, body, kind, to_user_id)

    async def set_tags(self, conversation_id: str, keys: list[str]) -> None:
        await self._write(_set_tags, conversation_id, keys)

    async def set_risk(self, conversation_id: str, level: str) -> str:
        """Set the risk level of an open conversation; returns the level it had before."""
        return await self._write(_set_risk, conversation_id, level)

    async def set_summary(
        self, conversation_id: str, user_id: int, summary: str | None, base: str | None = None
    ) -> str:
        """Save the summary if ``base`` is the revision stored (``summary_at``), else refuse
        with ``summary_conflict``; returns the new revision."""
        return await self._write(_set_summary, conversation_id, user_id, summary, base)

    async def transfer_conversation(
        self,
        conversation_id: str,
        by_user_id: int,
        holder_id: int | None,
        to_user: User | None,
        to_desk_id: int,
        note: str | None,
        max_chats: int,
    ) -> Message:
        """Hand an open conversation to ``to_user`` (active) or back to ``to_desk_id``'s queue
        (waiting). NOT_FOUND if its holder changed meanwhile; CHAT_LIMIT if ``to_user`` is full.
        Returns the ``counselor_changed`` system message."""
        return await self._write(
            _transfer, conversation_id, by_user_id, holder_id, to_user, to_desk_id, note, max_chats
        )


# -- SQL ---------------------------------------------------------------------------------------

_TAGS_OF = (
    "SELECT t.key FROM conversation_tag AS ct JOIN topic_tag AS t ON t.id = ct.tag_id "
    "WHERE ct.conversation_id = $1 ORDER BY t.key = 'other', t.id"
)
_NOTES_OF = (
    "SELECT n.id, n.kind, n.body, n.created_at, a.display_name AS author, "
    'r.display_name AS reader FROM note AS n JOIN "user" AS a ON a.id = n.user_id '
    'LEFT JOIN "user" AS r ON r.id = n.to_user_id WHERE n.conversation_id = $1 ORDER BY n.id'
)


async def case_of(db: Db, conversation_id: str) -> Case | None:
    row = await db.conn.fetchrow(
        "SELECT c.id, c.desk_id, c.status, c.risk, c.code_word, c.quick_exit, c.summary, "
        'c.summary_at, s.display_name AS summary_by FROM conversation AS c LEFT JOIN "user" AS s '
        "ON s.id = c.summary_by WHERE c.id = $1",
        conversation_id,
    )
    if row is None:
        return None
    tags = tuple(r[0] for r in await db.conn.fetch(_TAGS_OF, conversation_id))
    notes = tuple(
        Note(
            r["id"],
            r["kind"],
            r["author"],
            unseal(db, "note.body", conversation_id, r["body"]),
            r["created_at"],
            r["reader"],
        )
        for r in await db.conn.fetch(_NOTES_OF, conversation_id)
    )
    return Case(
        conversation_id=row["id"],
        desk_id=row["desk_id"],
        status=row["status"],
        risk=row["risk"],
        tags=tags,
        code_word=unseal_or_none(db, "conversation.code_word", conversation_id, row["code_word"]),
        quick_exit=bool(row["quick_exit"]),
        summary=unseal_or_none(db, "conversation.summary", conversation_id, row["summary"]),
        notes=notes,
        summary_at=row["summary_at"],
        summary_by=row["summary_by"],
    )


async def _was_held_by(db: Db, conversation_id: str, user_id: int) -> bool:
    found = await db.conn.fetchval(
        "SELECT 1 FROM transfer WHERE conversation_id = $1 AND from_user_id = $2 LIMIT 1",
        conversation_id,
        user_id,
    )
    return found is not None


async def _get_user(db: Db, username: str) -> User | None:
    row = await db.conn.fetchrow(
        f'SELECT {USER_COLUMNS} FROM "user" AS u WHERE u.username = $1',  # noqa: S608 (constant)
        username,
    )
    return None if row is None else await user_of(db, row)


async def _conversation_row(db: Db, conversation_id: str) -> Any:
    """The conversation's state, its row locked until COMMIT (NOT_FOUND if there is none).
    NO KEY UPDATE: it waits for other writers of the row, not for inserts that refer to it."""
    row = await db.conn.fetchrow(
        "SELECT status, counselor_id, desk_id, risk FROM conversation WHERE id = $1 "
        "FOR NO KEY UPDATE",
        conversation_id,
    )
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND)
    return row


async def _insert_note(
    db: Db,
    conversation_id: str,
    user_id: int,
    body: str,
    kind: str,
    to_user_id: int | None,
) -> None:
    await _conversation_row(db, conversation_id)
    await _add_note(db, conversation_id, user_id, body, kind, to_user_id)


async def _add_note(
    db: Db, conversation_id: str, user_id: int, body: str, kind: str, to_user_id: int | None
) -> None:
    await db.conn.execute(
        "INSERT INTO note (conversation_id, user_id, kind, to_user_id, body, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        conversation_id,
        user_id,
        kind,
        to_user_id,
        seal(db, "note.body", conversation_id, body),
        now_iso(),
    )


async def _set_tags(db: Db, conversation_id: str, keys: list[str]) -> None:
    await _conversation_row(db, conversation_id)
    ids = []
    for key in keys:
        tag_id = await db.conn.fetchval(
            "SELECT id FROM topic_tag WHERE key = $1 AND enabled = 1", key
        )
        if tag_id is None:
            raise AppError(ErrorCode.INVALID_PAYLOAD, f"unknown tag {key!r}")
        ids.append(tag_id)
    await db.conn.execute(
        "DELETE FROM conversation_tag WHERE conversation_id = $1", conversation_id
    )
    await db.conn.execute(
        "INSERT INTO conversation_tag (conversation_id, tag_id) SELECT $1, unnest($2::bigint[])",
        conversation_id,
        ids,
    )


async def _set_risk(db: Db, conversation_id: str, level: str) -> str:
    before = await _conversation_row(db, conversation_id)
    if before["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    await db.conn.execute("UPDATE conversation SET risk = $1 WHERE id = $2", level, conversation_id)
    return str(before["risk"])


async def _set_summary(
    db: Db, conversation_id: str, user_id: int, summary: str | None, base: str | None
) -> str:
    # The row locked until COMMIT: a save on another node waits, then sees this revision.
    row = await db.conn.fetchrow(
        "SELECT summary, summary_at FROM conversation WHERE id = $1 FOR NO KEY UPDATE",
        conversation_id,
    )
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND)
    stored = unseal_or_none(db, "conversation.summary", conversation_id, row["summary"])
    check_summary_base(row["summary_at"], base, stored == summary)
    revision = next_summary_at(row["summary_at"], now_iso())
    sealed = None if summary is None else seal(db, "conversation.summary", conversation_id, summary)
    await db.conn.execute(
        "UPDATE conversation SET summary = $1, summary_by = $2, summary_at = $3 WHERE id = $4",
        sealed,
        user_id,
        revision,
        conversation_id,
    )
    return revision


async def _works_desk(db: Db, user: User, desk_id: int) -> bool:
    """Whether the account works ``desk_id``'s inbox: read again here, as it may have changed
    since the caller looked it up."""
    row = await db.conn.fetchrow(
        'SELECT active, role, all_desks FROM "user" WHERE id = $1', user.id
    )
    if row is None or not row["active"] or not works_inbox(row["role"]):
        return False
    if row["all_desks"]:
        return True
    found = await db.conn.fetchval(
        "SELECT 1 FROM user_desk WHERE user_id = $1 AND desk_id = $2", user.id, desk_id
    )
    return found is not None


async def _hand_to_user(
    db: Db,
    conversation_id: str,
    holder_id: int | None,
    to_user: User,
    to_desk_id: int,
    max_chats: int,
    now: str,
) -> None:
    if to_user.id == holder_id or not await _works_desk(db, to_user, to_desk_id):
        raise AppError(ErrorCode.UNKNOWN_USER, "nobody by that name can take it")
    held = await db.conn.fetchval(
        "SELECT COUNT(*) FROM conversation WHERE counselor_id = $1 AND status = 'active'",
        to_user.id,
    )
    if held >= max_chats:
        raise AppError(ErrorCode.CHAT_LIMIT, f"they hold {max_chats} chats already")
    await db.conn.execute(
        "UPDATE conversation SET status = 'active', counselor_id = $1, desk_id = $2, "
        "claimed_at = $3 WHERE id = $4",
        to_user.id,
        to_desk_id,
        now,
        conversation_id,
    )


async def _hand_to_desk(
    db: Db, conversation_id: str, holder_id: int | None, from_desk_id: int, to_desk_id: int
) -> None:
    if holder_id is None and from_desk_id == to_desk_id:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "it is waiting at that desk already")
    await db.conn.execute(
        "UPDATE conversation SET status = 'waiting', counselor_id = NULL, desk_id = $1, "
        "claimed_at = NULL WHERE id = $2",
        to_desk_id,
        conversation_id,
    )


async def _transfer(
    db: Db,
    conversation_id: str,
    by_user_id: int,
    holder_id: int | None,
    to_user: User | None,
    to_desk_id: int,
    note: str | None,
    max_chats: int,
) -> Message:
    if to_user is not None:
        # The account's row before the conversation's, in the order a claim takes them: a
        # transfer and a claim to one counselor then wait for each other instead of deadlocking.
        await db.conn.execute('SELECT 1 FROM "user" WHERE id = $1 FOR NO KEY UPDATE', to_user.id)
    row = await _conversation_row(db, conversation_id)
    if row["status"] == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    if row["counselor_id"] != holder_id:
        raise AppError(ErrorCode.NOT_FOUND)
    now = now_iso()
    if to_user is not None:
        await _hand_to_user(db, conversation_id, holder_id, to_user, to_desk_id, max_chats, now)
    else:
        await _hand_to_desk(db, conversation_id, holder_id, row["desk_id"], to_desk_id)
    await db.conn.execute(
        "INSERT INTO transfer (conversation_id, by_user_id, from_user_id, to_user_id, "
        "from_desk_id, to_desk_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        conversation_id,
        by_user_id,
        holder_id,
        None if to_user is None else to_user.id,
        row["desk_id"],
        to_desk_id,
        now,
    )
    if note:
        await _add_note(db, conversation_id, by_user_id, note, "transfer", None)
    return await append_system_message(db, conversation_id, "counselor_changed")
