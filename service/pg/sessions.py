"""The SQL of accounts and login sessions (PostgreSQL). A session id is kept only as its hash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from service.clock import iso, now_iso, utcnow
from service.db.sessions import UNLOCKING_ACTIONS
from service.domain.accounts import Role, User
from service.domain.audit import Actor
from service.pg.audit_log import audit
from service.pg.rows import USER_COLUMNS, insert_user, user_of
from service.pg.sealing import Db
from service.storage import Credentials, sha256

T = TypeVar("T")

SETTLED_SECONDS = 30.0
"""Audit rows older than this are committed or never will be (``_login_unlocks_since``)."""


class SessionQueries:
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def count_users(self) -> int:
        return await self._read(_count_users)

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

    async def login_unlocks_since(self, after_id: int) -> tuple[int, list[str]]:
        """Accounts unlocked (``user.unlock``, ``user.password_reset``) by audit rows after
        ``after_id``, and the last row's id to pass next time."""
        return await self._read(_login_unlocks_since, after_id)

    async def get_session_user(self, session_id: str, idle_since: str) -> User | None:
        """The user of a live session, or None if it does not exist, idled out or the account
        was deactivated."""
        return await self._read(_get_session_user, sha256(session_id), idle_since)

    async def touch_session(self, session_id: str) -> None:
        await self._write(_touch_session, sha256(session_id))

    async def delete_session(self, session_id: str) -> None:
        await self._write(_delete_session, sha256(session_id))

    async def change_own_password(
        self, actor: Actor, user_id: int, password_hash: str, keep_session_hash: str
    ) -> None:
        """Set a new password and end every other session of the account."""
        await self._write(_change_own_password, actor, user_id, password_hash, keep_session_hash)


async def _count_users(db: Db) -> int:
    return int(await db.conn.fetchval('SELECT COUNT(*) FROM "user"'))


async def _get_credentials(db: Db, username: str) -> Credentials | None:
    row = await db.conn.fetchrow(
        f'SELECT {USER_COLUMNS} FROM "user" AS u WHERE u.username = $1',  # noqa: S608 (constant)
        username,
    )
    if row is None:
        return None
    return Credentials(user=await user_of(db, row), password_hash=row["password_hash"])


async def _insert_session(db: Db, id_hash: str, user: User) -> None:
    now = now_iso()
    await db.conn.execute(
        "INSERT INTO session (id_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        id_hash,
        user.id,
        now,
        now,
    )
    await audit(db, Actor(user.username, user.id), "login", user.username, {})


async def _record_failed_login(db: Db, username: str) -> None:
    known = await db.conn.fetchval('SELECT 1 FROM "user" WHERE username = $1', username)
    name = username if known else ""
    await audit(db, Actor(name or "unknown"), "login.failed", name, {})


async def _login_unlocks_since(db: Db, after_id: int) -> tuple[int, list[str]]:
    # Ids are handed out before COMMIT: on several nodes, an unlock may commit after a row with
    # a higher id was read. So every row after ``after_id`` is returned, but the id handed back
    # stays below the rows of the last half minute (any write commits or fails well within
    # that): a late unlock is found next time, and a recent one is merely applied again.
    rows = await db.conn.fetch(
        "SELECT target FROM audit_log WHERE id > $1 AND action = ANY($2::text[]) ORDER BY id",
        after_id,
        list(UNLOCKING_ACTIONS),
    )
    if after_id == 0:  # the start: everything before it is history
        settled = await db.conn.fetchval("SELECT MAX(id) FROM audit_log")
    else:
        settled = await db.conn.fetchval(
            "SELECT MAX(id) FROM audit_log WHERE id > $1 AND at < $2",
            after_id,
            iso(utcnow() - timedelta(seconds=SETTLED_SECONDS)),
        )
    last = after_id if settled is None else int(settled)
    return last, [row[0].removeprefix("user:") for row in rows]


async def _get_session_user(db: Db, id_hash: str, idle_since: str) -> User | None:
    row = await db.conn.fetchrow(
        f'SELECT {USER_COLUMNS} FROM session JOIN "user" AS u ON u.id = session.user_id '  # noqa: S608
        "WHERE session.id_hash = $1 AND session.last_seen_at >= $2 AND u.active = 1",
        id_hash,
        idle_since,
    )
    return None if row is None else await user_of(db, row)


async def _touch_session(db: Db, id_hash: str) -> None:
    await db.conn.execute(
        "UPDATE session SET last_seen_at = $1 WHERE id_hash = $2", now_iso(), id_hash
    )


async def _delete_session(db: Db, id_hash: str) -> None:
    await db.conn.execute("DELETE FROM session WHERE id_hash = $1", id_hash)


async def _change_own_password(
    db: Db, actor: Actor, user_id: int, password_hash: str, keep: str
) -> None:
    await db.conn.execute(
        'UPDATE "user" SET password_hash = $1 WHERE id = $2', password_hash, user_id
    )
    await db.conn.execute("DELETE FROM session WHERE user_id = $1 AND id_hash != $2", user_id, keep)
    await audit(db, actor, "user.password_change", f"user:{actor.name}", {})
