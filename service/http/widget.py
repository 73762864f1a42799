"""What partner sites load: the loader script, the chat page in its iframe, and the demo page."""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from service.context import Context
from service.http.headers import csp
from service.i18n import TEXT, pick_lang

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class WidgetController(Controller):
    include_in_schema = False

    @get("/widget.js")
    async def loader(self, ctx: Context) -> Response[bytes]:
        path = ctx.settings.static_dir / "widget.js"
        if not path.is_file():
            raise NotFoundException("the widget is not built; run `make run`")
        # A few KB, read from the page cache: simpler than File, which adds a download name.
        return Response(
            await asyncio.to_thread(path.read_bytes),
            media_type="text/javascript",  # Litestar adds "; charset=utf-8" to text types
            headers={
                "Cache-Control": "public, max-age=300",
                # Partner pages that isolate themselves (COEP) may still load the loader.
                "Cross-Origin-Resource-Policy": "cross-origin",
            },
        )

    @get("/chat")
    async def chat(
        self,
        request: Request,  # type: ignore[type-arg]
        ctx: Context,
        partner: str | None = None,
        desk: str | None = None,
        lang: str | None = None,
        campaign: str | None = None,
    ) -> Template:
        catalog = ctx.catalog
        found = catalog.partners.get(partner) if partner else catalog.default_partner()
        chosen_lang = pick_lang(lang)
        if found is None or not found.enabled:
            return Template(
                "widget/unavailable.html",
                context={"t": TEXT[chosen_lang], "lang": chosen_lang},
                status_code=404,
                headers={**NO_STORE, "Content-Security-Policy": csp("'self'")},
            )
        ancestors = " ".join(["'self'", *found.origins])
        return Template(
            "widget/chat.html",
            context={
                "t": TEXT[chosen_lang],
                "lang": chosen_lang,
                "partner": found.key,
                "desk": desk if desk in catalog.desks else "",
                "campaign": campaign or "",
            },
            headers={**NO_STORE, "Content-Security-Policy": csp(ancestors)},
        )

    @get("/demo")
    async def demo(self, ctx: Context, lang: str | None = None) -> Template:
        chosen = pick_lang(lang)
        return Template(
            "demo.html",
            context={"t": TEXT[chosen], "lang": chosen, "public_url": ctx.settings.origin},
            headers={"Content-Security-Policy": csp("'none'", frame_src="'self'")},
        )
