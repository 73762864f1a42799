"""The storage layer: every SQL statement of the service lives in this file.

Two SQLite connections: one only reads (on an aiosqlite thread), one only writes.
Writes are queued and committed in batches (group commit): whatever arrives while a commit is
being fsynced goes into the next transaction, so ``synchronous=FULL`` costs one fsync per batch
rather than one per message; ``service/db/writer.py`` runs the batches (in a child process for
the server). A caller's future resolves only after COMMIT returned: that is what lets the
service acknowledge a message only once it is durable.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from service.clock import now_iso
from service.crypto import Sealer
from service.db.admin import AdminQueries, audit
from service.db.casework import CaseworkQueries
from service.db.changes import ChangeQueries
from service.db.migrate import apply_migrations
from service.db.reports import ReportQueries
from service.db.retention import RetentionQueries, enable_secure_delete
from service.db.rows import (
    APPEND_CHECKED,
    USER_COLUMNS,
    append_message,
    append_system_message,
    insert_user,
    user_of,
)
from service.db.sealing import SealedConnection, check_key, reseal, unseal
from service.db.visitors import VisitorQueries
from service.db.writer import ProcessWriter, ThreadWriter, run_on
from service.domain.accounts import Role, User
from service.domain.audit import Actor
from service.domain.conversations import Author, Conversation, Message
from service.errors import AppError, ErrorCode

T = TypeVar("T")


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message: Message
    created: bool
    """False when the client_id was seen before and the earlier message is returned."""

    def __reduce__(self) -> tuple[type[StoredMessage], tuple[Message, bool]]:
        return StoredMessage, (self.message, self.created)  # see Message.__reduce__


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    _configure(conn)
    return conn


def migrate(path: Path) -> list[str]:
    """Create the database if needed and apply pending migrations (synchronous, for the CLI)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readable by the service's own account only; SQLite gives its -wal and -shm files the
    # same mode.
    path.touch(mode=0o600, exist_ok=True)
    conn = _connect(path)
    try:
        return apply_migrations(conn)
    finally:
        conn.close()


_OPTIONS: dict[str, Any] = {"isolation_level": None, "check_same_thread": False}


class Store(
    AdminQueries, VisitorQueries, CaseworkQueries, ReportQueries, RetentionQueries, ChangeQueries
):
    """The service's database. Open with :meth:`open`; all methods are coroutine-safe.

    Desks, partners, campaigns and the other things admins set up are in ``db/admin.py``; a
    visitor's urgent choice, code word and survey in ``db/visitors.py``; notes, tags, risk,
    transfers and handoffs in ``db/casework.py``; the facts that reports count in
    ``db/reports.py``; erasing content past its retention in ``db/retention.py``.
    """

    def __init__(
        self, path: Path, reader: aiosqlite.Connection, writer: ThreadWriter | ProcessWriter
    ):
        self.path = path
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(
        cls, path: Path, sealer: Sealer | None = None, *, writer_process: bool = False
    ) -> Store:
        """Open (creating or migrating) the database. Without ``sealer`` (the admin commands),
        reading or writing sealed content fails; with one, a key that did not seal this
        database is refused (:func:`service.db.sealing.check_key`). ``writer_process`` (the
        server) commits in a child process rather than on a thread (``service/db/writer.py``).
        """
        await asyncio.to_thread(migrate, path)
        reader = await aiosqlite.connect(path, factory=SealedConnection, **_OPTIONS)
        await run_on(reader, _configure, sealer)
        writer: ThreadWriter | ProcessWriter
        try:
            if writer_process:
                writer = await ProcessWriter.start(path, sealer)
            else:
                writing = await aiosqlite.connect(path, factory=SealedConnection, **_OPTIONS)
                await run_on(writing, _configure_writer, sealer)
                writer = ThreadWriter(writing)
        except BaseException:
            await reader.close()
            raise
        store = cls(path, reader, writer)
        if sealer is not None:
            try:
                await store._write(check_key, sealer)
            except BaseException:
                await store.close()
                raise
        return store

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_on(self._reader, fn, *args)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the next batch's transaction; return once committed.
        ``fn`` is a module-level function and ``args`` plain data: both are pickled."""
        return await self._writer.submit(fn, *args)

    async def _maintain(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the writing connection between two batches, outside any transaction
        (a checkpoint, a VACUUM)."""
        return await self._writer.maintain(fn, *args)

    async def reseal(self, sealer: Sealer) -> int:
        """Seal every sealed value with ``sealer``'s first key (``madoguchi rotate-key``)."""
        return await self._write(reseal, sealer)

    # -- change detection -------------------------------------------------------------------

    async def data_version(self) -> int:
        """Changes whenever another connection (the CLI, say) commits to the database."""
        return await self._read(_data_version)

    # -- accounts and sessions --------------------------------------------------------------

    async def count_users(self) -> int:
        return await self._read(lambda c: c.execute("SELECT COUNT(*) FROM user").fetchone()[0])

    async def insert_user(
        self,
        username: str,
        display_name: str,
        role: Role,
        password_hash: str,
        desk_keys: Iterable[str] | None,
    ) -> int:
        keys = None if desk_keys is None else list(desk_keys)
        return await self._write(insert_user, username, display_name, role, password_hash, keys)

    async def get_credentials(self, username: str) -> Credentials | None:
        return await self._read(_get_credentials, username)

    async def insert_session(self, session_id: str, user: User) -> None:
        """Open a login session, recorded in the audit log in the same transaction."""
        await self._write(_insert_session, sha256(session_id), user)

    async def record_failed_login(self, username: str) -> None:
        """Audit a failed login. The name is kept only if such an account exists, so that a
        password typed into the username field never reaches the log."""
        await self._write(_record_failed_login, username)

    async def get_session_user(self, session_id: str, idle_since: str) -> User | None:
        """The user of a live session, or None if it does not exist, idled out or the account
        was deactivated."""
        return await self._read(_get_session_user, sha256(session_id), idle_since)

    async def touch_session(self, session_id: str) -> None:
        await self._write(_touch_session, sha256(session_id))

    async def delete_session(self, session_id: str) -> None:
        await self._write(_delete_session, sha256(session_id))

    # -- conversations ----------------------------------------------------------------------

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
        holds ``max_chats`` active conversations. The caller has checked the desk.
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
        return await self._write(
            _insert_message, conversation_id, author, user_id, client_id, body
        )

    def queue_message(
        self,
        conversation_id: str,
        author: Author,
        user_id: int | None,
        client_id: str,
        body: str,
        done: Callable[[tuple[bool, StoredMessage | Exception]], Awaitable[None]],
    ) -> None:
        """Store a client's message in the next batch; returns at once. Once committed,
        ``done((True, stored))``, or ``done((False, error))`` if refused or failed, runs in the
        order queued (``service/db/writer.py`` ``submit_later``)."""
        self._writer.submit_later(
            _insert_message, (conversation_id, author, user_id, client_id, body), done
        )

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


