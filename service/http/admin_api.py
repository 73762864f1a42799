"""The admin JSON API under ``/api/v1/admin``: desks, partners, campaigns, emergency contacts
and the audit log (accounts, canned responses and topic tags are in ``admin_api_staff.py``).

Admins only (``guards.admin_only``). Unsafe methods need the CSRF token: send the ``mg_csrf``
cookie that any GET here sets, and its value in the ``X-CSRFToken`` header. Every change is in
the audit log, written in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.utils.scope.state import ScopeState

from service.context import Ctx
from service.domain.checks import (
    check_campaign_fields,
    check_desk_fields,
    check_key,
    check_partner_fields,
    check_text,
)
from service.domain.directory import EmergencyContact
from service.domain.hours import WARD_HOURS
from service.errors import AppError, ErrorCode
from service.http.admin_views import (
    audit_json,
    campaign_json,
    contact_json,
    desk_json,
    partner_json,
    user_json,
)
from service.http.guards import actor_of, admin_of, admin_only

Req = Request[Any, Any, Any]
Json = dict[str, Any]
Text = Annotated[str, msgspec.Meta(max_length=2000)]

_STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.LAST_ADMIN: 409,
}


def app_error_response(_: Req, exc: AppError) -> Response[Json]:
    """The same error shape as a Socket.IO ack's, with an HTTP status."""
    return Response(
        {"error": {"code": exc.code.value, "message": exc.message}},
        status_code=_STATUS.get(exc.code, 400),
        headers={"Cache-Control": "no-store"},
    )


