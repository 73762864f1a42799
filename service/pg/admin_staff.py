"""The SQL of staff accounts, canned responses and topic tags (PostgreSQL; ``admin.py``: desks,
partners, campaigns, emergency contacts and the audit log). The same statements, answers and
refusals as ``service/db/admin_staff.py``: each change runs in one transaction together with
its audit row; each field has its own constant statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import asyncpg

from service.clock import now_iso
from service.domain.accounts import User
from service.domain.audit import Actor
from service.domain.replies import CannedResponse, TopicTag
from service.errors import AppError, ErrorCode
from service.pg.audit_log import audit
from service.pg.rows import USER_COLUMNS, desk_id_of, insert_user, set_user_desks, user_of
from service.pg.sealing import Db

T = TypeVar("T")


class StaffQueries:
    """Mixed into :class:`service.pg.store.PgStore` (through ``admin.AdminQueries``), which
    provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
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


# -- accounts ----------------------------------------------------------------------------------


async def _list_users(db: Db) -> list[User]:
    rows = await db.conn.fetch(f'SELECT {USER_COLUMNS} FROM "user" AS u ORDER BY u.username')  # noqa: S608 (constant columns)
    return [await user_of(db, row) for row in rows]


async def _create_user(
    db: Db,
    actor: Actor,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    desk_keys: list[str] | None,
) -> int:
    user_id = await insert_user(db, username, display_name, role, password_hash, desk_keys)
    detail = {"display_name": display_name, "role": role, "desks": desk_keys}
    await audit(db, actor, "user.create", f"user:{username}", detail)
    return user_id


async def _user_row(db: Db, username: str) -> Any:
    row = await db.conn.fetchrow(
        f'SELECT {USER_COLUMNS} FROM "user" AS u WHERE u.username = $1',  # noqa: S608 (constant columns)
        username,
    )
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    return row


async def _update_user(db: Db, actor: Actor, username: str, fields: dict[str, Any]) -> User:
    user_id = (await _user_row(db, username))["id"]
    admins_before = await _active_admins(db)
    if "display_name" in fields:
        await db.conn.execute(
            'UPDATE "user" SET display_name = $1 WHERE id = $2', fields["display_name"], user_id
        )
    if "role" in fields:
        await db.conn.execute('UPDATE "user" SET role = $1 WHERE id = $2', fields["role"], user_id)
    if "desks" in fields:
        await set_user_desks(db, user_id, fields["desks"])
    if "active" in fields:
        await db.conn.execute(
            'UPDATE "user" SET active = $1 WHERE id = $2', int(fields["active"]), user_id
        )
        if not fields["active"]:
            await db.conn.execute("DELETE FROM session WHERE user_id = $1", user_id)
    # Refused only when this change removes the last admin: a database set up with the command
    # line may have none yet, and its other accounts must stay editable. Two nodes demoting the
    # last two admins at once cannot both pass: each UPDATE of "user" above advances the
    # settings counter (a trigger), whose row lock makes the second wait for the first's
    # COMMIT, so the count below, a statement of its own, sees the first's change.
    if admins_before and not await _active_admins(db):
        raise AppError(ErrorCode.LAST_ADMIN, "at least one active admin must remain")
    await audit(db, actor, "user.update", f"user:{username}", fields)
    return await user_of(db, await _user_row(db, username))


async def _active_admins(db: Db) -> int:
    count = await db.conn.fetchval(
        "SELECT COUNT(*) FROM \"user\" WHERE role = 'admin' AND active = 1"
    )
    return int(count)


async def _set_password(db: Db, actor: Actor, username: str, password_hash: str) -> None:
    user_id = (await _user_row(db, username))["id"]
    await db.conn.execute(
        'UPDATE "user" SET password_hash = $1 WHERE id = $2', password_hash, user_id
    )
    await db.conn.execute("DELETE FROM session WHERE user_id = $1", user_id)
    await audit(db, actor, "user.password_reset", f"user:{username}", {})
    await _announce_unlock(db)


async def _unlock_logins(db: Db, actor: Actor, username: str) -> None:
    await _user_row(db, username)  # NOT_FOUND for no such account
    await audit(db, actor, "user.unlock", f"user:{username}", {})
    await _announce_unlock(db)


async def _announce_unlock(db: Db) -> None:
    # Every node keeps its login throttle in memory; the counter wakes their catalogs, whose
    # reload reads the unlocks from the audit log (sessions.py, login_unlocks_since).
    await db.conn.execute("UPDATE settings_change SET version = version + 1 WHERE id = 1")


# -- canned responses --------------------------------------------------------------------------


