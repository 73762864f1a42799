"""The admin web pages under ``/admin``: desks, partners, campaigns with their posters and QR
codes (accounts, canned responses, topic tags and the audit log are in ``admin_pages_staff.py``).

Server-rendered forms, CSRF-protected, no script at all. A change answers with a redirect
(post/redirect/get); a refused one answers 400 with the form again, as it was typed, an error
summary at the top and the reason beside the field (``form_errors.py``).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.response import Redirect, Template

from service.actions.admin import read_input
from service.actions.admin.directory import (
    CampaignCreate,
    CampaignUpdate,
    DeskCreate,
    DeskUpdate,
    PartnerCreate,
    PartnerUpdate,
    do_add_campaign,
    do_add_desk,
    do_add_partner,
    do_update_campaign,
    do_update_desk,
    do_update_partner,
)
from service.admin_i18n import admin_text
from service.clock import utcnow
from service.context import Ctx
from service.domain.directory import Campaign, Desk, Partner
from service.domain.hours import WARD_HOURS, hours_text
from service.errors import AppError
from service.http.admin_views import (
    campaign_json,
    campaign_url,
    desk_json,
    partner_json,
    qr_image,
)
from service.http.form_errors import Forms, refused, typed
from service.http.guards import admin_only, admin_ops
from service.http.headers import csp
from service.i18n import pick_lang

Req = Request[Any, Any, Any]
NO_STORE = {"Cache-Control": "no-store"}
# The partner page shows its preview in an iframe of our own origin.
PREVIEW_CSP = csp("'none'", frame_src="'self'")


def to_login(_: Req, __: NotAuthorizedException) -> Response[Any]:
    return Redirect("/inbox/login", status_code=303)


def choices(names: dict[str, str], blank: str) -> list[tuple[str, str]]:
    """A select's options: none (``blank``) first, then each key by its name."""
    return [("", blank), *names.items()]


def with_lang(path: str, lang: str) -> str:
    """A link or redirect that keeps the page's language: Japanese, the default, adds nothing."""
    if lang != "en":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang=en"


def page(
    name: str, ctx: Ctx, status_code: int = 200, *, lang: str = "ja", **context: Any
) -> Template:
    """An admin page in ``lang``: its words ``t`` and ``here``, the address its language switch
    opens (a page answering a POST is shown again from its list)."""
    catalog, t = ctx.catalog, admin_text(lang)
    shared = {
        "lang": lang,
        "t": t,
        "switchable": True,
        "here": "",
        "origin": ctx.settings.origin,
        "forms": Forms(),
        "desk_choices": choices({k: d.name for k, d in catalog.desks.items()}, t["default_desk"]),
        "partner_choices": choices(
            {k: p.name for k, p in catalog.partners.items()}, t["ward_site"]
        ),
    }
    return Template(
        f"admin/{name}.html",
        context={**shared, **context},
        status_code=status_code,
        headers={**NO_STORE, "Content-Security-Policy": PREVIEW_CSP},
    )


def lines(form: FormMultiDict, name: str) -> list[str]:
    """A textarea with one value a line."""
    return [line.strip() for line in str(form.get(name, "")).splitlines() if line.strip()]


def text(form: FormMultiDict, name: str) -> str:
    return str(form.get(name, ""))


def sent(form: FormMultiDict, name: str) -> str | None:
    """A field's text, or None if the form has no such field: left out, as in the API, where
    a blank field is blank (``closures=""``: no extra closed days)."""
    return str(form[name]) if name in form else None


def sent_lines(form: FormMultiDict, name: str) -> list[str] | None:
    return lines(form, name) if name in form else None


def checked(form: FormMultiDict, name: str) -> bool:
    return form.get(name) == "on"


# What each settings form sends, named as the admin API's request body names it.

DESK_FIELDS = ("name", "name_en", "name_kana", "description", "phones", "hours", "closures")
PARTNER_FIELDS = ("name", "origins", "exit_url", "desk", "lang", "enabled")
CAMPAIGN_FIELDS = ("name", "desk", "partner", "enabled")


def desk_form(form: FormMultiDict) -> dict[str, Any]:
    return {
        "name": sent(form, "name"),
        "name_en": sent(form, "name_en"),
        "name_kana": sent(form, "name_kana"),
        "description": sent(form, "description"),
        "phones": sent_lines(form, "phones"),
        "hours": sent(form, "hours"),
        "closures": sent(form, "closures"),
    }


