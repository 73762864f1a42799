"""The public JSON API: what the widget asks before a visitor starts (no cookie, no login)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.response import Response

from service.auth import SESSION_COOKIE, user_of_session
from service.clock import iso, utcnow
from service.context import Ctx
from service.domain.directory import Desk, EmergencyContact
from service.domain.hours import Hours, hours_text, next_open_at, open_now
from service.domain.readings import desk_name, line_name, line_note
from service.i18n import pick_lang

# Open or closed changes by the minute; a short cache would show a desk open after it closed.
NO_STORE = {"Cache-Control": "no-store"}


def desk_payload(desk: Desk, hours: Hours, at: datetime, lang: str) -> dict[str, Any]:
    opens = next_open_at(hours, at)
    return {
        "key": desk.key,
        # In the language asked for; ``name_ja`` stays the same whatever is asked, for a
        # client that keys on it or shows both.
        "name": desk_name(desk, lang).text,
        "name_ja": desk.name,
        "description": desk.description,
        "default": desk.is_default,
        "open_now": open_now(hours, at),
        "next_open_at": iso(opens) if opens else None,
        "hours_text": hours_text(hours, lang),
        "phones": list(desk.phones),
        "practice": desk.practice,
    }


def contact_payload(contact: EmergencyContact, lang: str) -> dict[str, Any]:
    return {
        "name": line_name(contact, lang).text,
        "name_ja": contact.name,
        "number": contact.number,
        "tel": contact.tel,
        "note": line_note(contact, lang),
    }


@get("/api/v1/desks", tags=["public"])
async def list_desks(
    request: Request[Any, Any, Any], ctx: Ctx, lang: str | None = None
) -> Response[dict[str, Any]]:
    """Every desk with whether it takes chats now, when it next opens (UTC, ISO 8601), its
    hours as text and its phone numbers; and the emergency lines to show in any case."""
    chosen, at, catalog = pick_lang(lang), utcnow(), ctx.catalog
    # Practice desks (``practice: true``) only for a logged-in staff member. The cookie is read
    # from the request, not declared: the public schema has no business naming it.
    session = request.cookies.get(SESSION_COOKIE)
    staff = bool(session) and await user_of_session(ctx.store, ctx.settings, session) is not None
    body = {
        "desks": [
            desk_payload(desk, catalog.hours[key], at, chosen)
            for key, desk in catalog.desks.items()
            if staff or not desk.practice
        ],
        "emergency_contacts": [contact_payload(c, chosen) for c in catalog.emergency_contacts],
    }
    return Response(body, headers=NO_STORE)
