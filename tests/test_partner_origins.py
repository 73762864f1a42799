"""A partner origin is an origin and nothing else: the admin API and the command line refuse
anything that could add to the chat's Content-Security-Policy, whose ``frame-ancestors`` lists
the partner's origins, and that header never holds more than those origins."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from service.http.headers import DEFAULT_CSP
from tests.conftest import PASSWORD
from tests.support import Server, execute, login_sync, running_server
from tests.test_cli import madoguchi

HOSTILE = [
    "https://a.example; script-src *",
    "https://a.example;script-src 'unsafe-inline'",
    "https://a.example/path",
    "https://a.example?x=1",
    "https://a.example#top",
    "javascript:alert(1)",
    "https://a.example\nscript-src *",
    "https://a.example\r\nX-Injected: 1",
    "https://a.example https://evil.example",
    "https://a.example,https://evil.example",
    "https://'unsafe-inline'",
    'https://"a.example"',
    "http://a.example",  # plain http: only for localhost
    "*",
    "https://*.example",
]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        yield srv


@pytest.fixture(scope="module")
def aiko(server: Server) -> Iterator[httpx.Client]:
    cookies = {"mg_session": login_sync(server, "aiko", PASSWORD)}
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        http.get("/inbox/login")  # sets the CSRF cookie
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        yield http


def directives(policy: str) -> dict[str, str]:
    parsed = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        assert name not in parsed, policy
        parsed[name] = value
    return parsed


def chat_policy(server: Server, partner: str) -> dict[str, str]:
    response = httpx.get(f"{server.url}/chat", params={"partner": partner})
    assert response.status_code == 200
    policies = response.headers.get_list("content-security-policy")
    assert len(policies) == 1, policies
    return directives(policies[0])


def partner_origins(server: Server, key: str) -> list[list[str]]:
    return [
        json.loads(r[0]) for r in server.query("SELECT origins FROM partner WHERE key = ?", (key,))
    ]


@pytest.mark.parametrize("origin", HOSTILE)
def test_the_admin_api_refuses_a_hostile_origin_and_keeps_the_partner(
    server: Server, aiko: httpx.Client, origin: str
) -> None:
    made = aiko.post(
        "/api/v1/admin/partners", json={"key": "new", "name": "N", "origins": [origin]}
    )
    assert made.status_code == 400, made.text
    error = made.json()["error"]
    assert error["code"] == "invalid_payload"
    assert "origin" in error["message"] and "\n" not in error["message"]
    assert partner_origins(server, "new") == []

    kept = aiko.post(
        "/api/v1/admin/partners",
        json={"key": "kept", "name": "K", "origins": ["https://kept.example"]},
    )
    assert kept.status_code in (201, 409), kept.text  # made by the first parameter's run
    changed = aiko.patch("/api/v1/admin/partners/kept", json={"origins": [origin]})
    assert changed.status_code == 400 and changed.json()["error"]["code"] == "invalid_payload"
    assert partner_origins(server, "kept") == [["https://kept.example"]]


@pytest.mark.parametrize("origin", HOSTILE)
def test_the_command_line_refuses_a_hostile_origin_in_one_line(server: Server, origin: str) -> None:
    done = madoguchi(
        "partner",
        "add",
        "cli",
        "--name",
        "C",
        "--origin",
        origin,
        db=server.db_path,
        env=server.env,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("madoguchi: "), done.stderr
    assert "origin" in lines[0] and "Traceback" not in done.stderr
    assert partner_origins(server, "cli") == []


def test_the_chat_policy_lists_the_normalised_origins_and_nothing_else(
    server: Server, aiko: httpx.Client
) -> None:
    origins = [
        "https://Lib.Example.jp:443",
        "https://lib.example.jp:8443/",
        "http://localhost:8000",
    ]
    made = aiko.post("/api/v1/admin/partners", json={"key": "lib", "name": "L", "origins": origins})
    assert made.status_code == 201, made.text
    policy = chat_policy(server, "lib")
    assert set(policy) == set(directives(DEFAULT_CSP))
    assert policy["frame-ancestors"] == (
        "'self' https://lib.example.jp https://lib.example.jp:8443 http://localhost:8000"
    )
    assert {k: v for k, v in policy.items() if k != "frame-ancestors"} == {
        k: v for k, v in directives(DEFAULT_CSP).items() if k != "frame-ancestors"
    }


def test_a_stored_origin_that_is_not_one_never_reaches_the_header(server: Server) -> None:
    """Written past every check (an older version, a hand edit): the header drops it."""
    execute(
        server,
        "INSERT INTO partner (key, name, origins, is_default, created_at) "
        "VALUES ('old', 'O', ?, 0, '2026-01-01T00:00:00Z')",
        (
            json.dumps(
                ["https://a.example; script-src *", "https://ok.example", "https://x.example/p"]
            ),
        ),
    )
    deadline = time.monotonic() + 10  # the catalog reloads within about a second
    while True:
        response = httpx.get(f"{server.url}/chat", params={"partner": "old"})
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # polling the catalog's reload, with a deadline
    policy = chat_policy(server, "old")
    assert set(policy) == set(directives(DEFAULT_CSP))
    assert policy["frame-ancestors"] == "'self' https://ok.example"
    assert "*" not in policy["script-src"]
