"""The counselors' inbox: login, logout and the single-page inbox shell."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from service.actions.accounts import log_out
from service.auth import SESSION_COOKIE, authenticate, open_session, user_of_session
from service.context import Context
from service.domain.conversations import OUTCOMES
from service.i18n import TEXT, pick_lang

NO_STORE = {"Cache-Control": "no-store"}


class LoginForm(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(max_length=150)] = ""
    password: Annotated[str, msgspec.Meta(max_length=1024)] = ""


def _session_cookie(ctx: Context, value: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="strict",
        max_age=max_age,
    )


class InboxController(Controller):
    path = "/inbox"
    include_in_schema = False

    @get("/login")
    async def login_page(self, lang: str | None = None) -> Template:
        chosen = pick_lang(lang)
        return Template(
            "inbox/login.html",
            context={"t": TEXT[chosen], "lang": chosen, "failed": False},
            headers=NO_STORE,
        )

    @post("/login")
    async def login(
        self,
        ctx: Context,
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        lang: str | None = None,
    ) -> Template | Redirect:
        user = await authenticate(ctx.store, data.username, data.password)
        if user is None:
            chosen = pick_lang(lang)
            return Template(
                "inbox/login.html",
                context={"t": TEXT[chosen], "lang": chosen, "failed": True},
                status_code=401,
                headers=NO_STORE,
            )
        session_id = await open_session(ctx.store, user)
        return Redirect("/inbox", status_code=303, cookies=[_session_cookie(ctx, session_id)])

    @post("/logout")
    async def logout(self, request: Request, ctx: Context) -> Redirect:  # type: ignore[type-arg]
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            await log_out(ctx, session_id)
        return Redirect(
            "/inbox/login", status_code=303, cookies=[_session_cookie(ctx, "", max_age=0)]
        )

    @get("/")
    async def inbox(
        self,
        request: Request,  # type: ignore[type-arg]
        ctx: Context,
        lang: str | None = None,
    ) -> Template | Redirect:
        user = await user_of_session(ctx.store, ctx.settings, request.cookies.get(SESSION_COOKIE))
        if user is None:
            return Redirect("/inbox/login", status_code=303)
        chosen = pick_lang(lang)
        text = TEXT[chosen]
        return Template(
            "inbox/index.html",
            context={
                "t": text,
                "lang": chosen,
                "user": user,
                "outcomes": [(outcome, text[f"outcome_{outcome}"]) for outcome in OUTCOMES],
            },
            headers=NO_STORE,
        )
