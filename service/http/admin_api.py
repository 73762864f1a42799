"""The admin JSON API under ``/api/v1/admin``: desks, partners, campaigns, emergency contacts
and the audit log (accounts, canned responses and topic tags are in ``admin_api_staff.py``).

Admins only (``guards.admin_only``). Unsafe methods need the CSRF token: send the ``mg_csrf``
cookie that any GET here sets, and its value in the ``X-CSRFToken`` header. Every change is in
the audit log, written in the same transaction.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.utils.scope.state import ScopeState

from service.actions.admin.directory import (
    CampaignCreate,
    CampaignUpdate,
    ContactsReplace,
    DeskCreate,
    DeskUpdate,
    PartnerCreate,
    PartnerUpdate,
    do_add_campaign,
    do_add_desk,
    do_add_partner,
    do_replace_contacts,
    do_update_campaign,
    do_update_desk,
    do_update_partner,
)
from service.context import Ctx
from service.errors import AppError, ErrorCode
from service.http.admin_views import (
    audit_json,
    campaign_json,
    contact_json,
    desk_json,
    partner_json,
    user_json,
)
from service.http.guards import admin_of, admin_only, admin_ops

Req = Request[Any, Any, Any]
Json = dict[str, Any]

_STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.LAST_ADMIN: 409,
    # The store refused or could not commit in time: retry later, nothing was changed.
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 503,
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
        contacts = await do_replace_contacts(admin_ops(request), data)
        return {"contacts": [contact_json(c) for c in contacts]}


class DesksApi(AdminApi):
    path = "/api/v1/admin/desks"

    @get("/")
    async def list_desks(self, ctx: Ctx) -> Json:
        return {"desks": [desk_json(d, ctx.catalog) for d in ctx.catalog.desks.values()]}

    @post("/")
    async def create_desk(self, request: Req, ctx: Ctx, data: DeskCreate) -> Json:
        return desk_json(await do_add_desk(admin_ops(request), data), ctx.catalog)

    @patch("/{key:str}")
    async def update_desk(self, request: Req, ctx: Ctx, key: str, data: DeskUpdate) -> Json:
        return desk_json(await do_update_desk(admin_ops(request), key, data), ctx.catalog)


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
        partner = await do_add_partner(admin_ops(request), data)
        return partner_json(partner, ctx.catalog, ctx.settings.origin)

    @patch("/{key:str}")
    async def update_partner(self, request: Req, ctx: Ctx, key: str, data: PartnerUpdate) -> Json:
        partner = await do_update_partner(admin_ops(request), key, data)
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
        campaign = await do_add_campaign(admin_ops(request), data)
        return campaign_json(campaign, ctx.catalog, ctx.settings.origin)

    @patch("/{code:str}")
    async def update_campaign(
        self, request: Req, ctx: Ctx, code: str, data: CampaignUpdate
    ) -> Json:
        campaign = await do_update_campaign(admin_ops(request), code, data)
        return campaign_json(campaign, ctx.catalog, ctx.settings.origin)


ADMIN_API = [AdminSessionApi, DesksApi, PartnersApi, CampaignsApi]
