"""The admin web pages for staff: accounts, canned responses, topic tags and the audit log (the
emergency contacts are in ``admin_contacts.py``)."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from service.actions.admin import read_input
from service.actions.admin.replies import (
    CannedCreate,
    CannedUpdate,
    TagCreate,
    TagUpdate,
    do_add_canned,
    do_add_tag,
    do_delete_canned,
    do_update_canned,
    do_update_tag,
)
from service.actions.admin.staff import (
    PasswordReset,
    UserCreate,
    UserUpdate,
    do_add_user,
    do_reset_password,
    do_update_user,
)
from service.context import Ctx
from service.domain.accounts import ROLES
from service.domain.checks import ALL_DESKS
from service.errors import AppError, ErrorCode
from service.http.admin_contacts import ContactPages
from service.http.admin_pages import (
    ADMIN_PAGES_DIRECTORY,
    AdminPages,
    Req,
    audit_names,
    checked,
    page,
    sent,
    with_lang,
)
from service.http.admin_views import audit_json, canned_json, tag_json, user_json
from service.http.form_errors import Forms, refused, typed
from service.http.guards import admin_of, admin_ops
from service.http.params import RowId
from service.i18n import pick_lang


def desks_of(form: FormMultiDict) -> str | list[str] | None:
    """The desks as the API takes them: the form's choice ``desk_scope`` is ``all`` (every desk)
    or ``some`` (the ticked ``desks``, at least one); no choice sent, nothing changes."""
    scope = sent(form, "desk_scope")
    if scope is None:
        return None
    return ALL_DESKS if scope == ALL_DESKS else [str(k) for k in form.getall("desks", [])]


def user_form(form: FormMultiDict) -> dict[str, Any]:
    active = sent(form, "active")
    return {
        "display_name": sent(form, "display_name"),
        "role": sent(form, "role"),
        "active": None if active is None else active == "1",
        "desks": desks_of(form),
    }


USER_FIELDS = ("username", "display_name", "role", "desk_scope", "desks")


def user_form_of(form: FormMultiDict) -> tuple[str, tuple[str, ...]]:
    """Which of an account's three forms was sent (they share one address): its key's prefix
    on the page and its controls."""
    if "role" in form:
        return "role", ("role",)
    if "active" in form:
        return "active", ("active",)
    return "user", ("display_name", "desk_scope", "desks")


class UserPages(AdminPages):
    path = "/admin/users"

    async def _page(
        self,
        ctx: Ctx,
        lang: str,
        status: int = 200,
        forms: Forms | None = None,
        password: str = "",
        who: str = "",
    ) -> Template:
        users = [user_json(u, ctx.catalog) for u in await ctx.store.list_users()]
        return page(
            "users",
            ctx,
            status,
            lang=lang,
            here=self.path,
            users=users,
            roles=ROLES,
            desks=ctx.catalog.desks,
            all_desks=ALL_DESKS,
            forms=forms or Forms(),
            password=password,
            who=who,
        )

    @get("/")
    async def users(self, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._page(ctx, pick_lang(lang))

    @post("/")
    async def add_user(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        form, chosen = await request.form(), pick_lang(lang)
        given = {"username": sent(form, "username"), **user_form(form)}
        given.pop("active")
        try:
            made = await do_add_user(admin_ops(request), read_input(UserCreate, given))
        except AppError as exc:
            forms = refused("new", exc, USER_FIELDS, typed(form, "desks"), lang=chosen)
            return await self._page(ctx, chosen, 400, forms)
        # Shown once, on this page only: the new account's first password.
        return await self._page(ctx, chosen, password=made.password or "", who=made.user.username)

    @post("/{username:str}")
    async def update_user(
        self, request: Req, ctx: Ctx, username: str, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        try:
            await do_update_user(
                admin_ops(request), username, read_input(UserUpdate, user_form(form))
            )
        except AppError as exc:
            status = 404 if exc.code == ErrorCode.NOT_FOUND else 400
            kind, fields = user_form_of(form)
            values = typed(form, "desks")
            forms = refused(f"{kind}-{username}", exc, fields, values, lang=chosen)
            return await self._page(ctx, chosen, status, forms)
        return Redirect(with_lang("/admin/users", chosen), status_code=303)

    @post("/{username:str}/password")
    async def reset_password(
        self, request: Req, ctx: Ctx, username: str, lang: str | None = None
    ) -> Template:
        form, chosen = await request.form(), pick_lang(lang)
        given = {"password": sent(form, "password") or None}
        try:
            made = await do_reset_password(
                admin_ops(request), username, read_input(PasswordReset, given)
            )
        except AppError as exc:
            status = 404 if exc.code == ErrorCode.NOT_FOUND else 400
            forms = refused(f"password-{username}", exc, ("submit",), typed(form), lang=chosen)
            return await self._page(ctx, chosen, status, forms)
        if made.user.id == admin_of(request).id:
            return await self._page(ctx, chosen, who=username)  # one's own: nothing to show
        return await self._page(ctx, chosen, password=made.password or "", who=username)


CANNED_FIELDS = ("title", "body", "desk")


class CannedPages(AdminPages):
    path = "/admin/canned"

    async def _page(
        self, ctx: Ctx, lang: str, status: int = 200, forms: Forms | None = None
    ) -> Template:
        items = [canned_json(c, ctx.catalog) for c in await ctx.store.list_canned_responses()]
        return page(
            "canned", ctx, status, lang=lang, here=self.path, items=items, forms=forms or Forms()
        )

    @get("/")
    async def canned(self, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._page(ctx, pick_lang(lang))

    @post("/")
    async def add_canned(
        self, request: Req, ctx: Ctx, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        given = {k: sent(form, k) for k in ("title", "body", "desk")}
        try:
            await do_add_canned(admin_ops(request), read_input(CannedCreate, given))
        except AppError as exc:
            forms = refused("new", exc, CANNED_FIELDS, typed(form), lang=chosen)
            return await self._page(ctx, chosen, 400, forms)
        return Redirect(with_lang("/admin/canned", chosen), status_code=303)

    @post("/{canned_id:int}")
    async def update_canned(
        self, request: Req, ctx: Ctx, canned_id: RowId, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        given = {k: sent(form, k) for k in ("title", "body", "desk")}
        try:
            await do_update_canned(admin_ops(request), canned_id, read_input(CannedUpdate, given))
        except AppError as exc:
            key = f"canned-{canned_id}"
            forms = refused(key, exc, CANNED_FIELDS, typed(form), lang=chosen)
            return await self._page(ctx, chosen, 400, forms)
        return Redirect(with_lang("/admin/canned", chosen), status_code=303)

    @post("/{canned_id:int}/delete")
    async def delete_canned(
        self, request: Req, canned_id: RowId, lang: str | None = None
    ) -> Redirect:
        try:
            await do_delete_canned(admin_ops(request), canned_id)
        except AppError:
            raise NotFoundException() from None
        return Redirect(with_lang("/admin/canned", pick_lang(lang)), status_code=303)


class TagPages(AdminPages):
    path = "/admin/tags"

    async def _page(
        self, ctx: Ctx, lang: str, status: int = 200, forms: Forms | None = None
    ) -> Template:
        tags = [tag_json(t) for t in await ctx.store.list_topic_tags()]
        return page(
            "tags", ctx, status, lang=lang, here=self.path, tags=tags, forms=forms or Forms()
        )

    @get("/")
    async def list_tags(self, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._page(ctx, pick_lang(lang))

    @post("/")
    async def add_tag(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        given = {k: sent(form, k) for k in ("key", "label_ja", "label_en")}
        try:
            await do_add_tag(admin_ops(request), read_input(TagCreate, given))
        except AppError as exc:
            fields = ("key", "label_ja", "label_en")
            forms = refused("new", exc, fields, typed(form), lang=chosen)
            return await self._page(ctx, chosen, 400, forms)
        return Redirect(with_lang("/admin/tags", chosen), status_code=303)

    @post("/{key:str}")
    async def update_tag(
        self, request: Req, ctx: Ctx, key: str, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        given: dict[str, Any] = {k: sent(form, k) for k in ("label_ja", "label_en")}
        given["enabled"] = checked(form, "enabled")
        try:
            await do_update_tag(admin_ops(request), key, read_input(TagUpdate, given))
        except AppError as exc:
            fields = ("label_ja", "label_en", "enabled")
            forms = refused(f"tag-{key}", exc, fields, typed(form), lang=chosen)
            return await self._page(ctx, chosen, 400, forms)
        return Redirect(with_lang("/admin/tags", chosen), status_code=303)


class AuditPages(AdminPages):
    path = "/admin/audit"

    @get("/")
    async def audit(self, ctx: Ctx, lang: str | None = None) -> Template:
        chosen = pick_lang(lang)
        entries = [audit_json(e) for e in await ctx.store.list_audit(500)]
        names = await audit_names(ctx, chosen)
        return page("audit", ctx, lang=chosen, entries=entries, audit_names=names)


ADMIN_PAGES = [
    *ADMIN_PAGES_DIRECTORY,
    UserPages,
    CannedPages,
    TagPages,
    ContactPages,
    AuditPages,
]
