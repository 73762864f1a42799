"""The counselors' inbox: login (throttled), logout, changing one's own password, and the inbox
and supervisors' board pages (the script draws them from the ``/counselor`` socket)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from service import access
from service.actions.accounts import drop_other_logins, log_out
from service.actions.availability import set_availability
from service.auth import (
    SESSION_COOKIE,
    authenticate,
    hash_password,
    open_session,
    verify_password,
)
from service.context import Ctx
from service.domain.accounts import User
from service.domain.checks import check_password
from service.domain.conversations import OUTCOMES
from service.domain.login_throttle import Attempt
from service.errors import AppError
from service.http.canned import CannedController
from service.http.casebook import CasebookController
from service.http.practice import PracticeController
from service.http.staff_pages import (
    ANY_STAFF,
    COUNSELING,
    NO_STORE,
    STAFF_EXCEPTIONS,
    SUPERVISING,
    actor_of,
    staff_of,
    staff_only,
    text_of,
)
from service.i18n import pick_lang
from service.login_throttling import Throttle
from service.storage import sha256

Req = Request[Any, Any, Any]


class LoginForm(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(max_length=150)] = ""
    password: Annotated[str, msgspec.Meta(max_length=1024)] = ""


class PasswordForm(msgspec.Struct):
    current: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    new: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    again: Annotated[str, msgspec.Meta(max_length=1024)] = ""


def _session_cookie(ctx: Ctx, value: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="strict",
        max_age=max_age,
    )


def _address(request: Req) -> str:
    # The staff member's address (http/client_address.py decides it), for the throttle in
    # memory; never stored nor logged.
    return request.client.host if request.client else ""


def _retry_after(seconds: float) -> dict[str, str]:
    return {**NO_STORE, "Retry-After": str(math.ceil(seconds))}


def _login_page(
    lang: str | None, problem: str = "", status_code: int = 200, wait: float = 0.0
) -> Template:
    chosen = pick_lang(lang)
    return Template(
        "inbox/login.html",
        context={
            "t": text_of(chosen),
            "lang": chosen,
            "problem": problem,
            "wait": math.ceil(wait),
        },
        status_code=status_code,
        headers=_retry_after(wait) if wait else NO_STORE,
    )


def _staff_context(ctx: Ctx, user: User, lang: str) -> dict[str, Any]:
    text = text_of(lang)
    return {
        "t": text,
        "lang": lang,
        "user": user,
        "outcomes": [(outcome, text[f"outcome_{outcome}"]) for outcome in OUTCOMES],
    }


class InboxController(Controller):
    path = "/inbox"
    include_in_schema = False
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/login")
    async def login_page(self, lang: str | None = None) -> Template:
        return _login_page(lang)

    @post("/login")
    async def login(
        self,
        request: Req,
        ctx: Ctx,
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        lang: str | None = None,
    ) -> Template | Redirect:
        throttle: Throttle = request.app.state.throttle
        # Counted before the password is checked, so that concurrent guesses cannot all pass
        # while the first are being checked; refused at once, never held, while throttled.
        attempt = await throttle.begin(data.username, _address(request))
        if not isinstance(attempt, Attempt):
            return _login_page(lang, "login_throttled", status_code=429, wait=attempt)
        user = await authenticate(ctx.store, data.username, data.password)
        if user is None:
            await ctx.store.record_failed_login(data.username)
            return _login_page(lang, "login_failed", status_code=401)
        await throttle.succeeded(attempt)
        session_id = await open_session(ctx.store, user)
        # A new login starts available: away was for the time before it.
        await set_availability(ctx, user.id, "available")
        return Redirect("/inbox", status_code=303, cookies=[_session_cookie(ctx, session_id)])

    @post("/logout")
    async def logout(self, request: Req, ctx: Ctx) -> Redirect:
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            await log_out(ctx, session_id)
        return Redirect(
            "/inbox/login", status_code=303, cookies=[_session_cookie(ctx, "", max_age=0)]
        )

    @get("/", guards=[staff_only], opt=COUNSELING)
    async def inbox(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._page("inbox/index.html", request, ctx, lang)

    @get("/board", guards=[staff_only], opt=SUPERVISING)
    async def board(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._page("inbox/board.html", request, ctx, lang)

    async def _page(self, name: str, request: Req, ctx: Ctx, lang: str | None) -> Template:
        user, chosen = staff_of(request), pick_lang(lang)
        context = _staff_context(ctx, user, chosen)
        desks = access.desks_worked(user, ctx.catalog.desks.values())
        canned = [
            c
            for c in await ctx.store.list_canned_responses()
            if access.sees_canned(user, c.desk_id)
        ]
        colleagues = access.colleagues(user, await ctx.store.list_users())
        return Template(
            name,
            context={
                **context,
                "desks": desks,
                "all_desks": list(ctx.catalog.desks.values()),
                "canned": [
                    {"title": c.title, "body": c.body, "desk": _desk_key(ctx, c.desk_id)}
                    for c in canned
                ],
                "tags": [t for t in await ctx.store.list_topic_tags() if t.enabled],
                "colleagues": colleagues,
                "practice_desks": [d for d in desks if access.may_practise(user, d)],
            },
            headers=NO_STORE,
        )

    @get("/password", guards=[staff_only], opt=ANY_STAFF)
    async def password_page(self, request: Req, lang: str | None = None) -> Template:
        return _password_page(staff_of(request), lang)

    @post("/password", guards=[staff_only], opt=ANY_STAFF)
    async def change_password(
        self,
        request: Req,
        ctx: Ctx,
        data: Annotated[PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        lang: str | None = None,
    ) -> Template:
        """Change one's own password: every other login of the account ends, with its sockets
        (whoever knew the old password is out); this one goes on."""
        user = staff_of(request)
        throttle: Throttle = request.app.state.throttle
        attempt = await throttle.begin(user.username, _address(request))
        if not isinstance(attempt, Attempt):
            return _password_page(user, lang, "login_throttled", 429)
        if not await verify_password(ctx.store, user.username, data.current):
            return _password_page(user, lang, "password_wrong", 400)
        await throttle.succeeded(attempt)
        if data.new != data.again:
            return _password_page(user, lang, "password_mismatch", 400)
        try:
            check_password(data.new)
        except AppError:
            return _password_page(user, lang, "password_short", 400)
        session_id = request.cookies.get(SESSION_COOKIE, "")
        await ctx.store.change_own_password(
            actor_of(request), user.id, await hash_password(data.new), sha256(session_id)
        )
        await drop_other_logins(ctx, user.id, keep_session_id=session_id)
        return _password_page(user, lang, done=True)


def _password_page(
    user: User, lang: str | None, problem: str = "", status_code: int = 200, done: bool = False
) -> Template:
    chosen = pick_lang(lang)
    return Template(
        "inbox/password.html",
        context={
            "t": text_of(chosen),
            "lang": chosen,
            "user": user,
            "problem": problem,
            "done": done,
            "home": "/admin" if user.role == "admin" else "/inbox",
        },
        status_code=status_code,
        headers=NO_STORE,
    )


def _desk_key(ctx: Ctx, desk_id: int | None) -> str:
    desk = ctx.catalog.desk_by_id(desk_id) if desk_id is not None else None
    return desk.key if desk else ""


INBOX_PAGES = [InboxController, CasebookController, CannedController, PracticeController]
