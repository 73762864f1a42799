"""The admin JSON API for staff: accounts, canned responses and topic tags.

Passwords are hashed with argon2id (``service.auth``) and never logged or audited. A password
the server generates is returned once, in the answer to the request that made it.
"""

from __future__ import annotations

from litestar import delete, get, patch, post

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
from service.http.admin_api import AdminApi, Json, Req
from service.http.admin_views import canned_json, tag_json, user_json
from service.http.guards import admin_ops
from service.http.params import RowId


class UsersApi(AdminApi):
    path = "/api/v1/admin/users"

    @get("/")
    async def list_users(self, ctx: Ctx) -> Json:
        users = await ctx.store.list_users()
        return {"users": [user_json(u, ctx.catalog) for u in users]}

    @post("/")
    async def create_user(self, request: Req, ctx: Ctx, data: UserCreate) -> Json:
        made = await do_add_user(admin_ops(request), data)
        answer: Json = {"user": user_json(made.user, ctx.catalog)}
        if made.password:
            answer["password"] = made.password
        return answer

    @patch("/{username:str}")
    async def update_user(self, request: Req, ctx: Ctx, username: str, data: UserUpdate) -> Json:
        user = await do_update_user(admin_ops(request), username, data)
        return {"user": user_json(user, ctx.catalog)}

    @post("/{username:str}/password")
    async def reset_password(self, request: Req, username: str, data: PasswordReset) -> Json:
        """Set a new password (or let the server make one); the account's sessions end."""
        made = await do_reset_password(admin_ops(request), username, data)
        return {"password": made.password} if made.password else {}


class CannedResponsesApi(AdminApi):
    path = "/api/v1/admin/canned-responses"

    @get("/")
    async def list_canned(self, ctx: Ctx) -> Json:
        items = await ctx.store.list_canned_responses()
        return {"canned_responses": [canned_json(c, ctx.catalog) for c in items]}

    @post("/")
    async def create_canned(self, request: Req, ctx: Ctx, data: CannedCreate) -> Json:
        return canned_json(await do_add_canned(admin_ops(request), data), ctx.catalog)

    @patch("/{canned_id:int}")
    async def update_canned(
        self, request: Req, ctx: Ctx, canned_id: RowId, data: CannedUpdate
    ) -> Json:
        canned = await do_update_canned(admin_ops(request), canned_id, data)
        return canned_json(canned, ctx.catalog)

    @delete("/{canned_id:int}")
    async def delete_canned(self, request: Req, canned_id: RowId) -> None:
        await do_delete_canned(admin_ops(request), canned_id)


class TopicTagsApi(AdminApi):
    path = "/api/v1/admin/topic-tags"

    @get("/")
    async def list_tags(self, ctx: Ctx) -> Json:
        return {"topic_tags": [tag_json(t) for t in await ctx.store.list_topic_tags()]}

    @post("/")
    async def create_tag(self, request: Req, data: TagCreate) -> Json:
        return tag_json(await do_add_tag(admin_ops(request), data))

    @patch("/{key:str}")
    async def update_tag(self, request: Req, key: str, data: TagUpdate) -> Json:
        return tag_json(await do_update_tag(admin_ops(request), key, data))


ADMIN_API_STAFF = [UsersApi, CannedResponsesApi, TopicTagsApi]
