"""Who may open which staff page: guards for ``/inbox/...`` as small functions that raise
(litestar ``docs/examples/security/guards.py``).

Not logged in: a redirect to the login page. Logged in without the role: 403, with a page
that says so. The session is looked up on every request, so a deactivation or a role change
takes effect at the next click. A route names its roles in ``opt={"roles": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from service.auth import SESSION_COOKIE, user_of_session
from service.context import Ctx
from service.domain.accounts import ROLES, User
from service.domain.audit import Actor
from service.domain.casework import INBOX_ROLES, SUPERVISING_ROLES
from service.i18n import CASEWORK_TEXT, TEXT, pick_lang
from service.training_i18n import TRAINING_TEXT

Req = Request[Any, Any, Any]
NO_STORE = {"Cache-Control": "no-store"}
_USER = "madoguchi_staff"
COUNSELING = {"roles": INBOX_ROLES}
SUPERVISING = {"roles": SUPERVISING_ROLES}
ANY_STAFF = {"roles": frozenset(ROLES)}


def text_of(lang: str) -> Mapping[str, str]:
    return {**TEXT[lang], **CASEWORK_TEXT[lang], **TRAINING_TEXT[lang]}


async def staff_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    ctx: Ctx = connection.app.state.ctx
    user = await user_of_session(ctx.store, ctx.settings, connection.cookies.get(SESSION_COOKIE))
    if user is None:
        raise NotAuthorizedException("please log in")
    if user.role not in handler.opt.get("roles", INBOX_ROLES):
        raise PermissionDeniedException("your role may not open this page")
    connection.state[_USER] = user


def staff_of(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The user that :func:`staff_only` let through."""
    user: User = connection.state[_USER]
    return user


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    user = staff_of(connection)
    return Actor(user.username, user.id)


def to_login(_: Req, __: NotAuthorizedException) -> Response[Any]:
    return Redirect("/inbox/login", status_code=303)


def forbidden_page(request: Req, _: PermissionDeniedException) -> Response[Any]:
    lang = pick_lang(request.query_params.get("lang"))
    return Template(
        "inbox/forbidden.html",
        context={"t": text_of(lang), "lang": lang},
        status_code=403,
        headers=NO_STORE,
    )


STAFF_EXCEPTIONS = {NotAuthorizedException: to_login, PermissionDeniedException: forbidden_page}
