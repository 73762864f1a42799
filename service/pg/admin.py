"""The SQL of what admins set up (PostgreSQL): desks, partners, campaigns, emergency contacts,
and the audit log that records every change (accounts, canned responses and topic tags:
``admin_staff.py``). The same statements, answers and refusals as ``service/db/admin.py``.

Each change runs in one transaction (``PgStore._write``) together with its audit row, so a
change is never stored without its record, nor a record without its change. Updates take a
dict of fields; each field has its own constant statement, so no SQL is ever assembled from
input. Unlike SQLite's single writer, several nodes may write at once: where a change reads
what it then replaces, it first locks the table it replaces (``ensure_defaults``, the
emergency contacts).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import asyncpg

from service.clock import now_iso
from service.db.admin import DEFAULT_DESK_NAME, DEFAULT_DESK_NAME_EN, DEFAULT_DESK_NAME_KANA
from service.domain.audit import Actor, AuditEntry
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.errors import AppError, ErrorCode
from service.pg.admin_staff import StaffQueries
from service.pg.audit_log import audit
from service.pg.rows import campaign_of, desk_id_of, desk_of, partner_of
from service.pg.sealing import Db

T = TypeVar("T")

DESK_COLUMNS = (
    "id, key, name, is_default, description, phones, hours, closures, name_en, name_kana, practice"
)
PARTNER_COLUMNS = "id, key, name, origins, is_default, enabled, exit_url, desk_id, lang"
CAMPAIGN_COLUMNS = "id, code, name, desk_id, partner_id, enabled"


class AdminQueries(StaffQueries):
    """Mixed into :class:`service.pg.store.PgStore`, which provides ``_read`` and ``_write``."""

    async def ensure_defaults(self, default_hours: str) -> None:
        """The default desk, the ward's own partner and the demo partner, once."""
        await self._write(_ensure_defaults, default_hours)

    # -- reads, for the catalog and the admin pages ---------------------------------------------

    async def list_desks(self) -> list[Desk]:
        sql = f"SELECT {DESK_COLUMNS} FROM desk ORDER BY id"  # noqa: S608 (constant columns)
        return await self._read(_list, sql, desk_of)

    async def list_partners(self) -> list[Partner]:
        sql = f"SELECT {PARTNER_COLUMNS} FROM partner ORDER BY id"  # noqa: S608 (constants)
        return await self._read(_list, sql, partner_of)

    async def list_campaigns(self) -> list[Campaign]:
        sql = f"SELECT {CAMPAIGN_COLUMNS} FROM campaign ORDER BY id"  # noqa: S608 (constants)
        return await self._read(_list, sql, campaign_of)

    async def list_emergency_contacts(self) -> list[EmergencyContact]:
        return await self._read(_list_emergency_contacts)

    async def list_audit(self, limit: int = 200) -> list[AuditEntry]:
        """The latest changes first."""
        return await self._read(_list_audit, limit)

    # -- changes: each with its audit row ----------------------------------------------------

    async def insert_desk(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Desk:
        desk: Desk = await self._write(_insert_keyed, actor, "desk", key, dict(fields))
        return desk

    async def update_desk(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Desk:
        desk: Desk = await self._write(_update, actor, "desk", key, dict(fields))
        return desk

    async def insert_partner(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Partner:
        partner: Partner = await self._write(_insert_keyed, actor, "partner", key, dict(fields))
        return partner

    async def update_partner(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Partner:
        partner: Partner = await self._write(_update, actor, "partner", key, dict(fields))
        return partner

    async def insert_campaign(self, actor: Actor, code: str, fields: Mapping[str, Any]) -> Campaign:
        return await self._write(_insert_campaign, actor, code, dict(fields))

    async def update_campaign(self, actor: Actor, code: str, fields: Mapping[str, Any]) -> Campaign:
        campaign: Campaign = await self._write(_update, actor, "campaign", code, dict(fields))
        return campaign

    async def replace_emergency_contacts(
        self, actor: Actor, contacts: list[EmergencyContact]
    ) -> None:
        await self._write(_replace_emergency_contacts, actor, contacts)


# -- the SQL -----------------------------------------------------------------------------------


async def _ensure_defaults(db: Db, default_hours: str) -> None:
    # Every node runs this at start: without the lock, two starting at once on a new database
    # would both see no desk and the second would fail on the first one's key.
    await db.conn.execute("LOCK TABLE desk, partner IN SHARE ROW EXCLUSIVE MODE")
    now = now_iso()
    await db.conn.execute(
        "INSERT INTO desk (key, name, name_en, name_kana, is_default, hours, created_at) "
        "SELECT 'general', $1, $4, $5, 1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM desk)",
        DEFAULT_DESK_NAME,
        default_hours,
        now,
        DEFAULT_DESK_NAME_EN,
        DEFAULT_DESK_NAME_KANA,
    )
    await db.conn.execute(
        "INSERT INTO partner (key, name, origins, is_default, created_at) "
        "SELECT 'ward', '区ホームページ', '[]', 1, $1 "
        "WHERE NOT EXISTS (SELECT 1 FROM partner WHERE is_default = 1)",
        now,
    )
    # The demo page is served from our own origin, which every partner allows implicitly.
    await db.conn.execute(
        "INSERT INTO partner (key, name, origins, is_default, created_at) "
        "VALUES ('demo', 'デモページ', '[]', 0, $1) ON CONFLICT (key) DO NOTHING",
        now,
    )


async def _list(db: Db, sql: str, make: Callable[[Any], T]) -> list[T]:
    return [make(row) for row in await db.conn.fetch(sql)]


async def _list_emergency_contacts(db: Db) -> list[EmergencyContact]:
    rows = await db.conn.fetch(
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


async def _list_audit(db: Db, limit: int) -> list[AuditEntry]:
    rows = await db.conn.fetch(
        "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        limit,
    )
    return [
        AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"], json.loads(r["detail"]))
        for r in rows
    ]


async def _partner_id_of(db: Db, key: str) -> int:
    partner_id = await db.conn.fetchval("SELECT id FROM partner WHERE key = $1", key)
    if partner_id is None:
        raise AppError(ErrorCode.UNKNOWN_PARTNER, f"no partner {key!r}")
    return int(partner_id)


def _exists(what: str, key: str) -> AppError:
    return AppError(ErrorCode.ALREADY_EXISTS, f"{what} {key!r} exists already")


async def _same(db: Db, value: Any) -> Any:
    return value


async def _json_list(db: Db, value: Any) -> str:
    return json.dumps(list(value))


async def _flag(db: Db, value: Any) -> int:
    return int(value)


async def _desk_or_none(db: Db, key: str | None) -> int | None:
    return None if key is None else await desk_id_of(db, key)


async def _partner_or_none(db: Db, key: str | None) -> int | None:
    return None if key is None else await _partner_id_of(db, key)


Store = Callable[[Db, Any], Awaitable[Any]]
"""How a field's value is stored (a desk key becomes its id, a flag 0 or 1)."""

# Each updatable field: its statement, and how its value is stored. The key is $2.
_UPDATES: dict[str, dict[str, tuple[str, Store]]] = {
    "desk": {
        "name": ("UPDATE desk SET name = $1 WHERE key = $2", _same),
        "description": ("UPDATE desk SET description = $1 WHERE key = $2", _same),
        "name_en": ("UPDATE desk SET name_en = $1 WHERE key = $2", _same),
        "name_kana": ("UPDATE desk SET name_kana = $1 WHERE key = $2", _same),
        "phones": ("UPDATE desk SET phones = $1 WHERE key = $2", _json_list),
        "hours": ("UPDATE desk SET hours = $1 WHERE key = $2", _same),
        "closures": ("UPDATE desk SET closures = $1 WHERE key = $2", _same),
        "practice": ("UPDATE desk SET practice = $1 WHERE key = $2", _flag),
    },
    "partner": {
        "name": ("UPDATE partner SET name = $1 WHERE key = $2", _same),
        "origins": ("UPDATE partner SET origins = $1 WHERE key = $2", _json_list),
        "exit_url": ("UPDATE partner SET exit_url = $1 WHERE key = $2", _same),
        "desk": ("UPDATE partner SET desk_id = $1 WHERE key = $2", _desk_or_none),
        "lang": ("UPDATE partner SET lang = $1 WHERE key = $2", _same),
        "enabled": ("UPDATE partner SET enabled = $1 WHERE key = $2", _flag),
    },
    "campaign": {
        "name": ("UPDATE campaign SET name = $1 WHERE code = $2", _same),
        "desk": ("UPDATE campaign SET desk_id = $1 WHERE code = $2", _desk_or_none),
        "partner": ("UPDATE campaign SET partner_id = $1 WHERE code = $2", _partner_or_none),
        "enabled": ("UPDATE campaign SET enabled = $1 WHERE code = $2", _flag),
    },
}
_GETS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "desk": (f"SELECT {DESK_COLUMNS} FROM desk WHERE key = $1", desk_of),  # noqa: S608
    "partner": (f"SELECT {PARTNER_COLUMNS} FROM partner WHERE key = $1", partner_of),  # noqa: S608
    "campaign": (f"SELECT {CAMPAIGN_COLUMNS} FROM campaign WHERE code = $1", campaign_of),  # noqa: S608
}


async def _get(db: Db, table: str, key: str) -> Any:
    sql, make = _GETS[table]
    row = await db.conn.fetchrow(sql, key)
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no {table.replace('_', ' ')} {key!r}")
    return make(row)


async def _set_fields(db: Db, table: str, key: str, fields: dict[str, Any]) -> None:
    statements = _UPDATES[table]
    for name, value in fields.items():
        sql, store_as = statements[name]
        await db.conn.execute(sql, await store_as(db, value), key)


async def _update(db: Db, actor: Actor, table: str, key: str, fields: dict[str, Any]) -> Any:
    await _get(db, table, key)
    await _set_fields(db, table, key, fields)
    if (
        table == "partner"
        and fields.get("enabled") is False
        and await db.conn.fetchval("SELECT is_default FROM partner WHERE key = $1", key)
    ):
        raise AppError(ErrorCode.INVALID_PAYLOAD, "the default partner cannot be disabled")
    await audit(db, actor, f"{table}.update", f"{table}:{key}", fields)
    return await _get(db, table, key)


_INSERT_KEYED = {
    "desk": "INSERT INTO desk (key, name, created_at) VALUES ($1, $2, $3)",
    "partner": "INSERT INTO partner (key, name, created_at) VALUES ($1, $2, $3)",
}


async def _insert_keyed(db: Db, actor: Actor, table: str, key: str, fields: dict[str, Any]) -> Any:
    """A desk or partner: the row with its name, then every other field as an update would
    set it, audited once as a creation."""
    try:
        await db.conn.execute(_INSERT_KEYED[table], key, fields["name"], now_iso())
    except asyncpg.UniqueViolationError:
        raise _exists(table, key) from None
    others = {name: value for name, value in fields.items() if name != "name"}
    await _set_fields(db, table, key, others)
    await audit(db, actor, f"{table}.create", f"{table}:{key}", fields)
    return await _get(db, table, key)


async def _insert_campaign(db: Db, actor: Actor, code: str, fields: dict[str, Any]) -> Campaign:
    desk_id = await _desk_or_none(db, fields.get("desk"))
    partner_id = await _partner_or_none(db, fields.get("partner"))
    try:
        await db.conn.execute(
            "INSERT INTO campaign (code, name, desk_id, partner_id, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            code,
            fields["name"],
            desk_id,
            partner_id,
            now_iso(),
        )
    except asyncpg.UniqueViolationError:
        raise _exists("campaign", code) from None
    await audit(db, actor, "campaign.create", f"campaign:{code}", fields)
    campaign: Campaign = await _get(db, "campaign", code)
    return campaign


async def _replace_emergency_contacts(
    db: Db, actor: Actor, contacts: list[EmergencyContact]
) -> None:
    # Two replacements at once must leave one list, not both: the second waits for the first's
    # COMMIT, so that its DELETE sees (and removes) the rows the first inserted.
    await db.conn.execute("LOCK TABLE emergency_contact IN SHARE ROW EXCLUSIVE MODE")
    await db.conn.execute("DELETE FROM emergency_contact")
    await db.conn.executemany(
        "INSERT INTO emergency_contact"
        " (position, name, number, note_ja, note_en, name_en, name_kana, note_easy)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (position, c.name, c.number, c.note_ja, c.note_en, c.name_en, c.name_kana, c.note_easy)
            for position, c in enumerate(contacts, start=1)
        ],
    )
    detail = {"contacts": [f"{c.name} {c.number}" for c in contacts]}
    await audit(db, actor, "emergency_contacts.replace", "emergency_contacts", detail)