# -- synchronous SQL, run on the connections' threads -----------------------------------------


def _configure(conn: sqlite3.Connection, sealer: Sealer | None = None) -> None:
    if isinstance(conn, SealedConnection):
        conn.sealer = sealer
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: every COMMIT is fsynced, so an acknowledged message survives a power cut too.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA busy_timeout = 30000")


def _configure_writer(conn: sqlite3.Connection, sealer: Sealer | None) -> None:
    _configure(conn, sealer)
    enable_secure_delete(conn)


def open_writing_connection(path: Path, sealer: Sealer | None) -> sqlite3.Connection:
    """The writing connection, as the writer process opens it."""
    conn = sqlite3.connect(path, factory=SealedConnection, **_OPTIONS)
    _configure_writer(conn, sealer)
    return conn


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _get_credentials(conn: sqlite3.Connection, username: str) -> Credentials | None:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM user WHERE username = ?",  # noqa: S608 (constant columns)
        (username,),
    ).fetchone()
    if row is None:
        return None
    return Credentials(user=user_of(conn, row), password_hash=row["password_hash"])


def _insert_session(conn: sqlite3.Connection, id_hash: str, user: User) -> None:
    now = now_iso()
    conn.execute(
        "INSERT INTO session (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        (id_hash, user.id, now, now),
    )
    audit(conn, Actor(user.username, user.id), "login", user.username, {})


def _record_failed_login(conn: sqlite3.Connection, username: str) -> None:
    known = conn.execute("SELECT 1 FROM user WHERE username = ?", (username,)).fetchone()
    name = username if known else ""
    audit(conn, Actor(name or "unknown"), "login.failed", name, {})


def _get_session_user(conn: sqlite3.Connection, id_hash: str, idle_since: str) -> User | None:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM session JOIN user ON user.id = session.user_id "  # noqa: S608
        "WHERE session.id_hash = ? AND session.last_seen_at >= ? AND user.active = 1",
        (id_hash, idle_since),
    ).fetchone()
    return None if row is None else user_of(conn, row)


def _touch_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("UPDATE session SET last_seen_at = ? WHERE id_hash = ?", (now_iso(), id_hash))


_CONVERSATION_SELECT = (
    "SELECT c.id, c.desk_id, c.partner_id, c.campaign, c.lang, c.topic, c.status, c.urgent, "
    "c.counselor_id, c.last_seq, c.outcome, c.created_at, u.display_name AS counselor_name, "
    "c.risk, c.claimed_at "
    "FROM conversation AS c LEFT JOIN user AS u ON u.id = c.counselor_id"
)


def _delete_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM session WHERE id_hash = ?", (id_hash,))


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
    changed = conn.execute(
        "UPDATE conversation SET status = 'active', counselor_id = ?, claimed_at = ? "
        "WHERE id = ? AND status = 'waiting'",
        (user_id, now_iso(), conversation_id),
    ).rowcount
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


def _list_messages(
    conn: sqlite3.Connection, conversation_id: str, after_seq: int, limit: int
) -> tuple[list[Message], bool]:
    rows = conn.execute(
        "SELECT seq, author, body, created_at, client_id FROM message "
        "WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
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
        messages, more = _list_messages(conn, conversation_id, after_seq, limit)
        return conv, messages, more
    finally:
        conn.execute("COMMIT")
