"""Administration: only admins get in, every change needs CSRF and lands in the audit log."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from litestar.handlers import HTTPRouteHandler

from service.http.admin_api import ADMIN_API
from service.http.admin_api_staff import ADMIN_API_STAFF
from service.http.admin_pages_staff import ADMIN_PAGES
from tests.conftest import PASSWORD
from tests.support import Server, execute, login_sync, running_server

PERSONAS = {"aiko": "admin", "sora": "supervisor", "hana": "counselor"}
SAMPLE = {"key": "general", "code": "nothing", "username": "hana", "canned_id": "1"}


def admin_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the admin pages and API, read from the controllers themselves."""
    routes = []
    for controller in [*ADMIN_API, *ADMIN_API_STAFF, *ADMIN_PAGES]:
        for handler in vars(controller).values():
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for sub in handler.paths:
                path = (controller.path.rstrip("/") + sub.rstrip("/")) or "/"
                path = re.sub(r"\{(\w+):\w+\}", lambda m: SAMPLE[m.group(1)], path)
                routes += [(method, path) for method in handler.http_methods]
    return sorted(set(routes))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        for username, role in PERSONAS.items():
            srv.add_user(username, PASSWORD, role=role)
        yield srv


@contextlib.contextmanager
def browser(server: Server, username: str | None) -> Iterator[httpx.Client]:
    """An HTTP client with a session (if any) and the CSRF cookie and header, as a page has."""
    cookies = {"mg_session": login_sync(server, username, PASSWORD)} if username else {}
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        http.get("/inbox/login")  # any page of the staff's area sets the CSRF cookie
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        yield http


@pytest.fixture(scope="module")
def aiko(server: Server) -> Iterator[httpx.Client]:
    with browser(server, "aiko") as http:
        yield http


def audit_count(server: Server) -> int:
    """Changes audited; logging in is audited too, but changes nothing."""
    rows = server.query("SELECT COUNT(*) FROM audit_log WHERE action NOT LIKE 'login%'")
    return int(rows[0][0])


def test_the_route_table_covers_every_area() -> None:
    paths = {path for _, path in admin_routes()}
    for area in ("desks", "partners", "campaigns", "users", "canned", "tags", "audit"):
        assert any(area in p for p in paths), area
    assert len(admin_routes()) > 40


@pytest.mark.parametrize("persona", [None, "sora", "hana"])
def test_nobody_but_an_admin_gets_through_any_admin_route(
    server: Server, persona: str | None
) -> None:
    before = audit_count(server)
    with browser(server, persona) as http:
        for method, path in admin_routes():
            body = {} if path.startswith("/api/") else None
            response = http.request(method, path, json=body, follow_redirects=False)
            if persona is None and path.startswith("/admin"):
                assert response.status_code == 303, (method, path)
                assert response.headers["location"] == "/inbox/login"
            elif persona is None:
                assert response.status_code == 401, (method, path)
            else:
                assert response.status_code == 403, (method, path, response.text)
    assert audit_count(server) == before


def test_unsafe_calls_without_the_csrf_token_are_refused(server: Server) -> None:
    session = login_sync(server, "aiko", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/api/v1/admin/me")
        refused = http.post("/api/v1/admin/desks", json={"key": "x", "name": "X"})
        assert refused.status_code == 403
        form = http.post("/admin/desks", data={"key": "x", "name": "X"})
        assert form.status_code == 403
    assert server.query("SELECT COUNT(*) FROM desk WHERE key = 'x'") == [(0,)]


def test_an_admin_adds_a_desk_and_visitors_see_its_hours(
    server: Server, aiko: httpx.Client
) -> None:
    made = aiko.post(
        "/api/v1/admin/desks",
        json={
            "key": "women",
            "name": "女性の健康支援センター",
            "phones": ["03-1234-5678"],
            "hours": "TUE,THU 10:00-16:00",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["hours"] == "tue,thu 10:00-16:00"
    public = httpx.get(f"{server.url}/api/v1/desks").json()
    women = next(d for d in public["desks"] if d["key"] == "women")
    assert women["hours_text"].startswith("火・木 10:00〜16:00")
    assert women["phones"] == ["03-1234-5678"] and women["default"] is False
    row = server.query("SELECT actor, action, target, detail FROM audit_log ORDER BY id DESC")[0]
    assert row[:3] == ("aiko", "desk.create", "desk:women")
    assert "女性の健康支援センター" in row[3]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"key": "general", "name": "again"}, 409, "already_exists"),
        ({"key": "Bad Key", "name": "x"}, 400, "invalid_payload"),
        ({"key": "h", "name": "x", "hours": "mon 9-17"}, 400, "invalid_payload"),
        ({"key": "p", "name": "x", "phones": ["call me"]}, 400, "invalid_payload"),
        ({"key": "n", "name": "  "}, 400, "invalid_payload"),
    ],
)
def test_bad_desks_are_refused_with_a_code_and_nothing_changes(
    server: Server, aiko: httpx.Client, body: dict[str, object], status: int, code: str
) -> None:
    before = server.query("SELECT COUNT(*) FROM desk")
    refused = aiko.post("/api/v1/admin/desks", json=body)
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code
    assert server.query("SELECT COUNT(*) FROM desk") == before


