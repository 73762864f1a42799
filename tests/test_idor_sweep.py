"""IDOR on every route that takes a conversation id or an admin object's key, read from the app.

Someone who may not see an object gets the very answer a made-up id gets: same status, same
body, nothing of the object in it, and no opening in the audit log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import Clients, Server, client_id, login_sync, running_seeded_server
from tests.test_csrf_sweep import MISSING, Route, app_routes

LEGAL = (
    "INSERT INTO desk (key, name, is_default, hours, closures, created_at) "
    "VALUES ('legal', '法律相談', 0, '24/7', '', '2026-01-01T00:00:00.000Z')"
)
# hana held the conversation; ren works the same desks but never held it; kai works another
# desk only; sora is a supervisor (no admin route is theirs either).
PEOPLE = {
    "hana": ("counselor", None),
    "ren": ("counselor", None),
    "kai": ("counselor", ["legal"]),
    "sora": ("supervisor", None),
}
SECRET = "本文：夫から毎晩どなられる"
SUMMARY = "要約：言葉のDV、電話相談を案内"
WORD = "あさがお"
# Existing admin objects on a fresh server: the default desk, partner and topic tag, a user.
EXISTING_KEYS = {"key": "general", "code": "no-campaign", "username": "hana", "canned_id": "1"}
OPENINGS = "SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.open'"


def routes() -> list[Route]:
    return [r for r in app_routes() if r.method not in {"HEAD", "OPTIONS"}]


def conversation_routes() -> list[Route]:
    # Practice chats' training routes are swept with their reviews (tests/test_training.py).
    return [
        r
        for r in routes()
        if "{conversation_id" in r.path and not r.path.startswith("/inbox/training/")
    ]


def keyed_admin_routes() -> list[Route]:
    return [r for r in routes() if re.match(r"^/(admin|api/v1/admin)/", r.path) and "{" in r.path]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_seeded_server([LEGAL]) as srv:
        for username, (role, desks) in PEOPLE.items():
            srv.add_user(username, PASSWORD, role=role, desks=desks)
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in PEOPLE}


def call(
    server: Server, session: str, route: Route, url: str, form: dict[str, str]
) -> httpx.Response:
    """A call as the staff's own page makes it, CSRF token included."""
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/inbox/login")
        http.headers["x-csrftoken"] = http.cookies["mg_csrf"]
        if route.path.startswith("/api/"):
            return http.request(route.method, url, json={})
        return http.request(route.method, url, data=form)


def test_the_sweep_finds_its_routes() -> None:
    assert [r.path for r in conversation_routes()] == ["/inbox/closed/{conversation_id:str}"]
    assert len(keyed_admin_routes()) > 15


async def test_a_conversation_id_opens_nothing_for_whoever_may_not_see_it(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    visitor = await clients.visitor()
    cid = (await visitor.call("start", {}))["conversation"]["id"]
    assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
    assert (await visitor.call("code_word", {"word": WORD}))["ok"]
    assert (await visitor.call("message", {"client_id": client_id(), "body": SECRET}))["ok"]
    closed = await hana.call(
        "close", {"conversation_id": cid, "outcome": "resolved", "summary": SUMMARY}
    )
    assert closed["ok"], closed

    def sweep() -> None:
        before = server.query(OPENINGS)[0][0]
        for route in conversation_routes():
            refused = [
                call(server, sessions[who], route, route.url({"conversation_id": target}), form)
                for who, target, form in [
                    ("ren", cid, {"purpose": "handoff"}),  # never held it
                    ("ren", cid, {"purpose": "handoff", "code_word": "ちがう"}),
                    ("kai", cid, {"purpose": "handoff", "code_word": WORD}),  # another desk
                    ("hana", MISSING["conversation_id"], {"purpose": "handoff"}),  # made up
                ]
            ]
            first = refused[0]
            assert first.status_code == 404, first.text
            for answer in refused:
                assert (answer.status_code, answer.text) == (first.status_code, first.text)
                for secret in (SECRET, SUMMARY, WORD, cid):
                    assert secret not in answer.text
            # The control: the counselor who held it opens it.
            mine = call(
                server,
                sessions["hana"],
                route,
                route.url({"conversation_id": cid}),
                {"purpose": "handoff"},
            )
            assert mine.status_code == 200 and SECRET in mine.text
        assert server.query(OPENINGS)[0][0] == before + len(conversation_routes())

    await asyncio.to_thread(sweep)


@pytest.mark.parametrize("who", ["hana", "kai", "sora"])
def test_an_admin_key_tells_staff_nothing_about_whether_it_exists(
    server: Server, sessions: dict[str, str], who: str
) -> None:
    desk_name = server.query("SELECT name FROM desk WHERE key = 'general'")[0][0]
    with httpx.Client(base_url=server.url, cookies={"mg_session": sessions[who]}) as http:
        http.get("/inbox/login")
        http.headers["x-csrftoken"] = http.cookies["mg_csrf"]
        answers = [
            (
                route,
                http.request(route.method, route.url(EXISTING_KEYS), json={}),
                http.request(route.method, route.url(MISSING), json={}),
            )
            for route in keyed_admin_routes()
        ]
    for route, real, made_up in answers:
        assert real.status_code == 403, (route.method, route.path, real.text)
        assert (real.status_code, real.text) == (made_up.status_code, made_up.text), route.path
        assert desk_name not in real.text
