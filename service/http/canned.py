"""Canned responses for supervisors: the practice of their desks is theirs to keep.

Plain forms with CSRF, as the admin pages; every change is audited with the supervisor as the
actor. A supervisor edits the responses of the desks they work; the ones for every desk only if
they work every desk.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from service import access
from service.actions.admin import Admin, read_input
from service.actions.admin.replies import (
    CannedCreate,
    CannedUpdate,
    do_add_canned,
    do_delete_canned,
    do_update_canned,
)
from service.context import Ctx
from service.domain.directory import staff_desk_name
from service.domain.replies import CannedResponse
from service.errors import AppError
from service.http.admin_pages import sent
from service.http.params import RowId
from service.http.staff_pages import (
    NO_STORE,
    STAFF_EXCEPTIONS,
    SUPERVISING,
    Req,
    actor_of,
    staff_of,
    staff_only,
    text_of,
)
from service.i18n import pick_lang


class CannedController(Controller):
    path = "/inbox/canned"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = SUPERVISING
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    async def _page(
        self, request: Req, ctx: Ctx, lang: str | None, error: str = "", status: int = 200
    ) -> Template:
        user, chosen = staff_of(request), pick_lang(lang)
        items = [
            c
            for c in await ctx.store.list_canned_responses()
            if access.may_edit_canned(user, c.desk_id)
        ]
        desks = access.desks_worked(user, ctx.catalog.desks.values())
        return Template(
            "inbox/canned.html",
            context={
                "t": text_of(chosen),
                "lang": chosen,
                "user": user,
                "items": [
                    {
                        "id": c.id,
                        "title": c.title,
                        "body": c.body,
                        "desk": _desk_name(ctx, c, chosen),
                    }
                    for c in items
                ],
                "desks": desks,
                "every_desk": user.desk_ids is None,
                "error": error,
            },
            status_code=status,
            headers=NO_STORE,
        )

    @get("/")
    async def canned(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._page(request, ctx, lang)

    @post("/")
    async def add(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template | Redirect:
        user = staff_of(request)
        form = await request.form()
        desk_key = str(form.get("desk", "")) or None
        desk = ctx.catalog.desks.get(desk_key) if desk_key else None
        if (desk_key and desk is None) or not access.may_edit_canned(
            user, desk.id if desk else None
        ):
            return await self._page(request, ctx, lang, "canned_desk", 400)
        given = {"title": sent(form, "title"), "body": sent(form, "body"), "desk": desk_key}
        try:
            await do_add_canned(_as_author(request, ctx), read_input(CannedCreate, given))
        except AppError as exc:
            return await self._page(request, ctx, lang, exc.message, 400)
        return Redirect("/inbox/canned", status_code=303)

    @post("/{canned_id:int}")
    async def update(
        self, request: Req, ctx: Ctx, canned_id: RowId, lang: str | None = None
    ) -> Template | Redirect:
        await self._own(request, ctx, canned_id)
        form = await request.form()
        if form.get("delete"):
            await do_delete_canned(_as_author(request, ctx), canned_id)
            return Redirect("/inbox/canned", status_code=303)
        # The desk stays: a supervisor moves a response between desks at /admin only.
        given = {"title": sent(form, "title"), "body": sent(form, "body")}
        try:
            data = read_input(CannedUpdate, given)
            await do_update_canned(_as_author(request, ctx), canned_id, data)
        except AppError as exc:
            return await self._page(request, ctx, lang, exc.message, 400)
        return Redirect("/inbox/canned", status_code=303)

    async def _own(self, request: Req, ctx: Ctx, canned_id: RowId) -> CannedResponse:
        user = staff_of(request)
        found = next(
            (c for c in await ctx.store.list_canned_responses() if c.id == canned_id), None
        )
        if found is None or not access.may_edit_canned(user, found.desk_id):
            raise NotFoundException()
        return found


def _as_author(request: Req, ctx: Ctx) -> Admin:
    """The supervisor as the author of the same operations the admin uses (their checks, their
    audit entries); what they may touch is checked here first."""
    return Admin(ctx.store, actor_of(request))


def _desk_name(ctx: Ctx, canned: CannedResponse, lang: str) -> str:
    desk = ctx.catalog.desk_by_id(canned.desk_id) if canned.desk_id is not None else None
    return staff_desk_name(desk, lang) if desk else ""
