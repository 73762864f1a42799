"""``/c/CODE``: the short address a poster's QR code holds; it opens the chat for the campaign."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import get
from litestar.response import Redirect, Template

from service.context import Ctx
from service.http.headers import csp
from service.i18n import TEXT

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@get("/c/{code:str}", include_in_schema=False)
async def open_campaign(ctx: Ctx, code: str) -> Redirect | Template:
    catalog = ctx.catalog
    campaign = catalog.live_campaign(code)
    partner = catalog.partner_by_id(campaign.partner_id) if campaign else None
    partner = partner or catalog.default_partner()
    if campaign is None or not partner.enabled:
        return Template(
            "widget/unavailable.html",
            context={"t": TEXT["ja"], "lang": "ja"},
            status_code=404,
            headers={**NO_STORE, "Content-Security-Policy": csp()},
        )
    desk = catalog.desk_by_id(campaign.desk_id) or catalog.desk_of_partner(partner)
    query = urlencode(
        {"partner": partner.key, "desk": desk.key, "campaign": campaign.code, "lang": partner.lang}
    )
    return Redirect(f"/chat?{query}", status_code=303, headers=NO_STORE)
