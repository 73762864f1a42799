"""The desk a waiting visitor is with, as their chat shows it: sent with every status that may
follow a change of desk (``start``, a reconnect, a transfer), so that the note that nobody is
online names the phones of the desk the visitor now waits at, not of the one the page opened
with."""

from __future__ import annotations

from typing import Any

from service.context import Context
from service.domain.hours import hours_text
from service.domain.readings import EASY, ENGLISH, desk_name


def visitor_desk(ctx: Context, desk_id: int, lang: str) -> dict[str, Any] | None:
    """``{"key", "name", "name_shown", "hours", "phones": [{"number", "tel"}]}`` in the
    visitor's language, or None for a desk no longer in the catalog. ``name`` is plain text (a
    name's reading stands for it); ``name_shown`` is ``{"text", "reading", "lang"}``, for a
    client that draws the name as the server's pages do (furigana, ``lang``)."""
    catalog = ctx.catalog
    desk = catalog.desk_by_id(desk_id)
    if desk is None:
        return None
    name = desk_name(desk, lang)
    return {
        "key": desk.key,
        "name": name.plain,
        "name_shown": {"text": name.text, "reading": name.reading, "lang": name.lang},
        "hours": hours_text(catalog.hours[desk.key], lang if lang in (ENGLISH, EASY) else "ja"),
        "phones": [{"number": p, "tel": "tel:" + p.replace("-", "")} for p in desk.phones],
    }
