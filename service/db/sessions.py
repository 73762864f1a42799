"""The SQL of accounts and login sessions. A session id is kept only as its hash."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from service.clock import now_iso
from service.db.audit_log import audit
from service.db.rows import USER_COLUMNS, insert_user, user_of
from service.domain.accounts import Role, User
from service.domain.audit import Actor
from service.storage import Credentials, sha256

T = TypeVar("T")


class SessionQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

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


UNLOCKING_ACTIONS = ("user.unlock", "user.password_reset")


def _login_unlocks_since(conn: sqlite3.Connection, after_id: int) -> tuple[int, list[str]]:
    last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()[0]
    rows = conn.execute(
        "SELECT target FROM audit_log WHERE id > ? AND id <= ? AND action IN (?, ?)",
        (after_id, last, *UNLOCKING_ACTIONS),
    ).fetchall()
    return int(last), [row[0].removeprefix("user:") for row in rows]


def _get_session_user(conn: sqlite3.Connection, id_hash: str, idle_since: str) -> User | None:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM session JOIN user ON user.id = session.user_id "  # noqa: S608
        "WHERE session.id_hash = ? AND session.last_seen_at >= ? AND user.active = 1",
        (id_hash, idle_since),
    ).fetchone()
    return None if row is None else user_of(conn, row)


def _touch_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("UPDATE session SET last_seen_at = ? WHERE id_hash = ?", (now_iso(), id_hash))


def _delete_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM session WHERE id_hash = ?", (id_hash,))


def _change_own_password(
    conn: sqlite3.Connection, actor: Actor, user_id: int, password_hash: str, keep: str
) -> None:
    conn.execute("UPDATE user SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    conn.execute("DELETE FROM session WHERE user_id = ? AND id_hash != ?", (user_id, keep))
    audit(conn, actor, "user.password_change", f"user:{actor.name}", {})
