"""The admin JSON API for staff: accounts, canned responses and topic tags.

Passwords are hashed with argon2id (``service.auth``) and never logged or audited. A password
the server generates is returned once, in the answer to the request that made it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import delete, get, patch, post

from service.actions.accounts import disconnect_user
from service.auth import hash_password, new_password
from service.context import Ctx
from service.domain.checks import (
    check_key,
    check_password,
    check_role,
    check_text,
    check_username,
)
from service.errors import AppError, ErrorCode
from service.http.admin_api import AdminApi, Json, Req
from service.http.admin_views import canned_json, tag_json, user_json
from service.http.guards import actor_of
from service.http.params import RowId

Body = Annotated[str, msgspec.Meta(max_length=4000)]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    role: str
    display_name: str | None = None
    password: str | None = None
    """Left out: the server makes one and returns it once."""
    desks: list[str] | None = None
    """Left out or null: every desk."""


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    display_name: str | None = None
    role: str | None = None
    active: bool | None = None
    desks: list[str] | None = None
    all_desks: bool | None = None
    """true: the account works every desk (``desks`` is then ignored)."""


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    password: str | None = None


class CannedCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    body: Body
    desk: str | None = None


class CannedUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: str | None = None
    body: Body | None = None
    desk: str | None = None
    """``""``: every desk."""


class TagCreate(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    label_ja: str
    label_en: str = ""


class TagUpdate(msgspec.Struct, forbid_unknown_fields=True):
    label_ja: str | None = None
    label_en: str | None = None
    enabled: bool | None = None


def user_fields(data: UserUpdate) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if data.display_name is not None:
        fields["display_name"] = check_text(data.display_name, "display name", max_length=50)
    if data.role is not None:
        fields["role"] = check_role(data.role)
    if data.active is not None:
        fields["active"] = data.active
    if data.all_desks:
        fields["desks"] = None
    elif data.desks is not None:
        fields["desks"] = [check_key(k, "desk") for k in data.desks]
    return fields


class UsersApi(AdminApi):
    path = "/api/v1/admin/users"

    @get("/")
    async def list_users(self, ctx: Ctx) -> Json:
        users = await ctx.store.list_users()
        return {"users": [user_json(u, ctx.catalog) for u in users]}

    @post("/")
    async def create_user(self, request: Req, ctx: Ctx, data: UserCreate) -> Json:
        username = check_username(data.username)
        password = check_password(data.password) if data.password else new_password()
        await ctx.store.create_user(
            actor_of(request),
            username,
            check_text(data.display_name or username, "display name", max_length=50),
            check_role(data.role),
            hash_password(password),
            None if data.desks is None else [check_key(k, "desk") for k in data.desks],
        )
        user = await _user(ctx, username)
        answer: Json = {"user": user_json(user, ctx.catalog)}
        if not data.password:
            answer["password"] = password
        return answer

    @patch("/{username:str}")
    async def update_user(self, request: Req, ctx: Ctx, username: str, data: UserUpdate) -> Json:
        user = await ctx.store.update_user(actor_of(request), username, user_fields(data))
        if not user.active:
            await disconnect_user(ctx, user.id)
        return {"user": user_json(user, ctx.catalog)}

    @post("/{username:str}/password")
    async def reset_password(
        self, request: Req, ctx: Ctx, username: str, data: PasswordReset
    ) -> Json:
        """Set a new password (or let the server make one); the account's sessions end."""
        password = check_password(data.password) if data.password else new_password()
        await ctx.store.set_password(actor_of(request), username, hash_password(password))
        await disconnect_user(ctx, (await _user(ctx, username)).id)
        return {"password": password} if not data.password else {}


async def _user(ctx: Ctx, username: str) -> Any:
    found = next((u for u in await ctx.store.list_users() if u.username == username), None)
    if found is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    return found


class CannedResponsesApi(AdminApi):
    path = "/api/v1/admin/canned-responses"

    @get("/")
    async def list_canned(self, ctx: Ctx) -> Json:
        items = await ctx.store.list_canned_responses()
        return {"canned_responses": [canned_json(c, ctx.catalog) for c in items]}

    @post("/")
    async def create_canned(self, request: Req, ctx: Ctx, data: CannedCreate) -> Json:
        canned = await ctx.store.insert_canned_response(
            actor_of(request),
            check_key(data.desk, "desk") if data.desk else None,
            check_text(data.title, "title", max_length=100),
            check_text(data.body, "text", max_length=4000),
        )
        return canned_json(canned, ctx.catalog)

    @patch("/{canned_id:int}")
    async def update_canned(
        self, request: Req, ctx: Ctx, canned_id: RowId, data: CannedUpdate
    ) -> Json:
        fields: dict[str, Any] = {}
        if data.title is not None:
            fields["title"] = check_text(data.title, "title", max_length=100)
        if data.body is not None:
            fields["body"] = check_text(data.body, "text", max_length=4000)
        if data.desk is not None:
            fields["desk"] = check_key(data.desk, "desk") if data.desk else None
        canned = await ctx.store.update_canned_response(actor_of(request), canned_id, fields)
        return canned_json(canned, ctx.catalog)

    @delete("/{canned_id:int}")
    async def delete_canned(self, request: Req, ctx: Ctx, canned_id: RowId) -> None:
        await ctx.store.delete_canned_response(actor_of(request), canned_id)


class TopicTagsApi(AdminApi):
    path = "/api/v1/admin/topic-tags"

    @get("/")
    async def list_tags(self, ctx: Ctx) -> Json:
        return {"topic_tags": [tag_json(t) for t in await ctx.store.list_topic_tags()]}

    @post("/")
    async def create_tag(self, request: Req, ctx: Ctx, data: TagCreate) -> Json:
        tag = await ctx.store.insert_topic_tag(
            actor_of(request),
            check_key(data.key),
            check_text(data.label_ja, "label", max_length=50),
            check_text(data.label_en, "label", max_length=50, required=False),
        )
        return tag_json(tag)

    @patch("/{key:str}")
    async def update_tag(self, request: Req, ctx: Ctx, key: str, data: TagUpdate) -> Json:
        fields: dict[str, Any] = {}
        if data.label_ja is not None:
            fields["label_ja"] = check_text(data.label_ja, "label", max_length=50)
        if data.label_en is not None:
            fields["label_en"] = check_text(data.label_en, "label", max_length=50, required=False)
        if data.enabled is not None:
            fields["enabled"] = data.enabled
        return tag_json(await ctx.store.update_topic_tag(actor_of(request), key, fields))


ADMIN_API_STAFF = [UsersApi, CannedResponsesApi, TopicTagsApi]
