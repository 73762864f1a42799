"""``/inbox/practice/KEY``: staff play a visitor at a practice desk, through the real chat page
in a frame (same origin, so their login cookie goes with its requests and its socket: that is
how the server lets them start there). Anyone else, and any desk that is not a practice desk
they work, gets 404, as for a desk that does not exist."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from markupsafe import escape

from service import access
from service.context import Ctx
from service.domain.directory import staff_desk_name
from service.http.headers import csp
from service.http.staff_pages import (
    COUNSELING,
    NO_STORE,
    STAFF_EXCEPTIONS,
    Req,
    staff_of,
    staff_only,
    text_of,
)
from service.http.training_views import language_marks, play_context
from service.i18n import pick_lang


class PracticeController(Controller):
    path = "/inbox/practice"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = COUNSELING
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/{key:str}")
    async def practice(self, request: Req, ctx: Ctx, key: str, lang: str | None = None) -> Template:
        user, chosen = staff_of(request), pick_lang(lang)
        desk = ctx.catalog.desks.get(key)
        if desk is None or not access.may_practise(user, desk):
            raise NotFoundException()
        text = text_of(chosen)
        ja = language_marks(chosen)["ja"]
        return Template(
            "inbox/practice.html",
            context={
                "t": text,
                "lang": chosen,
                "user": user,
                "desk": desk,
                "intro": escape(text["practice_intro"]).replace(
                    "{desk}", ja(staff_desk_name(desk, chosen))
                ),
                "chat_url": "/chat?" + urlencode({"desk": desk.key, "lang": chosen}),
                # The scenario card beside the chat (counselor training).
                **await play_context(ctx, user, desk.id, chosen),
            },
            # The one staff page that frames another: our own chat page, nothing else.
            headers={**NO_STORE, "Content-Security-Policy": csp(frame_src="'self'")},
        )