async def _list_canned(db: Db) -> list[CannedResponse]:
    rows = await db.conn.fetch(
        "SELECT id, desk_id, title, body FROM canned_response ORDER BY title, id"
    )
    return [CannedResponse(r["id"], r["desk_id"], r["title"], r["body"]) for r in rows]


async def _canned(db: Db, canned_id: int) -> CannedResponse:
    row = await db.conn.fetchrow(
        "SELECT id, desk_id, title, body FROM canned_response WHERE id = $1", canned_id
    )
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no canned response {canned_id}")
    return CannedResponse(row["id"], row["desk_id"], row["title"], row["body"])


async def _insert_canned(
    db: Db, actor: Actor, desk_key: str | None, title: str, body: str
) -> CannedResponse:
    now = now_iso()
    desk_id = None if desk_key is None else await desk_id_of(db, desk_key)
    canned_id = int(
        await db.conn.fetchval(
            "INSERT INTO canned_response (desk_id, title, body, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            desk_id,
            title,
            body,
            now,
            now,
        )
    )
    detail = {"title": title, "desk": desk_key}
    await audit(db, actor, "canned.create", f"canned:{canned_id}", detail)
    return await _canned(db, canned_id)


async def _update_canned(
    db: Db, actor: Actor, canned_id: int, fields: dict[str, Any]
) -> CannedResponse:
    await _canned(db, canned_id)
    if "title" in fields:
        await db.conn.execute(
            "UPDATE canned_response SET title = $1 WHERE id = $2", fields["title"], canned_id
        )
    if "body" in fields:
        await db.conn.execute(
            "UPDATE canned_response SET body = $1 WHERE id = $2", fields["body"], canned_id
        )
    if "desk" in fields:
        desk_id = None if fields["desk"] is None else await desk_id_of(db, fields["desk"])
        await db.conn.execute(
            "UPDATE canned_response SET desk_id = $1 WHERE id = $2", desk_id, canned_id
        )
    await db.conn.execute(
        "UPDATE canned_response SET updated_at = $1 WHERE id = $2", now_iso(), canned_id
    )
    # The body is staff text, but the log names what changed rather than copying long texts.
    detail = {k: ("(changed)" if k == "body" else v) for k, v in fields.items()}
    await audit(db, actor, "canned.update", f"canned:{canned_id}", detail)
    return await _canned(db, canned_id)


async def _delete_canned(db: Db, actor: Actor, canned_id: int) -> None:
    title = (await _canned(db, canned_id)).title
    await db.conn.execute("DELETE FROM canned_response WHERE id = $1", canned_id)
    await audit(db, actor, "canned.delete", f"canned:{canned_id}", {"title": title})


# -- topic tags --------------------------------------------------------------------------------


async def _list_tags(db: Db) -> list[TopicTag]:
    # Creation order is the poster's for the seeded tags (POSTER_TOPICS); その他 stays last.
    rows = await db.conn.fetch(
        "SELECT id, key, label_ja, label_en, enabled FROM topic_tag ORDER BY key = 'other', id"
    )
    return [_tag_of(r) for r in rows]


def _tag_of(r: Any) -> TopicTag:
    return TopicTag(r["id"], r["key"], r["label_ja"], r["label_en"], bool(r["enabled"]))


async def _tag(db: Db, key: str) -> TopicTag:
    row = await db.conn.fetchrow(
        "SELECT id, key, label_ja, label_en, enabled FROM topic_tag WHERE key = $1", key
    )
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no topic tag {key!r}")
    return _tag_of(row)


async def _insert_tag(db: Db, actor: Actor, key: str, label_ja: str, label_en: str) -> TopicTag:
    try:
        await db.conn.execute(
            "INSERT INTO topic_tag (key, label_ja, label_en, created_at) VALUES ($1, $2, $3, $4)",
            key,
            label_ja,
            label_en,
            now_iso(),
        )
    except asyncpg.UniqueViolationError:
        raise AppError(ErrorCode.ALREADY_EXISTS, f"topic tag {key!r} exists already") from None
    await audit(db, actor, "topic_tag.create", f"topic_tag:{key}", {"label_ja": label_ja})
    return await _tag(db, key)


_TAG_UPDATES = {
    "label_ja": "UPDATE topic_tag SET label_ja = $1 WHERE key = $2",
    "label_en": "UPDATE topic_tag SET label_en = $1 WHERE key = $2",
    "enabled": "UPDATE topic_tag SET enabled = $1 WHERE key = $2",
}


async def _update_tag(db: Db, actor: Actor, key: str, fields: dict[str, Any]) -> TopicTag:
    await _tag(db, key)
    for name, value in fields.items():
        stored = int(value) if name == "enabled" else value
        await db.conn.execute(_TAG_UPDATES[name], stored, key)
    await audit(db, actor, "topic_tag.update", f"topic_tag:{key}", fields)
    return await _tag(db, key)
