"""The HTTP side: health, security headers, the widget's pages and the counselors' login.

Visitors' pages set no cookie and are never cached (traces on a shared device); the inbox's
login resists CSRF and session fixation, and a logout ends the session
for pages and sockets alike.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import PASSWORD, STAFF
from tests.support import (
    Clients,
    Server,
    refusal,
    running_seeded_server,
    running_server,
    sha256_hex,
    visitor,
)

SHELTER = "https://shelter.example"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """Also knows a partner with its own site and a disabled one."""
    partners = (
        "INSERT INTO partner (key, name, origins, is_default, enabled, created_at) VALUES "
        "('paused', '休止中のサイト', '[]', 0, 0, '2026-01-01T00:00:00.000Z'), "
        "('shelter', '支援団体', '[\"https://shelter.example\"]', 0, 1, '2026-01-01T00:00:00.000Z')"
    )
    with running_seeded_server([partners]) as srv:
        for username, (role, display_name) in STAFF.items():
            srv.add_user(username, PASSWORD, role=role, display_name=display_name)
        yield srv


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def log_in(http: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    token = csrf_token((await http.get("/inbox/login")).text)
    form = {"username": "hana", "password": password, "_csrf_token": token}
    return await http.post("/inbox/login", data=form)


def session_cookies(response: httpx.Response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith("mg_session=")]


def session_rows(server: Server) -> int:
    return int(server.query("SELECT COUNT(*) FROM session")[0][0])


async def test_healthz_answers_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path", ["/demo", "/chat?partner=demo", "/inbox/login", "/inbox", "/schema", "/healthz"]
)
async def test_every_page_sends_the_security_headers(
    server: Server, hana_session: str, path: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, cookies={"mg_session": hana_session}) as http:
        response = await http.get(path)

    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'none'" in csp and "base-uri 'none'" in csp
    assert "frame-ancestors" in csp and "*" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("query", "ancestors"),
    [("", "'self'"), ("?partner=demo", "'self'"), ("?partner=shelter", f"'self' {SHELTER}")],
)
async def test_the_chat_page_is_never_stored_nor_referred_and_framed_only_where_allowed(
    http: httpx.AsyncClient, query: str, ancestors: str
) -> None:
    response = await http.get(f"/chat{query}")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    directives = dict(
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    assert directives["frame-ancestors"] == ancestors
    # X-Frame-Options: DENY would stop partner sites from framing the chat.
    assert "x-frame-options" not in response.headers


async def test_the_inbox_may_not_be_framed(server: Server, hana_session: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, cookies={"mg_session": hana_session}) as http:
        for path in ("/inbox", "/inbox/login"):
            response = await http.get(path)
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("partner", ["unknown", "paused"])
async def test_the_chat_page_of_an_unknown_or_disabled_partner_is_not_found(
    http: httpx.AsyncClient, partner: str
) -> None:
    response = await http.get(f"/chat?partner={partner}")
    missing = await http.get("/chat?partner=never-existed")

    assert response.status_code == 404
    # A disabled partner looks like none at all; only the key asked for is echoed in the
    # language links.
    assert response.text.replace(partner, "KEY") == missing.text.replace("never-existed", "KEY")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["/demo", "/chat", "/chat?partner=demo", "/chat?partner=unknown", "/widget.js"]
)
async def test_visitor_facing_pages_set_no_cookie(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code in (200, 404)
    assert "set-cookie" not in response.headers
    assert not http.cookies


async def test_the_widget_script_is_served_as_javascript(http: httpx.AsyncClient) -> None:
    response = await http.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in response.headers
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"


# -- logging in and out -------------------------------------------------------------------------


async def test_a_wrong_password_is_401_and_opens_no_session(
    server: Server, http: httpx.AsyncClient
) -> None:
    before = session_rows(server)

    wrong = await log_in(http, password="wrong password")
    token = csrf_token((await http.get("/inbox/login")).text)
    nobody = await http.post(
        "/inbox/login", data={"username": "nobody", "password": "x" * 12, "_csrf_token": token}
    )

    assert wrong.status_code == 401 and nobody.status_code == 401
    assert session_cookies(wrong) == [] and session_cookies(nobody) == []
    assert "mg_session" not in http.cookies
    assert session_rows(server) == before
    # An unknown name and a wrong password read the same: no way to probe for accounts.
    assert wrong.text == nobody.text


@pytest.mark.parametrize("token", [None, "forged", ""])
async def test_a_login_without_the_csrf_token_is_403(
    server: Server, http: httpx.AsyncClient, token: str | None
) -> None:
    await http.get("/inbox/login")  # the CSRF cookie is there; only the form field is not
    before = session_rows(server)
    form = {"username": "hana", "password": PASSWORD}
    if token is not None:
        form["_csrf_token"] = token

    response = await http.post("/inbox/login", data=form)

    assert response.status_code == 403
    assert session_cookies(response) == []
    assert session_rows(server) == before


async def test_a_login_replaces_a_session_id_planted_beforehand(
    server: Server, http: httpx.AsyncClient
) -> None:
    planted = "attacker-chosen-session-id-0123456789"
    http.cookies.set("mg_session", planted)

    response = await log_in(http)

    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    [cookie] = session_cookies(response)
    issued = cookie.split(";", 1)[0].removeprefix("mg_session=")
    assert issued != planted and len(issued) >= 43
    assert server.query(
        "SELECT COUNT(*) FROM session WHERE id_hash = ?", (sha256_hex(planted),)
    ) == [(0,)]
    async with httpx.AsyncClient(base_url=server.url, cookies={"mg_session": planted}) as attacker:
        assert (await attacker.get("/inbox")).status_code == 303


async def test_the_session_cookie_is_httponly_and_samesite_strict(http: httpx.AsyncClient) -> None:
    response = await log_in(http)
    [cookie] = session_cookies(response)
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["path"].strip() == "Path=/"


async def test_the_inbox_without_a_login_sends_to_the_login_page(
    server: Server, http: httpx.AsyncClient
) -> None:
    for cookies in ({}, {"mg_session": "garbage"}):
        async with httpx.AsyncClient(base_url=server.url, cookies=cookies) as visitor:
            response = await visitor.get("/inbox")
            assert response.status_code == 303
            assert response.headers["location"] == "/inbox/login"


async def test_a_logout_ends_the_session_for_pages_and_sockets(
    server: Server, http: httpx.AsyncClient, clients: Clients
) -> None:
    await log_in(http)
    session = http.cookies["mg_session"]
    inbox = await http.get("/inbox")
    assert inbox.status_code == 200
    counselor = await clients.counselor(session)
    await counselor.wait_for_queue()

    response = await http.post("/inbox/logout", data={"_csrf_token": csrf_token(inbox.text)})

    assert response.status_code == 303 and response.headers["location"] == "/inbox/login"
    [cleared] = session_cookies(response)
    assert cleared.startswith('mg_session="";') or cleared.startswith("mg_session=;")
    assert server.query(
        "SELECT COUNT(*) FROM session WHERE id_hash = ?", (sha256_hex(session),)
    ) == [(0,)]
    async with httpx.AsyncClient(base_url=server.url, cookies={"mg_session": session}) as old:
        assert (await old.get("/inbox")).status_code == 303
    refused = await refusal(server, "/counselor", headers={"Cookie": f"mg_session={session}"})
    assert refused == {"code": "unauthorized"}


async def test_a_logout_without_the_csrf_token_is_refused(
    server: Server, http: httpx.AsyncClient
) -> None:
    await log_in(http)
    session = http.cookies["mg_session"]

    response = await http.post("/inbox/logout", data={})

    assert response.status_code == 403
    assert (await http.get("/inbox")).status_code == 200
    assert server.query(
        "SELECT COUNT(*) FROM session WHERE id_hash = ?", (sha256_hex(session),)
    ) == [(1,)]


async def test_the_openapi_schema_is_json_at_schema(http: httpx.AsyncClient) -> None:
    response = await http.get("/schema")
    assert response.status_code == 200
    assert "json" in response.headers["content-type"]
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Madoguchi"
    assert "/healthz" in schema["paths"]


async def test_the_server_log_keeps_no_visitor_address_even_at_info_level() -> None:
    with running_server(env={"MADOGUCHI_LOG_LEVEL": "info"}) as srv:
        guest = await visitor(srv, partner="demo")
        await guest.call("start", {})
        await guest.disconnect()
        srv.stop()
        log = srv.logs()
    assert "Madoguchi on" in log  # the log is there, at info level
    # The service's own address and its database server's are no visitor's.
    for own in (srv.url, urlsplit(srv.database_url).netloc.rpartition("@")[2]):
        log = log.replace(own, "") if own else log
    assert "127.0.0.1:" not in log


def test_behind_https_pages_send_hsts_and_cookies_are_secure() -> None:
    # The proxy terminates TLS; the service learns it from its public URL.
    with running_server(env={"MADOGUCHI_PUBLIC_URL": "https://chat.example.jp"}) as srv:
        with httpx.Client(base_url=srv.url) as http:
            page = http.get("/inbox/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in page.headers["set-cookie"].lower()
    with running_server() as plain, httpx.Client(base_url=plain.url) as http:
        assert "strict-transport-security" not in http.get("/inbox/login").headers
