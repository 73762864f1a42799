"""``/c/CODE``: the short address a poster's QR code holds; it opens the chat for the campaign."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import get
from litestar.response import Redirect, Template

from service.context import Ctx
from service.http.widget import DEFAULT_EXIT_URL, dead_end, widget_lang

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@get("/c/{code:str}", include_in_schema=False)
async def open_campaign(ctx: Ctx, code: str, lang: str | None = None) -> Redirect | Template:
    catalog = ctx.catalog
    known = catalog.campaigns.get(code)
    campaign = catalog.live_campaign(code)
    partner = catalog.partner_by_id(known.partner_id) if known else None
    partner = partner or catalog.default_partner()
    if campaign is None or not partner.enabled:
        # An old poster still on a wall: say so, and lead to the ward's own chat and phones.
        ward = catalog.default_partner()
        desk = (
            catalog.public_desk_by_id(known.desk_id) if known else None
        ) or catalog.desk_of_partner(ward)
        chosen = widget_lang(lang or (partner.lang if known else None))
        chat = urlencode({"partner": ward.key, "desk": desk.key, "lang": chosen})
        return dead_end(
            catalog,
            kind="campaign",
            lang=chosen,
            desk=desk,
            path=f"/c/{code}",
            query={},
            exit_url=ward.exit_url or DEFAULT_EXIT_URL,
            frame_ancestors="'none'",
            chat_url=f"/chat?{chat}",
        )
    desk = catalog.public_desk_by_id(campaign.desk_id) or catalog.desk_of_partner(partner)
    query = urlencode(
        {"partner": partner.key, "desk": desk.key, "campaign": campaign.code, "lang": partner.lang}
    )
    return Redirect(f"/chat?{query}", status_code=303, headers=NO_STORE)
