"""Who may use the admin pages and the admin API: a logged-in, active admin, nobody else.

Guards as in litestar ``docs/examples/security/guards.py``: small functions that raise. The
session comes from the inbox's ``mg_session`` cookie and is looked up on every request, so a
role change or a deactivation takes effect at the next click.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from service.actions.accounts import disconnect_user
from service.actions.admin import Admin
from service.auth import SESSION_COOKIE, user_of_session
from service.context import Ctx
from service.domain.accounts import User
from service.domain.audit import Actor

_USER = "madoguchi_user"


async def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    ctx: Ctx = connection.app.state.ctx
    user = await user_of_session(ctx.store, ctx.settings, connection.cookies.get(SESSION_COOKIE))
    if user is None:
        raise NotAuthorizedException("please log in")
    if user.role != "admin":
        raise PermissionDeniedException("administrators only")
    connection.state[_USER] = user


def admin_of(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The admin that :func:`admin_only` let through."""
    user: User = connection.state[_USER]
    return user


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    user = admin_of(connection)
    return Actor(user.username, user.id)


def admin_ops(connection: ASGIConnection[Any, Any, Any, Any]) -> Admin:
    """The logged-in admin as the author of admin operations, with what the server must do
    after them: reload the catalog, drop an account's sockets."""
    ctx: Ctx = connection.app.state.ctx
    return Admin(ctx.store, actor_of(connection), ctx.catalog.reload, partial(disconnect_user, ctx))
