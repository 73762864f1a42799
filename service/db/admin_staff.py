"""The SQL of staff accounts, canned responses and topic tags (``admin.py``: desks, partners,
campaigns, emergency contacts and the audit log). Each change runs in one write operation
together with its audit row; each field has its own constant statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from service.clock import now_iso
from service.db.audit_log import audit
from service.db.rows import USER_COLUMNS, desk_id_of, insert_user, set_user_desks, user_of
from service.domain.accounts import User
from service.domain.audit import Actor
from service.domain.replies import CannedResponse, TopicTag
from service.errors import AppError, ErrorCode

T = TypeVar("T")


class StaffQueries:
    """Mixed into the store (through ``admin.AdminQueries``), which provides ``_read`` and
    ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def list_users(self) -> list[User]:
        return await self._read(_list_users)

    async def list_canned_responses(self) -> list[CannedResponse]:
        return await self._read(_list_canned)

    async def list_topic_tags(self) -> list[TopicTag]:
        return await self._read(_list_tags)

    async def create_user(
        self,
        actor: Actor,
        username: str,
        display_name: str,
        role: str,
        password_hash: str,
        desk_keys: list[str] | None,
    ) -> int:
        return await self._write(
            _create_user, actor, username, display_name, role, password_hash, desk_keys
        )

    async def update_user(self, actor: Actor, username: str, fields: Mapping[str, Any]) -> User:
        """Change ``display_name``, ``role``, ``active`` or ``desks`` (a key list or None).

        Deactivating ends the account's sessions; LAST_ADMIN if no active admin would remain.
        """
        return await self._write(_update_user, actor, username, dict(fields))

    async def set_password(self, actor: Actor, username: str, password_hash: str) -> None:
        """A new password ends every session of the account and unlocks its logins."""
        await self._write(_set_password, actor, username, password_hash)

    async def unlock_logins(self, actor: Actor, username: str) -> None:
        """Let the account try to log in again at once (``login_unlocks_since``)."""
        await self._write(_unlock_logins, actor, username)

    async def insert_canned_response(
        self, actor: Actor, desk_key: str | None, title: str, body: str
    ) -> CannedResponse:
        return await self._write(_insert_canned, actor, desk_key, title, body)

    async def update_canned_response(
        self, actor: Actor, canned_id: int, fields: Mapping[str, Any]
    ) -> CannedResponse:
        return await self._write(_update_canned, actor, canned_id, dict(fields))

    async def delete_canned_response(self, actor: Actor, canned_id: int) -> None:
        await self._write(_delete_canned, actor, canned_id)

    async def insert_topic_tag(
        self, actor: Actor, key: str, label_ja: str, label_en: str
    ) -> TopicTag:
        return await self._write(_insert_tag, actor, key, label_ja, label_en)

    async def update_topic_tag(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> TopicTag:
        return await self._write(_update_tag, actor, key, dict(fields))


# -- synchronous SQL ---------------------------------------------------------------------------


def _list_users(conn: sqlite3.Connection) -> list[User]:
    rows = conn.execute(f"SELECT {USER_COLUMNS} FROM user ORDER BY username").fetchall()  # noqa: S608 (constant columns)
    return [user_of(conn, row) for row in rows]


def _list_canned(conn: sqlite3.Connection) -> list[CannedResponse]:
    rows = conn.execute("SELECT id, desk_id, title, body FROM canned_response ORDER BY title, id")
    return [CannedResponse(r["id"], r["desk_id"], r["title"], r["body"]) for r in rows]


def _list_tags(conn: sqlite3.Connection) -> list[TopicTag]:
    # Creation order is the poster's for the seeded tags (POSTER_TOPICS); その他 stays last.
    rows = conn.execute(
        "SELECT id, key, label_ja, label_en, enabled FROM topic_tag ORDER BY key = 'other', id"
    )
    return [
        TopicTag(r["id"], r["key"], r["label_ja"], r["label_en"], bool(r["enabled"])) for r in rows
    ]


def _create_user(
    conn: sqlite3.Connection,
    actor: Actor,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    desk_keys: list[str] | None,
) -> int:
    user_id = insert_user(conn, username, display_name, role, password_hash, desk_keys)
    detail = {"display_name": display_name, "role": role, "desks": desk_keys}
    audit(conn, actor, "user.create", f"user:{username}", detail)
    return user_id


def _user_row(conn: sqlite3.Connection, username: str) -> sqlite3.Row:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM user WHERE username = ?",  # noqa: S608 (constant columns)
        (username,),
    ).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    return row  # type: ignore[no-any-return]


def _update_user(
    conn: sqlite3.Connection, actor: Actor, username: str, fields: dict[str, Any]
) -> User:
    user_id = _user_row(conn, username)["id"]
    admins_before = _active_admins(conn)
    if "display_name" in fields:
        conn.execute(
            "UPDATE user SET display_name = ? WHERE id = ?", (fields["display_name"], user_id)
        )
    if "role" in fields:
        conn.execute("UPDATE user SET role = ? WHERE id = ?", (fields["role"], user_id))
    if "desks" in fields:
        set_user_desks(conn, user_id, fields["desks"])
    if "active" in fields:
        conn.execute("UPDATE user SET active = ? WHERE id = ?", (int(fields["active"]), user_id))
        if not fields["active"]:
            conn.execute("DELETE FROM session WHERE user_id = ?", (user_id,))
    # Refused only when this change removes the last admin: a database set up with the command
    # line may have none yet, and its other accounts must stay editable.
    if admins_before and not _active_admins(conn):
        raise AppError(ErrorCode.LAST_ADMIN, "at least one active admin must remain")
    audit(conn, actor, "user.update", f"user:{username}", fields)
    return user_of(conn, _user_row(conn, username))


