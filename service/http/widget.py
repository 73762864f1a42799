"""What partner sites load: the chat page in its iframe, the "staying safe online" page and the
demo page (the loader script itself is served with the other built files, http/assets.py).

The chat page's first screen is rendered here, not by its script: who answers, confidentiality
and its limits, the desk's hours (or, out of hours, when it opens and its phones), the 24-hour
lines and the privacy notice all show at once, without a request of the script's own, and still
show when JavaScript is off. The words come from the widget's catalogues
(``widget/src/i18n/LANG.json``), the same files the scripts are built with, so a translator adds
a language to the whole visitor side by adding one file.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.response import Template
from markupsafe import Markup

from service.actions.practice import practice_desk
from service.auth import SESSION_COOKIE
from service.catalog import Catalog
from service.clock import iso, utcnow
from service.config import PROJECT_DIR
from service.context import Ctx
from service.domain.directory import Desk, Partner, exact_origins
from service.domain.hours import DAY_EASY, TOKYO, hours_text, next_open_at, open_now
from service.domain.readings import EASY, ENGLISH, Shown, desk_name, line_name, line_note
from service.domain.replies import POSTER_TOPICS
from service.http.headers import csp
from service.i18n import TEXT, pick_lang

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CATALOGUE_DIR = PROJECT_DIR / "widget" / "src" / "i18n"
# The neutral page quick exit opens when a partner sets none; the same as widget/src/exit.js.
DEFAULT_EXIT_URL = "https://weather.yahoo.co.jp/weather/"
_DAYS_JA = "月火水木金土日"
_DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.cache
def catalogues() -> dict[str, dict[str, Any]]:
    """Every catalogue by language code (its file name), read once."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(CATALOGUE_DIR.glob("*.json"))
    }


def widget_lang(requested: str | None) -> str:
    """A language with a catalogue: as asked, else its primary language, else Japanese."""
    found = catalogues()
    wanted = (requested or "").lower()
    if wanted in found:
        return wanted
    primary = wanted.split("-")[0]
    return primary if primary in found else "ja"


def section(lang: str, name: str) -> dict[str, Any]:
    """One section of a catalogue; keys a translation lacks come from Japanese."""
    found = catalogues()
    return {**found["ja"][name], **found[lang].get(name, {})}


def when_text(moment: datetime, lang: str) -> str:
    local = moment.astimezone(TOKYO)
    clock = f"{local.hour}:{local.minute:02d}"
    if lang == "en":
        day = _DAYS_EN[local.weekday()]
        return f"{day} {local.day} {_MONTHS_EN[local.month - 1]}, {clock}"
    if lang == EASY:
        return f"{local.month}がつ{local.day}にち（{DAY_EASY[local.weekday()]}）{clock}"
    return f"{local.month}月{local.day}日（{_DAYS_JA[local.weekday()]}）{clock}"


def language_links(lang: str, query: dict[str, str], path: str) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "name": catalogue["language"],
            "html_lang": catalogue.get("html_lang", code),
            "url": f"{path}?{urlencode({**query, 'lang': code})}",
            "current": code == lang,
        }
        for code, catalogue in catalogues().items()
    ]


def drawn(shown: Shown) -> Markup:
    """A name as ``domain/readings.py`` chose it: with its reading over it as furigana, or
    marked with its language when that is not the page's."""
    if shown.reading:
        return Markup("<ruby>{}<rt>{}</rt></ruby>").format(shown.text, shown.reading)
    if shown.lang:
        return Markup('<span lang="{}">{}</span>').format(shown.lang, shown.text)
    return Markup.escape(shown.text)


def contacts(catalog: Catalog, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "name": drawn(line_name(c, lang)),
            "number": c.number,
            "tel": c.tel,
            "note": line_note(c, lang),
        }
        for c in catalog.emergency_contacts
    ]


def desk_view(catalog: Catalog, desk: Desk, lang: str, page: dict[str, Any]) -> dict[str, Any]:
    at, hours = utcnow(), catalog.hours[desk.key]
    opens = next_open_at(hours, at)
    text_lang = lang if lang in (ENGLISH, EASY) else "ja"
    return {
        "key": desk.key,
        "name": drawn(desk_name(desk, lang)),
        "open": open_now(hours, at),
        "hours": hours_text(hours, text_lang),
        "next_open_at": iso(opens) if opens else "",
        "next_open": page["next_open"].replace("{when}", when_text(opens, text_lang))
        if opens
        else "",
        "phones": [{"number": p, "tel": "tel:" + p.replace("-", "")} for p in desk.phones],
    }


def chat_context(
    catalog: Catalog, partner: Partner, desk: Desk, lang: str, query: dict[str, str]
) -> dict[str, Any]:
    page = section(lang, "page")
    return {
        "t": page,
        "lang": catalogues()[lang].get("html_lang", lang),
        "chat_lang": lang,
        "partner": partner.key,
        "query": query,
        "exit_url": partner.exit_url or DEFAULT_EXIT_URL,
        "desk": desk_view(catalog, desk, lang, page),
        "who": Markup.escape(page["who"]).replace("{desk}", drawn(desk_name(desk, lang))),
        "contacts": contacts(catalog, lang),
        "languages": language_links(lang, query, "/chat"),
        "safety_url": f"/safety?{urlencode({'lang': lang})}",
        "loader": section(lang, "loader"),
        "topics": POSTER_TOPICS,
    }


