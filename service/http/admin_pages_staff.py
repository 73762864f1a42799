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
from service.domain.checks import ALL_DESKS, check_contacts
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
from service.http.form_errors import FieldError, Forms, FormState, refusal, refused, typed
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
            users=users,
            roles=ROLES,
            desks=ctx.catalog.desks,
            all_desks=ALL_DESKS,
            forms=forms or Forms(),
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
            values = typed(form, "desks")
            return await self._page(ctx, 400, refused("new", exc, USER_FIELDS, values))
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
            kind, fields = user_form_of(form)
            forms = refused(f"{kind}-{username}", exc, fields, typed(form, "desks"))
            return await self._page(ctx, status, forms)
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
            forms = refused(f"password-{username}", exc, ("submit",), typed(form))
            return await self._page(ctx, status, forms)
        if made.user.id == admin_of(request).id:
            return await self._page(ctx, who=username)  # one's own: nothing to show
        return await self._page(ctx, password=made.password or "", who=username)


CANNED_FIELDS = ("title", "body", "desk")


class CannedPages(AdminPages):
    path = "/admin/canned"

    async def _page(self, ctx: Ctx, status: int = 200, forms: Forms | None = None) -> Template:
        items = [canned_json(c, ctx.catalog) for c in await ctx.store.list_canned_responses()]
        return page("canned", ctx, status, items=items, forms=forms or Forms())

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
            return await self._page(ctx, 400, refused("new", exc, CANNED_FIELDS, typed(form)))
        return Redirect("/admin/canned", status_code=303)

    @post("/{canned_id:int}")
    async def update_canned(self, request: Req, ctx: Ctx, canned_id: RowId) -> Template | Redirect:
        form = await request.form()
        given = {k: sent(form, k) for k in ("title", "body", "desk")}
        try:
            await do_update_canned(admin_ops(request), canned_id, read_input(CannedUpdate, given))
        except AppError as exc:
            forms = refused(f"canned-{canned_id}", exc, CANNED_FIELDS, typed(form))
            return await self._page(ctx, 400, forms)
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

    async def _page(self, ctx: Ctx, status: int = 200, forms: Forms | None = None) -> Template:
        tags = [tag_json(t) for t in await ctx.store.list_topic_tags()]
        return page("tags", ctx, status, tags=tags, forms=forms or Forms())

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
            forms = refused("new", exc, ("key", "label_ja", "label_en"), typed(form))
            return await self._page(ctx, 400, forms)
        return Redirect("/admin/tags", status_code=303)

    @post("/{key:str}")
    async def update_tag(self, request: Req, ctx: Ctx, key: str) -> Template | Redirect:
        form = await request.form()
        given: dict[str, Any] = {k: sent(form, k) for k in ("label_ja", "label_en")}
        given["enabled"] = checked(form, "enabled")
        try:
            await do_update_tag(admin_ops(request), key, read_input(TagUpdate, given))
        except AppError as exc:
            fields = ("label_ja", "label_en", "enabled")
            return await self._page(ctx, 400, refused(f"tag-{key}", exc, fields, typed(form)))
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


def contact_refusal(exc: AppError, value: str) -> FieldError:
    """The refusal of the contacts textarea, said of its first line that is refused on its
    own (``3行目：番号を入力してください。``), or of the whole list."""
    for number, line in enumerate(value.splitlines(), start=1):
        row: dict[str, str] = {}
        try:
            for row in contact_lines(line):
                name, phone, note_ja, note_en, name_en, kana = (row[f] for f in CONTACT_FIELDS)
                check_contacts([(name, phone, note_ja, note_en, name_en, kana)])
        except AppError as own:
            said = refusal(own, CONTACT_FIELDS, row)
            return FieldError("contacts", f"{number}行目：{said.message}", own.message)
    return refusal(exc, ("contacts",), {})


class ContactPages(AdminPages):
    path = "/admin/contacts"

    def _page(self, ctx: Ctx, status: int = 200, forms: Forms | None = None) -> Template:
        contacts = [contact_json(c) for c in ctx.catalog.emergency_contacts]
        listed = "".join(" | ".join(c[f] for f in CONTACT_FIELDS) + "\n" for c in contacts)
        return page(
            "contacts",
            ctx,
            status,
            contacts=contacts,
            current={"contacts": listed},
            forms=forms or Forms(),
        )

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
            error = contact_refusal(exc, text(form, "contacts"))
            failed = FormState("contacts", typed(form), {"contacts": error})
            return self._page(ctx, 400, Forms(failed, "contacts"))
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
