"""CSRF on every unsafe route, read from the app itself: a new route is swept without a word here.

Each POST, PUT, PATCH and DELETE of the Litestar app is called with a live session of a role
that may use it, but without the token, with a wrong one, or with a token and no cookie: 403,
and the database does not move. The same call with the right token is not refused as forbidden,
which shows that the 403 came from the missing token and not from a guard.
(The session cookie's SameSite=Strict and HttpOnly: tests/test_http.py.)
"""

from __future__ import annotations

import functools
import inspect
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from service.config import Settings
from service.http.guards import admin_only
from service.http.staff_pages import staff_only
from tests.conftest import PASSWORD
from tests.support import Server, every_row, login_sync, running_server, snapshot

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes that may be called without the token, each with its reason. None: even /inbox/login
# needs it (a forged login would put a victim's browser into the attacker's account).
EXEMPT: dict[tuple[str, str], str] = {}
PERSONAS = {"aiko": "admin", "mori": "supervisor", "hana": "counselor"}
# Path parameters of objects that exist on a fresh server (or are made in ``server`` below).
EXISTING = {
    "key": "general",
    "code": "spring",
    "username": "hana",
    "canned_id": "1",
    "conversation_id": "0" * 32,
    "scenario_id": "1",
    "item_id": "1",
    "user_id": "1",
}
MISSING = {
    "key": "no-such-key",
    "code": "no-such-code",
    "username": "nobody",
    "canned_id": "999999",
    "conversation_id": "f" * 32,
    "scenario_id": "999999",
    "item_id": "999999",
    "user_id": "999999",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # Litestar's template, e.g. /admin/desks/{key:str}
    handler: HTTPRouteHandler

    @property
    def role(self) -> str | None:
        """The least role that may use the route (None: no session needed)."""
        guards = self.handler.resolve_guards()
        if admin_only in guards:
            return "admin"
        if staff_only in guards:
            allowed = self.handler.opt.get("roles", frozenset({"counselor"}))
            return next(r for r in ("counselor", "supervisor", "admin") if r in allowed)
        return None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def url(self, params: dict[str, str]) -> str:
        return re.sub(r"\{(\w+):\w+\}", lambda m: params[m.group(1)], self.path)


@functools.cache
def litestar_app() -> Litestar:
    """The Litestar app inside what ``create_app`` returns (plain ASGI wrappers, each holding
    the next as ``app``, around Socket.IO around Litestar)."""
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        # Litestar 2.22 deprecates litestar.contrib.jinja and inferred dependencies, both of
        # which service/app.py still uses; the server itself does not run with warnings as errors.
        warnings.simplefilter("ignore", DeprecationWarning)
        from service.app import create_app

        wrapped = create_app(Settings(db_path=Path(tmp) / "unused.sqlite3"))
        asgi = wrapped
        while not isinstance(asgi, socketio.ASGIApp):
            asgi = inspect.getclosurevars(asgi).nonlocals["app"]
        app = asgi.other_asgi_app
    assert isinstance(app, Litestar)
    return app


def app_routes() -> list[Route]:
    """Every HTTP route of the app, each method on its own."""
    routes = []
    for route in litestar_app().routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, handler in route.route_handler_map.items():
            found = handler[0] if isinstance(handler, tuple) else handler
            if isinstance(found, HTTPRouteHandler):
                routes.append(Route(method, route.path, found))
    return sorted(routes, key=lambda r: (r.path, r.method))


def unsafe_routes() -> list[Route]:
    return [r for r in app_routes() if r.method in UNSAFE and (r.method, r.path) not in EXEMPT]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        for username, role in PERSONAS.items():
            srv.add_user(username, PASSWORD, role=role)
        with httpx.Client(base_url=srv.url) as http:
            http.cookies["mg_session"] = login_sync(srv, "aiko", PASSWORD)
            http.get("/inbox/login")
            http.headers["x-csrftoken"] = http.cookies["mg_csrf"]
            for path, body in [
                ("/api/v1/admin/campaigns", {"code": "spring", "name": "春", "desk": "general"}),
                ("/api/v1/admin/canned-responses", {"title": "挨拶", "body": "こんにちは"}),
            ]:
                made = http.post(path, json=body)
                assert made.status_code == 201, made.text
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {role: login_sync(server, name, PASSWORD) for name, role in PERSONAS.items()}


@pytest.fixture(scope="module")
def csrf_cookie(server: Server) -> str:
    with httpx.Client(base_url=server.url) as http:
        http.get("/inbox/login")
        return str(http.cookies["mg_csrf"])


def everything(server: Server) -> dict[str, Any]:
    """Every row of every table (a session's last use aside), the audit log included."""
    rows: dict[str, Any] = every_row(server)
    del rows["session"]
    return {**rows, "session": snapshot(server)["session"]}


def forged(route: Route, url: str, http: httpx.Client, variant: str) -> httpx.Response:
    """One call as a forging page could make it: a plausible body, the token missing or wrong.
    A forged login carries real credentials: it would succeed with the token."""
    fields = {"key": "forged", "name": "偽", "title": "偽", "body": "偽", "password": "x" * 12}
    if route.path == "/inbox/login":
        fields = {"username": "hana", "password": PASSWORD}
    headers = {"x-csrftoken": "0" * 128} if variant == "wrong header" else {}
    if variant == "wrong form field":
        return http.request(route.method, url, data={**fields, "_csrf_token": "0" * 128})
    if route.is_api:
        return http.request(route.method, url, json=fields, headers=headers)
    return http.request(route.method, url, data=fields, headers=headers)


def test_the_sweep_finds_the_routes_of_every_area() -> None:
    paths = {r.path for r in unsafe_routes()}
    for prefix in ("/inbox/login", "/inbox/logout", "/inbox/closed/", "/admin/", "/api/v1/admin/"):
        assert any(p.startswith(prefix) for p in paths), prefix
    assert len(paths) > 30
    assert {r.role for r in unsafe_routes()} >= {"admin", "counselor", "supervisor", None}


@pytest.mark.parametrize(
    "variant", ["no token", "wrong header", "wrong form field", "token without cookie"]
)
def test_every_unsafe_route_refuses_a_call_without_the_right_token(
    server: Server, sessions: dict[str, str], csrf_cookie: str, variant: str
) -> None:
    before = everything(server)
    for route in unsafe_routes():
        cookies = {"mg_session": sessions[route.role or "counselor"]}
        if variant != "token without cookie":
            cookies["mg_csrf"] = csrf_cookie
        with httpx.Client(base_url=server.url, cookies=cookies) as http:
            if variant == "token without cookie":
                http.headers["x-csrftoken"] = csrf_cookie
            response = forged(route, route.url(EXISTING), http, variant)
        assert response.status_code == 403, (variant, route.method, route.path, response.text)
    assert everything(server) == before


def test_with_the_right_token_the_same_calls_are_not_forbidden(
    server: Server, sessions: dict[str, str], csrf_cookie: str
) -> None:
    """The control: with the token, no route answers 403, so the refusals above were CSRF's.
    Objects that do not exist and empty bodies keep these calls from changing anything."""
    last = sorted(unsafe_routes(), key=lambda r: r.path == "/inbox/logout")  # it ends a session
    answers = set()
    for route in last:
        cookies = {"mg_session": sessions[route.role or "counselor"], "mg_csrf": csrf_cookie}
        with httpx.Client(base_url=server.url, cookies=cookies) as http:
            http.headers["x-csrftoken"] = csrf_cookie
            response = http.request(route.method, route.url(MISSING), data={})
        assert response.status_code != 403, (route.method, route.path, response.text)
        answers.add(response.status_code)
    assert answers >= {400, 404}  # the calls reached the handlers, which refused their bodies