def dead_end(
    catalog: Catalog,
    *,
    kind: str,
    lang: str,
    desk: Desk,
    path: str,
    query: dict[str, str],
    exit_url: str,
    frame_ancestors: str,
    chat_url: str = "",
) -> Template:
    """The page where a chat cannot open (``kind``: ``partner`` or ``campaign``): never a bare
    line, but the quick exit, the desk's hours and phones, the 24-hour lines and a language
    switch. 404, so that nobody mistakes it for a working chat."""
    page = section(lang, "page")
    words = section(lang, "dead_end")
    return Template(
        "widget/unavailable.html",
        context={
            "t": page,
            "d": {
                "title": words[f"{kind}_title"],
                "heading": words[f"{kind}_heading"],
                "body": words[f"{kind}_body"],
                "chat_link": words["chat_link"],
            },
            "lang": catalogues()[lang].get("html_lang", lang),
            "chat_lang": lang,
            "exit_url": exit_url,
            "desk": desk_view(catalog, desk, lang, page),
            "contacts": contacts(catalog, lang),
            "languages": language_links(lang, query, path),
            "safety_url": f"/safety?{urlencode({'lang': lang})}",
            "loader": section(lang, "loader"),
            "chat_url": chat_url,
            "paren": (" (", ")") if lang == ENGLISH else ("（", "）"),
        },
        status_code=404,
        headers={**NO_STORE, "Content-Security-Policy": csp(frame_ancestors)},
    )


class WidgetController(Controller):
    include_in_schema = False

    @get("/chat")
    async def chat(
        self,
        request: Request,  # type: ignore[type-arg]
        ctx: Ctx,
        partner: str | None = None,
        desk: str | None = None,
        lang: str | None = None,
        campaign: str | None = None,
    ) -> Template:
        catalog = ctx.catalog
        found = catalog.partners.get(partner) if partner else catalog.default_partner()
        if found is None or not found.enabled:
            # A disabled partner's own pages may still frame this page, so that the loader's
            # panel shows it; an unknown key names no site, so only our own pages may.
            chosen = widget_lang(lang or (found.lang if found else None))
            shown = catalog.offered(desk, practice_allowed=False) or (
                catalog.desk_of_partner(found) if found else catalog.default_desk()
            )
            origins = exact_origins(found.origins) if found else ()
            return dead_end(
                catalog,
                kind="partner",
                lang=chosen,
                desk=shown,
                path="/chat",
                query={"partner": partner or ""},
                exit_url=(found.exit_url if found else None) or DEFAULT_EXIT_URL,
                frame_ancestors=" ".join(["'self'", *origins]),
            )
        chosen = widget_lang(lang)
        # A practice desk for staff who work it (their login cookie came along); to anyone
        # else its key is as unknown as one that names no desk.
        practice = await practice_desk(ctx, desk, request.cookies.get(SESSION_COOKIE))
        desk_key = desk if practice or catalog.offered(desk, practice_allowed=False) else None
        live = catalog.live_campaign(campaign)
        query = {"partner": found.key}
        if desk_key:
            query["desk"] = desk_key
        if live:
            query["campaign"] = live.code
        start = catalog.desk_to_start(
            desk_key, found, campaign, practice_allowed=practice is not None
        )
        context = {
            **chat_context(catalog, found, start, chosen, query),
            "practice": section(chosen, "practice") if practice else None,
        }
        ancestors = " ".join(["'self'", *exact_origins(found.origins)])
        return Template(
            "widget/chat.html",
            context=context,
            headers={**NO_STORE, "Content-Security-Policy": csp(ancestors)},
        )

    @get("/safety")
    async def safety(self, ctx: Ctx, lang: str | None = None) -> Template:
        chosen = widget_lang(lang)
        return Template(
            "safety.html",
            context={
                "t": section(chosen, "page"),
                "s": section(chosen, "safety"),
                "loader": section(chosen, "loader"),
                "lang": catalogues()[chosen].get("html_lang", chosen),
                "chat_lang": chosen,
                "languages": language_links(chosen, {}, "/safety"),
                "contacts": contacts(ctx.catalog, chosen),
                "exit_url": DEFAULT_EXIT_URL,
            },
            headers={**NO_STORE, "Content-Security-Policy": csp()},
        )

    @get("/demo")
    async def demo(self, ctx: Ctx, lang: str | None = None) -> Template:
        chosen = pick_lang(lang)
        return Template(
            "demo.html",
            context={"t": TEXT[chosen], "lang": chosen, "public_url": ctx.settings.origin},
            headers={"Content-Security-Policy": csp("'none'", frame_src="'self'")},
        )
