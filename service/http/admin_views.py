"""How admin objects look in the admin API and on the admin pages. Pure functions."""

from __future__ import annotations

import io
from typing import Any

import segno

from service.catalog import Catalog
from service.domain.accounts import User
from service.domain.audit import AuditEntry
from service.domain.checks import ALL_DESKS
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.domain.hours import hours_text
from service.domain.replies import CannedResponse, TopicTag


def snippet(public_url: str, partner_key: str) -> str:
    """What a partner pastes into their pages."""
    return f'<script src="{public_url}/widget.js" data-partner="{partner_key}" async></script>'


def campaign_url(public_url: str, code: str) -> str:
    """What the poster's QR code holds."""
    return f"{public_url}/c/{code}"


def qr_image(url: str, kind: str) -> bytes:
    """The QR code of ``url`` as ``svg`` or ``png``. Level M survives a crease or a smudge on a
    printed poster and stays easy to scan; the border of 4 modules is the standard's quiet zone."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind=kind, scale=10, border=4)
    return buffer.getvalue()


def desk_json(desk: Desk, catalog: Catalog, lang: str = "ja") -> dict[str, Any]:
    """``hours_text`` reads the hours in ``lang``, the page's language (Japanese in the API)."""
    hours = catalog.hours.get(desk.key)
    return {
        "key": desk.key,
        "name": desk.name,
        "name_en": desk.name_en,
        "name_kana": desk.name_kana,
        "description": desk.description,
        "default": desk.is_default,
        "practice": desk.practice,
        "phones": list(desk.phones),
        "hours": desk.hours,
        "closures": desk.closures,
        "hours_text": hours_text(hours, lang) if hours else "",
    }


def partner_json(partner: Partner, catalog: Catalog, public_url: str) -> dict[str, Any]:
    desk = catalog.desk_by_id(partner.desk_id)
    return {
        "key": partner.key,
        "name": partner.name,
        "origins": list(partner.origins),
        "exit_url": partner.exit_url,
        "desk": desk.key if desk else None,
        "lang": partner.lang,
        "default": partner.is_default,
        "enabled": partner.enabled,
        "snippet": snippet(public_url, partner.key),
    }


def campaign_json(campaign: Campaign, catalog: Catalog, public_url: str) -> dict[str, Any]:
    desk = catalog.desk_by_id(campaign.desk_id)
    partner = catalog.partner_by_id(campaign.partner_id)
    return {
        "code": campaign.code,
        "name": campaign.name,
        "desk": desk.key if desk else None,
        "partner": partner.key if partner else None,
        "enabled": campaign.enabled,
        "url": campaign_url(public_url, campaign.code),
    }


def user_json(user: User, catalog: Catalog) -> dict[str, Any]:
    """``desks`` as an update takes it: ``"all"`` or the list of desk keys."""
    desks: str | list[str] = ALL_DESKS
    if user.desk_ids is not None:
        desks = sorted(d.key for d in catalog.desks.values() if d.id in user.desk_ids)
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "active": user.active,
        "desks": desks,
    }


def canned_json(canned: CannedResponse, catalog: Catalog) -> dict[str, Any]:
    desk = catalog.desk_by_id(canned.desk_id)
    return {
        "id": canned.id,
        "desk": desk.key if desk else None,
        "title": canned.title,
        "body": canned.body,
    }


def tag_json(tag: TopicTag) -> dict[str, Any]:
    return {
        "key": tag.key,
        "label_ja": tag.label_ja,
        "label_en": tag.label_en,
        "enabled": tag.enabled,
    }


def contact_json(contact: EmergencyContact) -> dict[str, Any]:
    return {
        "name": contact.name,
        "number": contact.number,
        "note_ja": contact.note_ja,
        "note_en": contact.note_en,
        "name_en": contact.name_en,
        "name_kana": contact.name_kana,
        "note_easy": contact.note_easy,
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }
