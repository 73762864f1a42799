"""The public JSON API: what the widget asks before a visitor starts (no cookie, no login)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import get
from litestar.response import Response

from service.clock import iso, utcnow
from service.context import Ctx
from service.domain.directory import Desk, EmergencyContact
from service.domain.hours import Hours, hours_text, next_open_at, open_now
from service.i18n import pick_lang

# Open or closed changes by the minute; a short cache would show a desk open after it closed.
NO_STORE = {"Cache-Control": "no-store"}


def desk_payload(desk: Desk, hours: Hours, at: datetime, lang: str) -> dict[str, Any]:
    opens = next_open_at(hours, at)
    return {
        "key": desk.key,
        "name": desk.name,
        "description": desk.description,
        "default": desk.is_default,
        "open_now": open_now(hours, at),
        "next_open_at": iso(opens) if opens else None,
        "hours_text": hours_text(hours, lang),
        "phones": list(desk.phones),
    }


def contact_payload(contact: EmergencyContact, lang: str) -> dict[str, Any]:
    return {
        "name": contact.name,
        "number": contact.number,
        "tel": contact.tel,
        "note": contact.note_en if lang == "en" else contact.note_ja,
    }


@get("/api/v1/desks", tags=["public"])
async def list_desks(ctx: Ctx, lang: str | None = None) -> Response[dict[str, Any]]:
    """Every desk with whether it takes chats now, when it next opens (UTC, ISO 8601), its
    hours as text and its phone numbers; and the emergency lines to show in any case."""
    chosen, at, catalog = pick_lang(lang), utcnow(), ctx.catalog
    body = {
        "desks": [
            desk_payload(desk, catalog.hours[key], at, chosen)
            for key, desk in catalog.desks.items()
        ],
        "emergency_contacts": [contact_payload(c, chosen) for c in catalog.emergency_contacts],
    }
    return Response(body, headers=NO_STORE)
