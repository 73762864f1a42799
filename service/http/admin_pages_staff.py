"""The admin web pages for staff: accounts, canned responses, topic tags, the emergency
contacts and the audit log."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from service.actions.admin import read_input
from service.actions.admin.directory import ContactsReplace, do_replace_contacts
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
from service.http.admin_pages import (
    ADMIN_PAGES_DIRECTORY,
    AdminPages,
    Req,
    checked,
    page,
    sent,
    text,
)
from service.http.admin_views import audit_json, canned_json, contact_json, tag_json, user_json
from service.http.guards import admin_of, admin_ops
from service.http.params import RowId


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


class UserPages(AdminPages):
    path = "/admin/users"

    async def _page(
        self, ctx: Ctx, status: int = 200, error: str = "", password: str = "", who: str = ""
    ) -> Template:
        users = [user_json(u, ctx.catalog) for u in await ctx.store.list_users()]
        return page(
            "users",
            ctx,
            status,
            users=users,
            roles=ROLES,
            desks=ctx.catalog.desks,
            all_desks=ALL_DESKS,
            error=error,
            password=password,
            who=who,
        )

    @get("/")
    async def users(self, ctx: Ctx) -> Template:
        return await self._page(ctx)

    @post("/")
    async def add_user(self, request: Req, ctx: Ctx) -> Template:
        form = await request.form()
        given = {"username": sent(form, "username"), **user_form(form)}
        given.pop("active")
        try:
            made = await do_add_user(admin_ops(request), read_input(UserCreate, given))
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        # Shown once, on this page only: the new account's first password.
        return await self._page(ctx, password=made.password or "", who=made.user.username)

    @post("/{username:str}")
    async def update_user(self, request: Req, ctx: Ctx, username: str) -> Template | Redirect:
        form = await request.form()
        try:
            await do_update_user(
                admin_ops(request), username, read_input(UserUpdate, user_form(form))
            )
        except AppError as exc:
            status = 404 if exc.code == ErrorCode.NOT_FOUND else 400
            return await self._page(ctx, status, exc.message)
        return Redirect("/admin/users", status_code=303)

    @post("/{username:str}/password")
    async def reset_password(self, request: Req, ctx: Ctx, username: str) -> Template:
        form = await request.form()
        given = {"password": sent(form, "password") or None}
        try:
            made = await do_reset_password(
                admin_ops(request), username, read_input(PasswordReset, given)
            )
        except AppError as exc:
            status = 404 if exc.code == ErrorCode.NOT_FOUND else 400
            return await self._page(ctx, status, exc.message)
        if made.user.id == admin_of(request).id:
            return await self._page(ctx, who=username)  # one's own: nothing to show
        return await self._page(ctx, password=made.password or "", who=username)


class CannedPages(AdminPages):
    path = "/admin/canned"

    async def _page(self, ctx: Ctx, status: int = 200, error: str = "") -> Template:
        items = [canned_json(c, ctx.catalog) for c in await ctx.store.list_canned_responses()]
        return page("canned", ctx, status, items=items, desks=ctx.catalog.desks, error=error)

    @get("/")
    async def canned(self, ctx: Ctx) -> Template:
        return await self._page(ctx)

    @post("/")
    async def add_canned(self, request: Req, ctx: Ctx) -> Template | Redirect:
        form = await request.form()
        given = {k: sent(form, k) for k in ("title", "body", "desk")}
        try:
            await do_add_canned(admin_ops(request), read_input(CannedCreate, given))
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/canned", status_code=303)

    @post("/{canned_id:int}")
    async def update_canned(self, request: Req, ctx: Ctx, canned_id: RowId) -> Template | Redirect:
        form = await request.form()
        given = {k: sent(form, k) for k in ("title", "body", "desk")}
        try:
            await do_update_canned(admin_ops(request), canned_id, read_input(CannedUpdate, given))
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/canned", status_code=303)

    @post("/{canned_id:int}/delete")
    async def delete_canned(self, request: Req, canned_id: RowId) -> Redirect:
        try:
            await do_delete_canned(admin_ops(request), canned_id)
        except AppError:
            raise NotFoundException() from None
        return Redirect("/admin/canned", status_code=303)


class TagPages(AdminPages):
    path = "/admin/tags"

    async def _page(self, ctx: Ctx, status: int = 200, error: str = "") -> Template:
        tags = [tag_json(t) for t in await ctx.store.list_topic_tags()]
        return page("tags", ctx, status, tags=tags, error=error)

    @get("/")
    async def list_tags(self, ctx: Ctx) -> Template:
        return await self._page(ctx)

    @post("/")
    async def add_tag(self, request: Req, ctx: Ctx) -> Template | Redirect:
        form = await request.form()
        given = {k: sent(form, k) for k in ("key", "label_ja", "label_en")}
        try:
            await do_add_tag(admin_ops(request), read_input(TagCreate, given))
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/tags", status_code=303)

    @post("/{key:str}")
    async def update_tag(self, request: Req, ctx: Ctx, key: str) -> Template | Redirect:
        form = await request.form()
        given: dict[str, Any] = {k: sent(form, k) for k in ("label_ja", "label_en")}
        given["enabled"] = checked(form, "enabled")
        try:
            await do_update_tag(admin_ops(request), key, read_input(TagUpdate, given))
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/tags", status_code=303)


def contact_lines(value: str) -> list[dict[str, str]]:
    """The contacts textarea: one a line,
    ``name | number | note (ja) | note (en) | name (en) | reading (kana)``."""
    contacts = []
    for line in value.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if not 2 <= len(parts) <= len(CONTACT_FIELDS):
            raise AppError(
                ErrorCode.INVALID_PAYLOAD,
                f"{line.strip()!r}: name | number | note | note (en) | name (en) | reading",
            )
        padded = [*parts, *[""] * len(CONTACT_FIELDS)][: len(CONTACT_FIELDS)]
        contacts.append(dict(zip(CONTACT_FIELDS, padded, strict=True)))
    return contacts


CONTACT_FIELDS = ("name", "number", "note_ja", "note_en", "name_en", "name_kana")


class ContactPages(AdminPages):
    path = "/admin/contacts"

    def _page(self, ctx: Ctx, status: int = 200, error: str = "", shown: str = "") -> Template:
        contacts = [contact_json(c) for c in ctx.catalog.emergency_contacts]
        return page("contacts", ctx, status, contacts=contacts, error=error, shown=shown)

    @get("/")
    async def contacts(self, ctx: Ctx) -> Template:
        return self._page(ctx)

    @post("/")
    async def replace_contacts(self, request: Req, ctx: Ctx) -> Template | Redirect:
        form = await request.form()
        try:
            given = {"contacts": contact_lines(text(form, "contacts"))}
            await do_replace_contacts(admin_ops(request), read_input(ContactsReplace, given))
        except AppError as exc:
            return self._page(ctx, 400, exc.message, shown=text(form, "contacts"))
        return Redirect("/admin/contacts", status_code=303)


class AuditPages(AdminPages):
    path = "/admin/audit"

    @get("/")
    async def audit(self, ctx: Ctx) -> Template:
        entries = [audit_json(e) for e in await ctx.store.list_audit(500)]
        tag_names = {t.key: t.label_ja for t in await ctx.store.list_topic_tags()}
        return page("audit", ctx, entries=entries, tag_names=tag_names)


ADMIN_PAGES = [
    *ADMIN_PAGES_DIRECTORY,
    UserPages,
    CannedPages,
    TagPages,
    ContactPages,
    AuditPages,
]
