"""Desks, partners, campaigns and the emergency contacts: what visitors reach and see.

The input Structs are also the admin API's request bodies; the admin pages and the command line
fill them from their forms and arguments. A field left out (None) is left as it is.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from service.actions.admin import Admin, changes, given
from service.domain.checks import (
    check_campaign_fields,
    check_contacts,
    check_desk_fields,
    check_key,
    check_partner_fields,
)
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.domain.hours import WARD_HOURS
from service.errors import AppError, ErrorCode

Text = Annotated[str, msgspec.Meta(max_length=2000)]


class DeskCreate(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    description: Text = ""
    name_en: str = ""
    """The name on English pages."""
    name_kana: str = ""
    """The name's reading in kana (furigana on やさしい日本語 pages)."""
    phones: list[str] = []
    hours: str = WARD_HOURS
    closures: str | None = None
    """Left out: the year-end holidays (12/29-01/03); ``""``: none."""
    practice: bool = False
    """A practice desk, for training; fixed once the desk is made (``DeskUpdate`` has no such
    field), so a desk's past conversations never change sides."""


class DeskUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    description: Text | None = None
    name_en: str | None = None
    name_kana: str | None = None
    phones: list[str] | None = None
    hours: str | None = None
    closures: str | None = None


class PartnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    origins: list[str] = []
    exit_url: str | None = None
    desk: str | None = None
    lang: str = "ja"


class PartnerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``exit_url: ""`` and ``desk: ""`` go back to the defaults."""

    name: str | None = None
    origins: list[str] | None = None
    exit_url: str | None = None
    desk: str | None = None
    lang: str | None = None
    enabled: bool | None = None


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    name: str
    desk: str | None = None
    partner: str | None = None


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``desk: ""`` and ``partner: ""``: none; ``enabled: false`` ends the campaign."""

    name: str | None = None
    desk: str | None = None
    partner: str | None = None
    enabled: bool | None = None


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    number: str
    note_ja: str = ""
    note_en: str = ""
    name_en: str = ""
    """The name on English pages."""
    name_kana: str = ""
    """The name's reading in kana (furigana on やさしい日本語 pages)."""
    note_easy: str = ""
    """The note in やさしい日本語, in kana."""


class ContactsReplace(msgspec.Struct, forbid_unknown_fields=True):
    contacts: list[ContactIn]


async def do_add_desk(admin: Admin, data: DeskCreate) -> Desk:
    fields = check_desk_fields(**given(data, but="key"))
    desk = await admin.store.insert_desk(admin.actor, check_key(data.key), fields)
    await admin.reload_catalog()
    return desk


async def do_update_desk(admin: Admin, key: str, data: DeskUpdate) -> Desk:
    # Hours are checked with the closures they will run with: read the stored ones.
    current = next((d for d in await admin.store.list_desks() if d.key == key), None)
    if current is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no desk {key!r}")
    fields = changes(check_desk_fields(**given(data), current=current))
    desk = await admin.store.update_desk(admin.actor, key, fields)
    await admin.reload_catalog()
    return desk


async def do_add_partner(admin: Admin, data: PartnerCreate) -> Partner:
    fields = check_partner_fields(**given(data, but="key"))
    await _no_practice_desk(admin, fields)
    partner = await admin.store.insert_partner(admin.actor, check_key(data.key), fields)
    await admin.reload_catalog()
    return partner


async def do_update_partner(admin: Admin, key: str, data: PartnerUpdate) -> Partner:
    fields = changes(check_partner_fields(**given(data)))
    await _no_practice_desk(admin, fields)
    partner = await admin.store.update_partner(admin.actor, key, fields)
    await admin.reload_catalog()
    return partner


async def do_add_campaign(admin: Admin, data: CampaignCreate) -> Campaign:
    fields = check_campaign_fields(**given(data, but="code"))
    await _no_practice_desk(admin, fields)
    code = check_key(data.code, "code")
    campaign = await admin.store.insert_campaign(admin.actor, code, fields)
    await admin.reload_catalog()
    return campaign


async def do_update_campaign(admin: Admin, code: str, data: CampaignUpdate) -> Campaign:
    fields = changes(check_campaign_fields(**given(data)))
    await _no_practice_desk(admin, fields)
    campaign = await admin.store.update_campaign(admin.actor, code, fields)
    await admin.reload_catalog()
    return campaign


async def _no_practice_desk(admin: Admin, fields: dict[str, Any]) -> None:
    """Partners and campaigns send the public: never to a practice desk."""
    key = fields.get("desk")
    if key and any(d.key == key and d.practice for d in await admin.store.list_desks()):
        raise AppError(ErrorCode.INVALID_PAYLOAD, "a practice desk is not for the public")


async def do_replace_contacts(admin: Admin, data: ContactsReplace) -> list[EmergencyContact]:
    """The whole list at once: its order is the order the widget shows."""
    contacts = check_contacts(
        (c.name, c.number, c.note_ja, c.note_en, c.name_en, c.name_kana, c.note_easy)
        for c in data.contacts
    )
    await admin.store.replace_emergency_contacts(admin.actor, contacts)
    await admin.reload_catalog()
    return contacts
