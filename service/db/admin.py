"""The SQL of what admins set up: desks, partners, campaigns, emergency contacts, accounts,
canned responses, topic tags, and the audit log that records every change to them.

Each change runs in one write operation together with its audit row, so a change is never
stored without its record, nor a record without its change. Updates take a dict of fields;
each field has its own constant statement, so no SQL is ever assembled from input.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from service.clock import now_iso
from service.db.rows import (
    USER_COLUMNS,
    campaign_of,
    desk_id_of,
    desk_of,
    insert_user,
    partner_of,
    set_user_desks,
    user_of,
)
from service.domain.accounts import User
from service.domain.audit import Actor, AuditEntry
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.domain.replies import CannedResponse, TopicTag
from service.errors import AppError, ErrorCode

T = TypeVar("T")

DEFAULT_DESK_NAME = "一般相談（男女平等推進センター）"


class AdminQueries:
    """Mixed into :class:`service.db.store.Store`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def ensure_defaults(self, default_hours: str) -> None:
        """The default desk, the ward's own partner and the demo partner, once."""
        await self._write(_ensure_defaults, default_hours)

    # -- reads, for the catalog and the admin pages ---------------------------------------------

    async def list_desks(self) -> list[Desk]:
        sql = (
            "SELECT id, key, name, is_default, description, phones, hours, closures "
            "FROM desk ORDER BY id"
        )
        return await self._read(_list, sql, desk_of)

    async def list_partners(self) -> list[Partner]:
        sql = (
            "SELECT id, key, name, origins, is_default, enabled, exit_url, desk_id, lang "
            "FROM partner ORDER BY id"
        )
        return await self._read(_list, sql, partner_of)

    async def list_campaigns(self) -> list[Campaign]:
        sql = "SELECT id, code, name, desk_id, partner_id, enabled FROM campaign ORDER BY id"
        return await self._read(_list, sql, campaign_of)

    async def list_emergency_contacts(self) -> list[EmergencyContact]:
        return await self._read(_list_emergency_contacts)

    async def list_users(self) -> list[User]:
        return await self._read(_list_users)

    async def list_canned_responses(self) -> list[CannedResponse]:
        return await self._read(_list_canned)

    async def list_topic_tags(self) -> list[TopicTag]:
        return await self._read(_list_tags)

    async def list_audit(self, limit: int = 200) -> list[AuditEntry]:
        """The latest changes first."""
        return await self._read(_list_audit, limit)

    # -- changes: each with its audit row ----------------------------------------------------

    async def insert_desk(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Desk:
        return await self._write(_insert_desk, actor, key, dict(fields))

    async def update_desk(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Desk:
        return await self._write(_update, actor, "desk", key, dict(fields))

    async def insert_partner(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Partner:
        return await self._write(_insert_partner, actor, key, dict(fields))

    async def update_partner(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Partner:
        return await self._write(_update, actor, "partner", key, dict(fields))

    async def insert_campaign(self, actor: Actor, code: str, fields: Mapping[str, Any]) -> Campaign:
        return await self._write(_insert_campaign, actor, code, dict(fields))

    async def update_campaign(self, actor: Actor, code: str, fields: Mapping[str, Any]) -> Campaign:
        return await self._write(_update, actor, "campaign", code, dict(fields))

    async def replace_emergency_contacts(
        self, actor: Actor, contacts: list[EmergencyContact]
    ) -> None:
        await self._write(_replace_emergency_contacts, actor, contacts)

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
        """A new password ends every session of the account."""
        await self._write(_set_password, actor, username, password_hash)

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
        return await self._write(_update, actor, "topic_tag", key, dict(fields))


# -- synchronous SQL ---------------------------------------------------------------------------


def audit(
    conn: sqlite3.Connection, actor: Actor, action: str, target: str, detail: Mapping[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, actor_id, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            now_iso(),
            actor.name,
            actor.user_id,
            action,
            target,
            json.dumps(detail, default=str, ensure_ascii=False),
        ),
    )


def _ensure_defaults(conn: sqlite3.Connection, default_hours: str) -> None:
    now = now_iso()
    conn.execute(
        "INSERT INTO desk (key, name, is_default, hours, created_at) "
        "SELECT 'general', ?, 1, ?, ? WHERE NOT EXISTS (SELECT 1 FROM desk)",
        (DEFAULT_DESK_NAME, default_hours, now),
    )
    conn.execute(
        "INSERT INTO partner (key, name, origins, is_default, created_at) "
        "SELECT 'ward', '区ホームページ', '[]', 1, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM partner WHERE is_default = 1)",
        (now,),
    )
    # The demo page is served from our own origin, which every partner allows implicitly.
    conn.execute(
        "INSERT INTO partner (key, name, origins, is_default, created_at) "
        "VALUES ('demo', 'デモページ', '[]', 0, ?) ON CONFLICT (key) DO NOTHING",
        (now,),
    )


def _list(conn: sqlite3.Connection, sql: str, make: Callable[[sqlite3.Row], T]) -> list[T]:
    return [make(row) for row in conn.execute(sql)]


def _list_emergency_contacts(conn: sqlite3.Connection) -> list[EmergencyContact]:
    rows = conn.execute(
        "SELECT name, number, note_ja, note_en FROM emergency_contact ORDER BY position, id"
    )
    return [EmergencyContact(r["name"], r["number"], r["note_ja"], r["note_en"]) for r in rows]


def _list_users(conn: sqlite3.Connection) -> list[User]:
    rows = conn.execute(f"SELECT {USER_COLUMNS} FROM user ORDER BY username").fetchall()  # noqa: S608 (constant columns)
    return [user_of(conn, row) for row in rows]


def _list_canned(conn: sqlite3.Connection) -> list[CannedResponse]:
    rows = conn.execute("SELECT id, desk_id, title, body FROM canned_response ORDER BY title, id")
    return [CannedResponse(r["id"], r["desk_id"], r["title"], r["body"]) for r in rows]


def _list_tags(conn: sqlite3.Connection) -> list[TopicTag]:
    rows = conn.execute("SELECT id, key, label_ja, label_en, enabled FROM topic_tag ORDER BY key")
    return [
        TopicTag(r["id"], r["key"], r["label_ja"], r["label_en"], bool(r["enabled"])) for r in rows
    ]


def _list_audit(conn: sqlite3.Connection, limit: int) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"], json.loads(r["detail"]))
        for r in rows
    ]


def _partner_id_of(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT id FROM partner WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise AppError(ErrorCode.UNKNOWN_PARTNER, f"no partner {key!r}")
    return int(row[0])


def _exists(what: str, key: str) -> AppError:
    return AppError(ErrorCode.ALREADY_EXISTS, f"{what} {key!r} exists already")


# Each updatable field: its statement, and how its value is stored. The key column is last.
_UPDATES: dict[str, dict[str, tuple[str, Callable[[sqlite3.Connection, Any], Any]]]] = {
    "desk": {
        "name": ("UPDATE desk SET name = ? WHERE key = ?", lambda c, v: v),
        "description": ("UPDATE desk SET description = ? WHERE key = ?", lambda c, v: v),
        "phones": ("UPDATE desk SET phones = ? WHERE key = ?", lambda c, v: json.dumps(list(v))),
        "hours": ("UPDATE desk SET hours = ? WHERE key = ?", lambda c, v: v),
        "closures": ("UPDATE desk SET closures = ? WHERE key = ?", lambda c, v: v),
    },
    "partner": {
        "name": ("UPDATE partner SET name = ? WHERE key = ?", lambda c, v: v),
        "origins": (
            "UPDATE partner SET origins = ? WHERE key = ?",
            lambda c, v: json.dumps(list(v)),
        ),
        "exit_url": ("UPDATE partner SET exit_url = ? WHERE key = ?", lambda c, v: v),
        "desk": (
            "UPDATE partner SET desk_id = ? WHERE key = ?",
            lambda c, v: None if v is None else desk_id_of(c, v),
        ),
        "lang": ("UPDATE partner SET lang = ? WHERE key = ?", lambda c, v: v),
        "enabled": ("UPDATE partner SET enabled = ? WHERE key = ?", lambda c, v: int(v)),
    },
    "campaign": {
        "name": ("UPDATE campaign SET name = ? WHERE code = ?", lambda c, v: v),
        "desk": (
            "UPDATE campaign SET desk_id = ? WHERE code = ?",
            lambda c, v: None if v is None else desk_id_of(c, v),
        ),
        "partner": (
            "UPDATE campaign SET partner_id = ? WHERE code = ?",
            lambda c, v: None if v is None else _partner_id_of(c, v),
        ),
        "enabled": ("UPDATE campaign SET enabled = ? WHERE code = ?", lambda c, v: int(v)),
    },
    "topic_tag": {
        "label_ja": ("UPDATE topic_tag SET label_ja = ? WHERE key = ?", lambda c, v: v),
        "label_en": ("UPDATE topic_tag SET label_en = ? WHERE key = ?", lambda c, v: v),
        "enabled": ("UPDATE topic_tag SET enabled = ? WHERE key = ?", lambda c, v: int(v)),
    },
}
_GETS: dict[str, tuple[str, Callable[[sqlite3.Row], Any]]] = {
    "desk": (
        "SELECT id, key, name, is_default, description, phones, hours, closures "
        "FROM desk WHERE key = ?",
        desk_of,
    ),
    "partner": (
        "SELECT id, key, name, origins, is_default, enabled, exit_url, desk_id, lang "
        "FROM partner WHERE key = ?",
        partner_of,
    ),
    "campaign": (
        "SELECT id, code, name, desk_id, partner_id, enabled FROM campaign WHERE code = ?",
        campaign_of,
    ),
    "topic_tag": (
        "SELECT id, key, label_ja, label_en, enabled FROM topic_tag WHERE key = ?",
        lambda r: TopicTag(r["id"], r["key"], r["label_ja"], r["label_en"], bool(r["enabled"])),
    ),
}


def _get(conn: sqlite3.Connection, table: str, key: str) -> Any:
    sql, make = _GETS[table]
    row = conn.execute(sql, (key,)).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no {table.replace('_', ' ')} {key!r}")
    return make(row)


def _update(
    conn: sqlite3.Connection, actor: Actor, table: str, key: str, fields: dict[str, Any]
) -> Any:
    _get(conn, table, key)
    statements = _UPDATES[table]
    for name, value in fields.items():
        sql, store_as = statements[name]
        conn.execute(sql, (store_as(conn, value), key))
    if (
        table == "partner"
        and fields.get("enabled") is False
        and conn.execute("SELECT is_default FROM partner WHERE key = ?", (key,)).fetchone()[0]
    ):
        raise AppError(ErrorCode.INVALID_PAYLOAD, "the default partner cannot be disabled")
    audit(conn, actor, f"{table}.update", f"{table}:{key}", fields)
    return _get(conn, table, key)


def _insert_desk(conn: sqlite3.Connection, actor: Actor, key: str, fields: dict[str, Any]) -> Desk:
    desk: Desk = _insert_keyed(conn, actor, "desk", key, fields)
    return desk


def _insert_partner(
    conn: sqlite3.Connection, actor: Actor, key: str, fields: dict[str, Any]
) -> Partner:
    partner: Partner = _insert_keyed(conn, actor, "partner", key, fields)
    return partner


_INSERT_KEYED = {
    "desk": "INSERT INTO desk (key, name, created_at) VALUES (?, ?, ?)",
    "partner": "INSERT INTO partner (key, name, created_at) VALUES (?, ?, ?)",
}


def _insert_keyed(
    conn: sqlite3.Connection, actor: Actor, table: str, key: str, fields: dict[str, Any]
) -> Any:
    """A desk or partner: the row with its name, then every other field as an update would
    set it, audited once as a creation."""
    try:
        conn.execute(_INSERT_KEYED[table], (key, fields["name"], now_iso()))
    except sqlite3.IntegrityError:
        raise _exists(table, key) from None
    for name, value in fields.items():
        if name != "name":
            sql, store_as = _UPDATES[table][name]
            conn.execute(sql, (store_as(conn, value), key))
    audit(conn, actor, f"{table}.create", f"{table}:{key}", fields)
    return _get(conn, table, key)


def _insert_campaign(
    conn: sqlite3.Connection, actor: Actor, code: str, fields: dict[str, Any]
) -> Campaign:
    desk, partner = fields.get("desk"), fields.get("partner")
    try:
        conn.execute(
            "INSERT INTO campaign (code, name, desk_id, partner_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                code,
                fields["name"],
                None if desk is None else desk_id_of(conn, desk),
                None if partner is None else _partner_id_of(conn, partner),
                now_iso(),
            ),
        )
    except sqlite3.IntegrityError:
        raise _exists("campaign", code) from None
    audit(conn, actor, "campaign.create", f"campaign:{code}", fields)
    campaign: Campaign = _get(conn, "campaign", code)
    return campaign


def _replace_emergency_contacts(
    conn: sqlite3.Connection, actor: Actor, contacts: list[EmergencyContact]
) -> None:
    conn.execute("DELETE FROM emergency_contact")
    for position, c in enumerate(contacts, start=1):
        conn.execute(
            "INSERT INTO emergency_contact (position, name, number, note_ja, note_en)"
            " VALUES (?, ?, ?, ?, ?)",
            (position, c.name, c.number, c.note_ja, c.note_en),
        )
    detail = {"contacts": [f"{c.name} {c.number}" for c in contacts]}
    audit(conn, actor, "emergency_contacts.replace", "emergency_contacts", detail)


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
        raise _exists("topic tag", key) from None
    audit(conn, actor, "topic_tag.create", f"topic_tag:{key}", {"label_ja": label_ja})
    tag: TopicTag = _get(conn, "topic_tag", key)
    return tag