def _active_admins(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COUNT(*) FROM user WHERE role = 'admin' AND active = 1").fetchone()
    return int(row[0])


def _set_password(
    conn: sqlite3.Connection, actor: Actor, username: str, password_hash: str
) -> None:
    user_id = _user_row(conn, username)["id"]
    conn.execute("UPDATE user SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    conn.execute("DELETE FROM session WHERE user_id = ?", (user_id,))
    audit(conn, actor, "user.password_reset", f"user:{username}", {})
    _announce_unlock(conn)


def _unlock_logins(conn: sqlite3.Connection, actor: Actor, username: str) -> None:
    _user_row(conn, username)  # NOT_FOUND for no such account
    audit(conn, actor, "user.unlock", f"user:{username}", {})
    _announce_unlock(conn)


def _announce_unlock(conn: sqlite3.Connection) -> None:
    # The serving process keeps the login throttle in memory; the counter wakes its catalog,
    # whose reload reads the unlocks from the audit log (sessions.py, login_unlocks_since).
    conn.execute("UPDATE settings_change SET version = version + 1")


def _canned(conn: sqlite3.Connection, canned_id: int) -> CannedResponse:
    row = conn.execute(
        "SELECT id, desk_id, title, body FROM canned_response WHERE id = ?", (canned_id,)
    ).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no canned response {canned_id}")
    return CannedResponse(row["id"], row["desk_id"], row["title"], row["body"])


def _insert_canned(
    conn: sqlite3.Connection, actor: Actor, desk_key: str | None, title: str, body: str
) -> CannedResponse:
    now = now_iso()
    desk_id = None if desk_key is None else desk_id_of(conn, desk_key)
    cursor = conn.execute(
        "INSERT INTO canned_response (desk_id, title, body, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (desk_id, title, body, now, now),
    )
    canned_id = int(cursor.lastrowid or 0)
    audit(conn, actor, "canned.create", f"canned:{canned_id}", {"title": title, "desk": desk_key})
    return _canned(conn, canned_id)


def _update_canned(
    conn: sqlite3.Connection, actor: Actor, canned_id: int, fields: dict[str, Any]
) -> CannedResponse:
    _canned(conn, canned_id)
    if "title" in fields:
        conn.execute(
            "UPDATE canned_response SET title = ? WHERE id = ?", (fields["title"], canned_id)
        )
    if "body" in fields:
        conn.execute(
            "UPDATE canned_response SET body = ? WHERE id = ?", (fields["body"], canned_id)
        )
    if "desk" in fields:
        desk_id = None if fields["desk"] is None else desk_id_of(conn, fields["desk"])
        conn.execute("UPDATE canned_response SET desk_id = ? WHERE id = ?", (desk_id, canned_id))
    conn.execute("UPDATE canned_response SET updated_at = ? WHERE id = ?", (now_iso(), canned_id))
    # The body is staff text, but the log names what changed rather than copying long texts.
    detail = {k: ("(changed)" if k == "body" else v) for k, v in fields.items()}
    audit(conn, actor, "canned.update", f"canned:{canned_id}", detail)
    return _canned(conn, canned_id)


def _delete_canned(conn: sqlite3.Connection, actor: Actor, canned_id: int) -> None:
    title = _canned(conn, canned_id).title
    conn.execute("DELETE FROM canned_response WHERE id = ?", (canned_id,))
    audit(conn, actor, "canned.delete", f"canned:{canned_id}", {"title": title})


def _insert_tag(
    conn: sqlite3.Connection, actor: Actor, key: str, label_ja: str, label_en: str
) -> TopicTag:
    try:
        conn.execute(
            "INSERT INTO topic_tag (key, label_ja, label_en, created_at) VALUES (?, ?, ?, ?)",
            (key, label_ja, label_en, now_iso()),
        )
    except sqlite3.IntegrityError:
        raise AppError(ErrorCode.ALREADY_EXISTS, f"topic tag {key!r} exists already") from None
    audit(conn, actor, "topic_tag.create", f"topic_tag:{key}", {"label_ja": label_ja})
    return _tag(conn, key)


_TAG_UPDATES = {
    "label_ja": "UPDATE topic_tag SET label_ja = ? WHERE key = ?",
    "label_en": "UPDATE topic_tag SET label_en = ? WHERE key = ?",
    "enabled": "UPDATE topic_tag SET enabled = ? WHERE key = ?",
}


def _tag(conn: sqlite3.Connection, key: str) -> TopicTag:
    r = conn.execute(
        "SELECT id, key, label_ja, label_en, enabled FROM topic_tag WHERE key = ?", (key,)
    ).fetchone()
    if r is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no topic tag {key!r}")
    return TopicTag(r["id"], r["key"], r["label_ja"], r["label_en"], bool(r["enabled"]))


def _update_tag(
    conn: sqlite3.Connection, actor: Actor, key: str, fields: dict[str, Any]
) -> TopicTag:
    _tag(conn, key)
    for name, value in fields.items():
        conn.execute(_TAG_UPDATES[name], (int(value) if name == "enabled" else value, key))
    audit(conn, actor, "topic_tag.update", f"topic_tag:{key}", fields)
    return _tag(conn, key)
