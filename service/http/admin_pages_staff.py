"""The admin web pages for staff: accounts, canned responses, topic tags and the audit log."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from service.actions.accounts import disconnect_user
from service.auth import hash_password, new_password
from service.context import Ctx
from service.domain.accounts import ROLES
from service.domain.checks import (
    check_key,
    check_password,
    check_role,
    check_text,
    check_username,
)
from service.errors import AppError
from service.http.admin_pages import (
    ADMIN_PAGES_DIRECTORY,
    AdminPages,
    Req,
    page,
    text,
)
from service.http.admin_views import audit_json, canned_json, tag_json, user_json
from service.http.guards import actor_of, admin_of
from service.http.params import RowId


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
        password = new_password()
        try:
            username = check_username(text(form, "username"))
            desks = [check_key(k, "desk") for k in form.getall("desks", [])]
            await ctx.store.create_user(
                actor_of(request),
                username,
                check_text(text(form, "display_name") or username, "display name", max_length=50),
                check_role(text(form, "role")),
                hash_password(password),
                desks or None,
            )
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        # Shown once, on this page only: the new account's first password.
        return await self._page(ctx, password=password, who=username)

    @post("/{username:str}")
    async def update_user(self, request: Req, ctx: Ctx, username: str) -> Template | Redirect:
        form = await request.form()
        fields: dict[str, Any] = {}
        try:
            if "role" in form:
                fields["role"] = check_role(text(form, "role"))
            if "display_name" in form:
                fields["display_name"] = check_text(
                    text(form, "display_name"), "display name", max_length=50
                )
            if "active" in form:
                fields["active"] = form.get("active") == "1"
            if "desks_shown" in form:
                desks = [check_key(k, "desk") for k in form.getall("desks", [])]
                fields["desks"] = desks or None
            user = await ctx.store.update_user(actor_of(request), username, fields)
        except AppError as exc:
            return await self._page(ctx, 400 if exc.code != "not_found" else 404, exc.message)
        if not user.active:
            await disconnect_user(ctx, user.id)
        return Redirect("/admin/users", status_code=303)

    @post("/{username:str}/password")
    async def reset_password(self, request: Req, ctx: Ctx, username: str) -> Template:
        form = await request.form()
        given = text(form, "password")
        try:
            password = check_password(given) if given else new_password()
            await ctx.store.set_password(actor_of(request), username, hash_password(password))
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        found = [u for u in await ctx.store.list_users() if u.username == username]
        if found:
            await disconnect_user(ctx, found[0].id)
        if found and found[0].id == admin_of(request).id:
            return await self._page(ctx, who=username)  # one's own: nothing to show
        return await self._page(ctx, password="" if given else password, who=username)


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
        try:
            await ctx.store.insert_canned_response(
                actor_of(request),
                check_key(text(form, "desk"), "desk") if text(form, "desk") else None,
                check_text(text(form, "title"), "title", max_length=100),
                check_text(text(form, "body"), "text", max_length=4000),
            )
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/canned", status_code=303)

    @post("/{canned_id:int}")
    async def update_canned(self, request: Req, ctx: Ctx, canned_id: RowId) -> Template | Redirect:
        form = await request.form()
        try:
            fields = {
                "title": check_text(text(form, "title"), "title", max_length=100),
                "body": check_text(text(form, "body"), "text", max_length=4000),
                "desk": check_key(text(form, "desk"), "desk") if text(form, "desk") else None,
            }
            await ctx.store.update_canned_response(actor_of(request), canned_id, fields)
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/canned", status_code=303)

    @post("/{canned_id:int}/delete")
    async def delete_canned(self, request: Req, ctx: Ctx, canned_id: RowId) -> Redirect:
        try:
            await ctx.store.delete_canned_response(actor_of(request), canned_id)
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
        try:
            await ctx.store.insert_topic_tag(
                actor_of(request),
                check_key(text(form, "key")),
                check_text(text(form, "label_ja"), "label", max_length=50),
                check_text(text(form, "label_en"), "label", max_length=50, required=False),
            )
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/tags", status_code=303)

    @post("/{key:str}")
    async def update_tag(self, request: Req, ctx: Ctx, key: str) -> Template | Redirect:
        form = await request.form()
        try:
            fields = {
                "label_ja": check_text(text(form, "label_ja"), "label", max_length=50),
                "label_en": check_text(
                    text(form, "label_en"), "label", max_length=50, required=False
                ),
                "enabled": form.get("enabled") == "on",
            }
            await ctx.store.update_topic_tag(actor_of(request), key, fields)
        except AppError as exc:
            return await self._page(ctx, 400, exc.message)
        return Redirect("/admin/tags", status_code=303)


class AuditPages(AdminPages):
    path = "/admin/audit"

    @get("/")
    async def audit(self, ctx: Ctx) -> Template:
        entries = [audit_json(e) for e in await ctx.store.list_audit(500)]
        return page("audit", ctx, entries=entries)


ADMIN_PAGES = [*ADMIN_PAGES_DIRECTORY, UserPages, CannedPages, TagPages, AuditPages]
