"""The SQL of what admins set up: desks, partners, campaigns, emergency contacts, and the audit
log that records every change (accounts, canned responses and topic tags: ``admin_staff.py``).

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
from service.db.admin_staff import StaffQueries
from service.db.audit_log import audit
from service.db.rows import (
    campaign_of,
    desk_id_of,
    desk_of,
    partner_of,
)
from service.domain.audit import Actor, AuditEntry
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.errors import AppError, ErrorCode

T = TypeVar("T")

DEFAULT_DESK_NAME = "一般相談（男女平等推進センター）"
DEFAULT_DESK_NAME_EN = "General consultation (Gender Equality Centre)"
DEFAULT_DESK_NAME_KANA = "いっぱん そうだん（だんじょ びょうどう すいしん センター）"


class AdminQueries(StaffQueries):
    """Mixed into the store, which provides ``_read`` and ``_write``."""

    async def ensure_defaults(self, default_hours: str) -> None:
        """The default desk, the ward's own partner and the demo partner, once."""
        await self._write(_ensure_defaults, default_hours)

    # -- reads, for the catalog and the admin pages ---------------------------------------------

    async def list_desks(self) -> list[Desk]:
        sql = (
            "SELECT id, key, name, is_default, description, phones, hours, closures, name_en, "
            "name_kana, practice "
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


# -- synchronous SQL ---------------------------------------------------------------------------


def _ensure_defaults(conn: sqlite3.Connection, default_hours: str) -> None:
    now = now_iso()
    conn.execute(
        "INSERT INTO desk (key, name, name_en, name_kana, is_default, hours, created_at) "
        "SELECT 'general', ?, ?, ?, 1, ?, ? WHERE NOT EXISTS (SELECT 1 FROM desk)",
        (DEFAULT_DESK_NAME, DEFAULT_DESK_NAME_EN, DEFAULT_DESK_NAME_KANA, default_hours, now),
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
        "SELECT name, number, note_ja, note_en, name_en, name_kana, note_easy "
        "FROM emergency_contact "
        "ORDER BY position, id"
    )
    return [
        EmergencyContact(
            r["name"],
            r["number"],
            r["note_ja"],
            r["note_en"],
            r["name_en"],
            r["name_kana"],
            r["note_easy"],
        )
        for r in rows
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
        "name_en": ("UPDATE desk SET name_en = ? WHERE key = ?", lambda c, v: v),
        "name_kana": ("UPDATE desk SET name_kana = ? WHERE key = ?", lambda c, v: v),
        "phones": ("UPDATE desk SET phones = ? WHERE key = ?", lambda c, v: json.dumps(list(v))),
        "hours": ("UPDATE desk SET hours = ? WHERE key = ?", lambda c, v: v),
        "closures": ("UPDATE desk SET closures = ? WHERE key = ?", lambda c, v: v),
        "practice": ("UPDATE desk SET practice = ? WHERE key = ?", lambda c, v: int(v)),
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
}
_GETS: dict[str, tuple[str, Callable[[sqlite3.Row], Any]]] = {
    "desk": (
        "SELECT id, key, name, is_default, description, phones, hours, closures, name_en, "
        "name_kana, practice "
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
            "INSERT INTO emergency_contact"
            " (position, name, number, note_ja, note_en, name_en, name_kana, note_easy)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (position, c.name, c.number, c.note_ja, c.note_en, c.name_en, c.name_kana, c.note_easy),
        )
    detail = {"contacts": [f"{c.name} {c.number}" for c in contacts]}
    audit(conn, actor, "emergency_contacts.replace", "emergency_contacts", detail)