class AdminApi(Controller):
    """Shared settings of every admin API controller."""

    guards = [admin_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    exception_handlers = {AppError: app_error_response}  # noqa: RUF012
    response_headers = {"Cache-Control": "no-store"}  # noqa: RUF012
    tags = ["admin"]  # noqa: RUF012


def given(data: msgspec.Struct, but: str = "") -> dict[str, Any]:
    """A request body's fields as keyword arguments of its domain/checks.py function, whose
    parameters the structs below name one for one (the key or code aside)."""
    return {name: getattr(data, name) for name in data.__struct_fields__ if name != but}


class DeskCreate(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    description: Text = ""
    phones: list[str] = []
    hours: str = WARD_HOURS
    closures: str | None = None


class DeskUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Fields left out (or null) stay as they are."""

    name: str | None = None
    description: Text | None = None
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
    """Fields left out (or null) stay; ``exit_url: ""`` and ``desk: ""`` go back to defaults."""

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
    name: str | None = None
    desk: str | None = None
    partner: str | None = None
    enabled: bool | None = None


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    number: str
    note_ja: str = ""
    note_en: str = ""


class ContactsReplace(msgspec.Struct, forbid_unknown_fields=True):
    contacts: list[ContactIn]


class AdminSessionApi(AdminApi):
    path = "/api/v1/admin"

    @get("/me")
    async def me(self, request: Req, ctx: Ctx) -> Json:
        """The logged-in admin, and the CSRF token to send as ``X-CSRFToken``."""
        csrf = ScopeState.from_scope(request.scope).csrf_token
        return {"user": user_json(admin_of(request), ctx.catalog), "csrf_token": csrf}

    @get("/audit")
    async def audit(self, ctx: Ctx, limit: int = 200) -> Json:
        """Admin changes, latest first: who, what, when and the fields set."""
        entries = await ctx.store.list_audit(max(1, min(limit, 1000)))
        return {"entries": [audit_json(e) for e in entries]}

    @get("/emergency-contacts")
    async def contacts(self, ctx: Ctx) -> Json:
        return {"contacts": [contact_json(c) for c in ctx.catalog.emergency_contacts]}

    @put("/emergency-contacts")
    async def replace_contacts(self, request: Req, ctx: Ctx, data: ContactsReplace) -> Json:
        """Replace the whole list (its order is the order the widget shows)."""
        contacts = [
            EmergencyContact(
                check_text(c.name, "name", max_length=100),
                check_text(c.number, "number", max_length=40),
                check_text(c.note_ja, "note", max_length=200, required=False),
                check_text(c.note_en, "note", max_length=200, required=False),
            )
            for c in data.contacts
        ]
        await ctx.store.replace_emergency_contacts(actor_of(request), contacts)
        await ctx.catalog.reload()
        return {"contacts": [contact_json(c) for c in ctx.catalog.emergency_contacts]}


class DesksApi(AdminApi):
    path = "/api/v1/admin/desks"

    @get("/")
    async def list_desks(self, ctx: Ctx) -> Json:
        return {"desks": [desk_json(d, ctx.catalog) for d in ctx.catalog.desks.values()]}

    @post("/")
    async def create_desk(self, request: Req, ctx: Ctx, data: DeskCreate) -> Json:
        fields = check_desk_fields(**given(data, but="key"))
        desk = await ctx.store.insert_desk(actor_of(request), check_key(data.key), fields)
        await ctx.catalog.reload()
        return desk_json(desk, ctx.catalog)

    @patch("/{key:str}")
    async def update_desk(self, request: Req, ctx: Ctx, key: str, data: DeskUpdate) -> Json:
        current = ctx.catalog.desks.get(key)
        if current is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no desk {key!r}")
        fields = check_desk_fields(**given(data), current=current)
        desk = await ctx.store.update_desk(actor_of(request), key, fields)
        await ctx.catalog.reload()
        return desk_json(desk, ctx.catalog)


class PartnersApi(AdminApi):
    path = "/api/v1/admin/partners"

    @get("/")
    async def list_partners(self, ctx: Ctx) -> Json:
        url = ctx.settings.origin
        return {
            "partners": [partner_json(p, ctx.catalog, url) for p in ctx.catalog.partners.values()]
        }

    @post("/")
    async def create_partner(self, request: Req, ctx: Ctx, data: PartnerCreate) -> Json:
        fields = check_partner_fields(**given(data, but="key"))
        partner = await ctx.store.insert_partner(actor_of(request), check_key(data.key), fields)
        await ctx.catalog.reload()
        return partner_json(partner, ctx.catalog, ctx.settings.origin)

    @patch("/{key:str}")
    async def update_partner(self, request: Req, ctx: Ctx, key: str, data: PartnerUpdate) -> Json:
        fields = check_partner_fields(**given(data))
        partner = await ctx.store.update_partner(actor_of(request), key, fields)
        await ctx.catalog.reload()
        return partner_json(partner, ctx.catalog, ctx.settings.origin)


class CampaignsApi(AdminApi):
    path = "/api/v1/admin/campaigns"

    @get("/")
    async def list_campaigns(self, ctx: Ctx) -> Json:
        url = ctx.settings.origin
        return {
            "campaigns": [
                campaign_json(c, ctx.catalog, url) for c in ctx.catalog.campaigns.values()
            ]
        }

    @post("/")
    async def create_campaign(self, request: Req, ctx: Ctx, data: CampaignCreate) -> Json:
        fields = check_campaign_fields(**given(data, but="code"))
        code = check_key(data.code, "code")
        campaign = await ctx.store.insert_campaign(actor_of(request), code, fields)
        await ctx.catalog.reload()
        return campaign_json(campaign, ctx.catalog, ctx.settings.origin)

    @patch("/{code:str}")
    async def update_campaign(
        self, request: Req, ctx: Ctx, code: str, data: CampaignUpdate
    ) -> Json:
        fields = check_campaign_fields(**given(data))
        campaign = await ctx.store.update_campaign(actor_of(request), code, fields)
        await ctx.catalog.reload()
        return campaign_json(campaign, ctx.catalog, ctx.settings.origin)


ADMIN_API = [AdminSessionApi, DesksApi, PartnersApi, CampaignsApi]