def test_an_unknown_field_is_refused(aiko: httpx.Client) -> None:
    assert aiko.patch("/api/v1/admin/desks/general", json={"is_default": True}).status_code == 400


def test_partners_get_normalised_origins_and_the_snippet(
    server: Server, aiko: httpx.Client
) -> None:
    made = aiko.post(
        "/api/v1/admin/partners",
        json={"key": "library", "name": "図書館", "origins": ["https://Lib.Example.jp:443/"]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["origins"] == ["https://lib.example.jp"]
    assert made.json()["snippet"] == (
        f'<script src="{server.url}/widget.js" data-partner="library" async></script>'
    )
    chat = httpx.get(f"{server.url}/chat", params={"partner": "library"})
    assert (
        "frame-ancestors 'self' https://lib.example.jp" in chat.headers["content-security-policy"]
    )
    page = aiko.get("/admin/partners/library")
    assert (
        "data-partner=&#34;library&#34;" in page.text
        or "data-partner=&quot;library&quot;" in page.text
    )
    assert 'src="/admin/partners/library/preview"' in page.text
    refused = aiko.patch("/api/v1/admin/partners/library", json={"origins": ["javascript:x"]})
    assert refused.status_code == 400


def test_a_disabled_partner_shows_nothing(server: Server, aiko: httpx.Client) -> None:
    aiko.post("/api/v1/admin/partners", json={"key": "closing", "name": "閉鎖"})
    assert aiko.patch("/api/v1/admin/partners/closing", json={"enabled": False}).status_code == 200
    assert httpx.get(f"{server.url}/chat", params={"partner": "closing"}).status_code == 404
    refused = aiko.patch("/api/v1/admin/partners/ward", json={"enabled": False})
    assert refused.status_code == 400  # the default partner stays
    assert server.query("SELECT enabled FROM partner WHERE key = 'ward'") == [(1,)]


def test_a_deactivated_account_loses_its_session_and_cannot_log_in(
    server: Server, aiko: httpx.Client
) -> None:
    made = aiko.post("/api/v1/admin/users", json={"username": "temp", "role": "counselor"})
    assert made.status_code == 201
    password = made.json()["password"]
    session = login_sync(server, "temp", password)
    assert aiko.patch("/api/v1/admin/users/temp", json={"active": False}).status_code == 200
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        assert http.get("/inbox", follow_redirects=False).status_code == 303
    with pytest.raises(AssertionError, match="login failed"):
        login_sync(server, "temp", password)
    stored = server.query("SELECT password_hash FROM user WHERE username = 'temp'")[0][0]
    assert stored.startswith("$argon2id$") and password not in stored
    assert password not in str(server.query("SELECT detail FROM audit_log"))


def test_a_password_reset_ends_sessions_and_the_new_one_works(
    server: Server, aiko: httpx.Client
) -> None:
    old = login_sync(server, "hana", PASSWORD)
    reset = aiko.post("/api/v1/admin/users/hana/password", json={"password": "a new long secret"})
    assert reset.status_code == 201
    with httpx.Client(base_url=server.url, cookies={"mg_session": old}) as http:
        assert http.get("/inbox", follow_redirects=False).status_code == 303
    assert login_sync(server, "hana", "a new long secret")
    aiko.post("/api/v1/admin/users/hana/password", json={"password": PASSWORD})


def test_roles_change_and_the_last_admin_stays(server: Server, aiko: httpx.Client) -> None:
    assert (
        aiko.patch("/api/v1/admin/users/sora", json={"role": "admin"}).json()["user"]["role"]
        == "admin"
    )
    assert aiko.patch("/api/v1/admin/users/sora", json={"role": "supervisor"}).status_code == 200
    admins = [
        u["username"]
        for u in aiko.get("/api/v1/admin/users").json()["users"]
        if u["role"] == "admin" and u["active"]
    ]
    for other in admins:
        if other != "aiko":
            aiko.patch(f"/api/v1/admin/users/{other}", json={"active": False})
    refused = aiko.patch("/api/v1/admin/users/aiko", json={"role": "counselor"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin"
    assert server.query("SELECT role FROM user WHERE username = 'aiko'") == [("admin",)]


def test_canned_responses_and_topic_tags_are_kept(aiko: httpx.Client) -> None:
    canned = aiko.post(
        "/api/v1/admin/canned-responses",
        json={"title": "挨拶", "body": "こんにちは。", "desk": "general"},
    ).json()
    assert (
        aiko.patch(
            f"/api/v1/admin/canned-responses/{canned['id']}", json={"body": "こんばんは。"}
        ).json()["body"]
        == "こんばんは。"
    )
    assert aiko.delete(f"/api/v1/admin/canned-responses/{canned['id']}").status_code == 204
    assert (
        aiko.post("/api/v1/admin/topic-tags", json={"key": "dv", "label_ja": "DV"}).status_code
        == 201
    )
    assert (
        aiko.patch("/api/v1/admin/topic-tags/dv", json={"enabled": False}).json()["enabled"]
        is False
    )
    actions = [e["action"] for e in aiko.get("/api/v1/admin/audit").json()["entries"][:5]]
    assert actions[:2] == ["topic_tag.update", "topic_tag.create"]
    assert "canned.delete" in actions


def test_the_audit_log_cannot_be_rewritten(server: Server) -> None:
    assert server.query("SELECT COUNT(*) FROM audit_log")[0][0] > 0
    for sql in ("DELETE FROM audit_log", "UPDATE audit_log SET actor = 'someone'"):
        with pytest.raises((sqlite3.IntegrityError, asyncpg.RaiseError), match="append-only"):
            execute(server, sql)


def test_admin_forms_work_without_any_script(server: Server, aiko: httpx.Client) -> None:
    page = aiko.get("/admin/desks")
    assert "<script" not in page.text and "style=" not in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    added = aiko.post(
        "/admin/desks",
        data={"_csrf_token": token.group(1), "key": "evening", "name": "夜間", "hours": "24/7"},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == "/admin/desks/evening?saved=1"
    assert server.query("SELECT hours FROM desk WHERE key = 'evening'") == [("24/7",)]
    shown = aiko.post("/admin/desks", data={"_csrf_token": token.group(1), "key": "x", "name": ""})
    assert shown.status_code == 400 and "name is required" in shown.text


@pytest.mark.parametrize(
    "path", ["/api/v1/desks", "/chat?partner=demo", "/c/none", "/demo", "/healthz"]
)
def test_visitor_pages_set_no_cookie(server: Server, path: str) -> None:
    assert "set-cookie" not in httpx.get(f"{server.url}{path}").headers


def test_the_admin_api_is_in_the_openapi_schema(server: Server) -> None:
    paths = httpx.get(f"{server.url}/schema/openapi.json").json()["paths"]
    assert "/api/v1/desks" in paths
    for area in ("desks", "partners", "campaigns", "users", "canned-responses", "topic-tags"):
        assert f"/api/v1/admin/{area}" in paths, area


def test_an_unticked_enabled_box_disables_a_partner_and_a_campaign(
    server: Server, aiko: httpx.Client
) -> None:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', aiko.get("/admin/partners").text)
    assert token
    form = {"_csrf_token": token.group(1), "name": "図書館", "lang": "en"}
    assert aiko.post("/admin/partners", data={**form, "key": "bookshop"}).status_code == 303
    kept = aiko.post("/admin/partners/bookshop", data={**form, "enabled": "on"})
    assert kept.headers["location"] == "/admin/partners/bookshop?saved=1"
    assert server.query("SELECT enabled, lang FROM partner WHERE key = 'bookshop'") == [(1, "en")]
    aiko.post("/admin/partners/bookshop", data=form)
    assert server.query("SELECT enabled FROM partner WHERE key = 'bookshop'") == [(0,)]

    poster = {"_csrf_token": token.group(1), "name": "駅のポスター", "partner": "bookshop"}
    assert aiko.post("/admin/campaigns", data={**poster, "code": "station"}).status_code == 303
    aiko.post("/admin/campaigns/station", data=poster)
    assert server.query("SELECT enabled FROM campaign WHERE code = 'station'") == [(0,)]
    refused = aiko.post("/admin/campaigns/station", data={**poster, "name": ""})
    assert refused.status_code == 400 and "駅のポスター" in refused.text


def test_the_account_form_changes_display_name_and_desks_and_refuses_no_desk(
    server: Server, aiko: httpx.Client
) -> None:
    made = aiko.post("/api/v1/admin/users", json={"username": "yui", "role": "counselor"})
    assert made.status_code == 201 and made.json()["user"]["desks"] == "all"
    token = re.search(r'name="_csrf_token" value="([^"]+)"', aiko.get("/admin/users").text)
    assert token
    form = {"_csrf_token": token.group(1), "display_name": "ゆい", "desk_scope": "some"}
    changed = aiko.post("/admin/users/yui", data={**form, "desks": "general"})
    assert changed.status_code == 303
    yui = next(u for u in aiko.get("/api/v1/admin/users").json()["users"] if u["username"] == "yui")
    assert (yui["display_name"], yui["desks"]) == ("ゆい", ["general"])
    refused = aiko.post("/admin/users/yui", data=form)  # "these desks", none ticked
    assert refused.status_code == 400 and "choose at least one desk" in refused.text
    assert aiko.post("/admin/users/yui", data={**form, "desk_scope": "all"}).status_code == 303
    assert server.query("SELECT all_desks FROM user WHERE username = 'yui'") == [(1,)]
    audited = server.query(
        "SELECT detail FROM audit_log WHERE target = 'user:yui' AND action = 'user.update'"
    )
    assert len(audited) == 2  # the refused change left no entry