def partner_form(form: FormMultiDict) -> dict[str, Any]:
    return {
        "name": sent(form, "name"),
        "origins": sent_lines(form, "origins"),
        "exit_url": sent(form, "exit_url"),
        "desk": sent(form, "desk"),
        "lang": sent(form, "lang"),
    }


def campaign_form(form: FormMultiDict) -> dict[str, Any]:
    return {
        "name": sent(form, "name"),
        "desk": sent(form, "desk"),
        "partner": sent(form, "partner"),
    }


async def audit_names(ctx: Ctx, lang: str) -> dict[str, dict[str, str]]:
    """The names of what audit entries may name beyond the catalogue (topic tags, practice
    scenarios, rubric items), by kind, in ``lang``."""
    tags = await ctx.store.list_topic_tags()
    items = await ctx.store.list_rubric()
    return {
        "topic_tag": {
            t.key: (t.label_en or t.label_ja) if lang == "en" else t.label_ja for t in tags
        },
        "scenario": {str(s.id): s.title for s in await ctx.store.list_scenarios()},
        "rubric": {
            str(i.id): (i.label_en or i.label_ja) if lang == "en" else i.label_ja for i in items
        },
    }


class AdminPages(Controller):
    """Shared settings of every admin page controller."""

    guards = [admin_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    exception_handlers = {NotAuthorizedException: to_login}  # noqa: RUF012
    include_in_schema = False


class AdminHome(AdminPages):
    path = "/admin"

    @get("/")
    async def index(self, ctx: Ctx, lang: str | None = None) -> Template:
        catalog, at, chosen = ctx.catalog, utcnow(), pick_lang(lang)
        desks = [
            {**desk_json(d, catalog, chosen), "open_now": catalog.open_now(d, at)}
            for d in catalog.desks.values()
        ]
        return page(
            "index",
            ctx,
            lang=chosen,
            desks=desks,
            contacts=catalog.emergency_contacts,
            audit=await ctx.store.list_audit(10),
            audit_names=await audit_names(ctx, chosen),
        )


class DeskPages(AdminPages):
    path = "/admin/desks"

    def _page(self, ctx: Ctx, lang: str, status: int = 200, forms: Forms | None = None) -> Template:
        rows = [desk_json(d, ctx.catalog, lang) for d in ctx.catalog.desks.values()]
        return page(
            "desks",
            ctx,
            status,
            lang=lang,
            here=self.path,
            desks=rows,
            forms=forms or Forms(),
            ward_hours=WARD_HOURS,
        )

    @get("/")
    async def desks(self, ctx: Ctx, lang: str | None = None) -> Template:
        return self._page(ctx, pick_lang(lang))

    @post("/")
    async def add_desk(
        self, request: Req, ctx: Ctx, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        try:
            data = read_input(
                DeskCreate,
                {
                    "key": sent(form, "key"),
                    "practice": checked(form, "practice"),
                    **desk_form(form),
                },
            )
            desk = await do_add_desk(admin_ops(request), data)
        except AppError as exc:
            fields = ("key", *DESK_FIELDS, "practice")
            forms = refused("new", exc, fields, typed(form), lang=chosen)
            return self._page(ctx, chosen, 400, forms)
        return Redirect(with_lang(f"/admin/desks/{desk.key}?saved=1", chosen), status_code=303)

    @get("/{key:str}")
    async def desk(
        self, ctx: Ctx, key: str, saved: bool = False, lang: str | None = None
    ) -> Template:
        desk = ctx.catalog.desks.get(key)
        if desk is None:
            raise NotFoundException()
        return self._detail(ctx, desk, pick_lang(lang), saved=saved)

    def _detail(
        self,
        ctx: Ctx,
        desk: Desk,
        lang: str,
        status: int = 200,
        saved: bool = False,
        forms: Forms | None = None,
    ) -> Template:
        shown = desk_json(desk, ctx.catalog, lang)
        return page(
            "desk",
            ctx,
            status,
            lang=lang,
            desk=shown,
            current={**shown, "phones": "\n".join(shown["phones"])},
            hours_en=hours_text(ctx.catalog.hours[desk.key], "en") if lang != "en" else "",
            saved=saved,
            forms=forms or Forms(),
        )

    @post("/{key:str}")
    async def update_desk(
        self, request: Req, ctx: Ctx, key: str, lang: str | None = None
    ) -> Template | Redirect:
        desk, chosen = ctx.catalog.desks.get(key), pick_lang(lang)
        if desk is None:
            raise NotFoundException()
        form = await request.form()
        try:
            await do_update_desk(admin_ops(request), key, read_input(DeskUpdate, desk_form(form)))
        except AppError as exc:
            forms = refused("desk", exc, DESK_FIELDS, typed(form), lang=chosen)
            return self._detail(ctx, desk, chosen, 400, forms=forms)
        return Redirect(with_lang(f"/admin/desks/{key}?saved=1", chosen), status_code=303)


class PartnerPages(AdminPages):
    path = "/admin/partners"

    def _rows(self, ctx: Ctx) -> list[dict[str, Any]]:
        origin = ctx.settings.origin
        return [partner_json(p, ctx.catalog, origin) for p in ctx.catalog.partners.values()]

    @get("/")
    async def partners(self, ctx: Ctx, lang: str | None = None) -> Template:
        return page("partners", ctx, lang=pick_lang(lang), partners=self._rows(ctx))

    @post("/")
    async def add_partner(
        self, request: Req, ctx: Ctx, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        try:
            data = read_input(PartnerCreate, {"key": sent(form, "key"), **partner_form(form)})
            partner = await do_add_partner(admin_ops(request), data)
        except AppError as exc:
            fields = ("key", *PARTNER_FIELDS[:-1])
            forms = refused("new", exc, fields, typed(form), lang=chosen)
            rows = self._rows(ctx)
            return page("partners", ctx, 400, lang=chosen, partners=rows, forms=forms)
        return Redirect(
            with_lang(f"/admin/partners/{partner.key}?saved=1", chosen), status_code=303
        )

    @get("/{key:str}")
    async def partner(
        self, ctx: Ctx, key: str, saved: bool = False, lang: str | None = None
    ) -> Template:
        found = ctx.catalog.partners.get(key)
        if found is None:
            raise NotFoundException()
        return self._detail(ctx, found, pick_lang(lang), saved=saved)

    def _detail(
        self,
        ctx: Ctx,
        found: Partner,
        lang: str,
        status: int = 200,
        saved: bool = False,
        forms: Forms | None = None,
    ) -> Template:
        shown = partner_json(found, ctx.catalog, ctx.settings.origin)
        current = {**shown, "origins": "\n".join(shown["origins"]), "desk": shown["desk"] or ""}
        return page(
            "partner",
            ctx,
            status,
            lang=lang,
            partner=shown,
            current={**current, "exit_url": shown["exit_url"] or ""},
            saved=saved,
            forms=forms or Forms(),
        )

    @post("/{key:str}")
    async def update_partner(
        self, request: Req, ctx: Ctx, key: str, lang: str | None = None
    ) -> Template | Redirect:
        found, chosen = ctx.catalog.partners.get(key), pick_lang(lang)
        if found is None:
            raise NotFoundException()
        form = await request.form()
        given = {**partner_form(form), "enabled": checked(form, "enabled")}
        try:
            await do_update_partner(admin_ops(request), key, read_input(PartnerUpdate, given))
        except AppError as exc:
            forms = refused("partner", exc, PARTNER_FIELDS, typed(form), lang=chosen)
            return self._detail(ctx, found, chosen, 400, forms=forms)
        return Redirect(with_lang(f"/admin/partners/{key}?saved=1", chosen), status_code=303)

    @get("/{key:str}/preview")
    async def preview(self, ctx: Ctx, key: str, lang: str | None = None) -> Template:
        """The widget as the partner's page embeds it, shown inside the partner page."""
        found = ctx.catalog.partners.get(key)
        if found is None:
            raise NotFoundException()
        chosen = pick_lang(lang)
        return Template(
            "admin/preview.html",
            context={
                "lang": chosen,
                "t": admin_text(chosen),
                "origin": ctx.settings.origin,
                "key": key,
                "name": found.name,
            },
            headers={**NO_STORE, "Content-Security-Policy": csp("'self'", frame_src="'self'")},
        )


class CampaignPages(AdminPages):
    path = "/admin/campaigns"

    def _rows(self, ctx: Ctx) -> list[dict[str, Any]]:
        origin = ctx.settings.origin
        return [campaign_json(c, ctx.catalog, origin) for c in ctx.catalog.campaigns.values()]

    def _page(self, ctx: Ctx, lang: str, status: int = 200, forms: Forms | None = None) -> Template:
        rows = self._rows(ctx)
        return page("campaigns", ctx, status, lang=lang, campaigns=rows, forms=forms or Forms())

    @get("/")
    async def campaigns(self, ctx: Ctx, lang: str | None = None) -> Template:
        return self._page(ctx, pick_lang(lang))

    @post("/")
    async def add_campaign(
        self, request: Req, ctx: Ctx, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        try:
            data = read_input(CampaignCreate, {"code": sent(form, "code"), **campaign_form(form)})
            campaign = await do_add_campaign(admin_ops(request), data)
        except AppError as exc:
            fields = ("code", *CAMPAIGN_FIELDS[:-1])
            return self._page(
                ctx, chosen, 400, refused("new", exc, fields, typed(form), lang=chosen)
            )
        return Redirect(
            with_lang(f"/admin/campaigns/{campaign.code}?saved=1", chosen), status_code=303
        )

    @get("/{code:str}")
    async def campaign(
        self, ctx: Ctx, code: str, saved: bool = False, lang: str | None = None
    ) -> Template:
        found = ctx.catalog.campaigns.get(code)
        if found is None:
            raise NotFoundException()
        return self._detail(ctx, found, pick_lang(lang), saved=saved)

    def _detail(
        self,
        ctx: Ctx,
        found: Campaign,
        lang: str,
        status: int = 200,
        saved: bool = False,
        forms: Forms | None = None,
    ) -> Template:
        shown = campaign_json(found, ctx.catalog, ctx.settings.origin)
        return page(
            "campaign",
            ctx,
            status,
            lang=lang,
            campaign=shown,
            current={**shown, "desk": shown["desk"] or "", "partner": shown["partner"] or ""},
            saved=saved,
            forms=forms or Forms(),
        )

    @post("/{code:str}")
    async def update_campaign(
        self, request: Req, ctx: Ctx, code: str, lang: str | None = None
    ) -> Template | Redirect:
        found, chosen = ctx.catalog.campaigns.get(code), pick_lang(lang)
        if found is None:
            raise NotFoundException()
        form = await request.form()
        given = {**campaign_form(form), "enabled": checked(form, "enabled")}
        try:
            await do_update_campaign(admin_ops(request), code, read_input(CampaignUpdate, given))
        except AppError as exc:
            forms = refused("campaign", exc, CAMPAIGN_FIELDS, typed(form), lang=chosen)
            return self._detail(ctx, found, chosen, 400, forms=forms)
        return Redirect(with_lang(f"/admin/campaigns/{code}?saved=1", chosen), status_code=303)

    @get("/{code:str}/poster")
    async def poster(self, ctx: Ctx, code: str) -> Template:
        """A printable A4 poster like the ward's own, with the desk's hours and phones."""
        catalog = ctx.catalog
        found = catalog.campaigns.get(code)
        if found is None:
            raise NotFoundException()
        partner = catalog.partner_by_id(found.partner_id) or catalog.default_partner()
        desk = catalog.desk_by_id(found.desk_id) or catalog.desk_of_partner(partner)
        return Template(
            "campaign/poster.html",
            context={
                "lang": "ja",
                "code": code,
                "url": campaign_url(ctx.settings.origin, code),
                "desk": desk,
                "hours_text": hours_text(catalog.hours[desk.key], "ja"),
                "hours_text_en": hours_text(catalog.hours[desk.key], "en"),
                "contacts": catalog.emergency_contacts,
            },
            headers=NO_STORE,
        )

    @get("/{code:str}/qr.svg", media_type="image/svg+xml")
    async def qr_svg(self, ctx: Ctx, code: str) -> Response[bytes]:
        return self._qr(ctx, code, "svg")

    @get("/{code:str}/qr.png", media_type="image/png")
    async def qr_png(self, ctx: Ctx, code: str) -> Response[bytes]:
        return self._qr(ctx, code, "png")

    def _qr(self, ctx: Ctx, code: str, kind: str) -> Response[bytes]:
        if code not in ctx.catalog.campaigns:
            raise NotFoundException()
        return Response(
            qr_image(campaign_url(ctx.settings.origin, code), kind),
            media_type="image/svg+xml" if kind == "svg" else "image/png",
            headers={
                **NO_STORE,
                "Content-Disposition": f'inline; filename="madoguchi-{code}.{kind}"',
            },
        )


ADMIN_PAGES_DIRECTORY = [AdminHome, DeskPages, PartnerPages, CampaignPages]
