"""XSS in every field a visitor or staff can type, on every page that shows it.

Every free-text field gets hostile markup through the real API, CLI and sockets; each page's
source must hold it only HTML-escaped, never as markup. ``javascript:`` is refused wherever a URL
is accepted. tests/browser/test_xss_everywhere.py opens the same pages in Chromium.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import Clients, Server, client_id, login_sync, running_server

IMG = '<img src=x onerror="window.__pwned=1">'
SVG = '<svg onload="window.__pwned=1">'
SCRIPT = '"><script>window.__pwned=1</script>'
JS_URL = "javascript:window.__pwned=1"
HOSTILE = IMG + SVG + SCRIPT  # every long free-text field gets all three at once
CODE_WORD = SVG  # one line of at most 32 characters
# What must never appear in a page's source: the payloads as markup.
RAW = ("<img src=x", "<svg onload", "<script>window")
# What must appear instead: a payload as text.
ESCAPED = ("&lt;svg onload=", "&lt;img src=x", "&lt;script&gt;window", "\\u003csvg onload=")

SCRIPT_URL = re.compile(
    r"""(?:href|src|action|formaction|data)\s*=\s*["']?\s*(?:javascript|vbscript):""", re.I
)

PEOPLE = {
    # username: (role, display name)
    "aiko": ("admin", "管理者"),
    "hana": ("counselor", "hana" + IMG),  # a hostile name through the CLI
    "mori": ("supervisor", "mori" + SVG),
}


@dataclass
class World:
    server: Server
    sessions: dict[str, str]
    held: str  # open, held by ren after a transfer, with notes, summary and code word
    closed: str  # closed, with the same casework and a survey comment


@contextlib.contextmanager
def admin_http(server: Server, session: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/api/v1/admin/me")  # sets the CSRF cookie
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        yield http


def seed_objects(server: Server, session: str) -> None:
    """Every admin-made object with hostile text; every URL field refuses ``javascript:``."""
    with admin_http(server, session) as http:
        made = [
            http.post(
                "/api/v1/admin/desks",
                json={"key": "evil", "name": SVG, "description": HOSTILE, "hours": "24/7"},
            ),
            http.post(
                "/api/v1/admin/partners",
                json={"key": "evilp", "name": IMG, "desk": "evil"},
            ),
            http.post(
                "/api/v1/admin/campaigns",
                json={"code": "evilc", "name": SCRIPT, "desk": "evil", "partner": "evilp"},
            ),
            http.post(
                "/api/v1/admin/canned-responses",
                json={"title": SVG, "body": HOSTILE, "desk": "evil"},
            ),
            http.post(
                "/api/v1/admin/topic-tags",
                json={"key": "evil", "label_ja": SVG, "label_en": IMG},
            ),
            # A hostile name through the admin API too; ren works every desk.
            http.post(
                "/api/v1/admin/users",
                json={
                    "username": "ren",
                    "role": "counselor",
                    "display_name": "ren" + SCRIPT,
                    "password": PASSWORD,
                },
            ),
        ]
        for response in made:
            assert response.status_code == 201, response.text
        refused = [
            http.patch("/api/v1/admin/desks/evil", json={"phones": [HOSTILE]}),  # too long
            http.patch("/api/v1/admin/partners/evilp", json={"exit_url": JS_URL}),
            http.patch("/api/v1/admin/partners/evilp", json={"exit_url": "JavaScript:x"}),
            http.patch("/api/v1/admin/partners/evilp", json={"origins": [JS_URL]}),
            http.patch("/api/v1/admin/partners/evilp", json={"origins": ["data:text/html,x"]}),
        ]
        for response in refused:
            assert response.status_code == 400, response.text
        # A phone needs only a digit, so these are kept: the pages must show them as text, and
        # link them only as ``tel:``.
        phones = http.patch("/api/v1/admin/desks/evil", json={"phones": [SVG, JS_URL]})
        assert phones.status_code == 200, phones.text
        partner = http.get("/api/v1/admin/partners").json()["partners"]
        evilp = next(p for p in partner if p["key"] == "evilp")
        assert not str(evilp.get("exit_url") or "").lower().startswith("javascript")


async def seed_conversations(server: Server, sessions: dict[str, str]) -> tuple[str, str]:
    clients = Clients(server)
    try:
        hana = await clients.counselor(sessions["hana"])
        mori = await clients.counselor(sessions["mori"])

        async def worked(close: bool) -> str:
            visitor = await clients.visitor(partner="evilp", campaign="evilc")
            ack = await visitor.call("start", {"desk": "evil"})
            assert ack["ok"], ack
            cid = ack["conversation"]["id"]
            assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
            await visitor.wait_for("status", lambda s: s["status"] == "active")
            assert (await visitor.call("code_word", {"word": CODE_WORD}))["ok"]
            say = {"client_id": client_id(), "body": "相談です"}
            assert (await visitor.call("message", say))["ok"]
            for event, payload in [
                ("note", {"body": HOSTILE}),
                ("tag", {"tags": ["evil"]}),
                ("summary", {"summary": HOSTILE}),
            ]:
                ack = await hana.call(event, {"conversation_id": cid, **payload})
                assert ack["ok"], (event, ack)
            assert (await mori.call("monitor", {"conversation_id": cid}))["ok"]
            ack = await mori.call("supervisor_note", {"conversation_id": cid, "body": HOSTILE})
            assert ack["ok"], ack
            await mori.call("unmonitor", {"conversation_id": cid})
            if close:
                ack = await hana.call("close", {"conversation_id": cid, "outcome": "resolved"})
                assert ack["ok"], ack
                await visitor.wait_for("status", lambda s: s["status"] == "closed")
                assert (await visitor.call("survey", {"rating": 5, "comment": HOSTILE}))["ok"]
            else:
                transfer = {"conversation_id": cid, "to_user": "ren", "note": HOSTILE}
                assert (await hana.call("transfer", transfer))["ok"]
            return cid

        held = await worked(close=False)
        closed = await worked(close=True)
        # One more waits in the queue of the hostile desk, from the hostile campaign.
        waiting = await clients.visitor(partner="evilp", campaign="evilc")
        assert (await waiting.call("start", {"desk": "evil"}))["ok"]
        return held, closed
    finally:
        # The visitors go; their conversations stay as they are for the module's few seconds.
        await clients.close()


@contextlib.contextmanager
def hostile_world() -> Iterator[World]:
    with running_server() as server:
        for username, (role, name) in PEOPLE.items():
            server.add_user(username, PASSWORD, role=role, display_name=name)
        sessions = {name: login_sync(server, name, PASSWORD) for name in PEOPLE}
        seed_objects(server, sessions["aiko"])
        sessions["ren"] = login_sync(server, "ren", PASSWORD)
        # Off the caller's thread: a browser module's Playwright may hold its own loop there.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            held, closed = pool.submit(asyncio.run, seed_conversations(server, sessions)).result()
        yield World(server, sessions, held, closed)


def open_record(server: Server, session: str, cid: str) -> httpx.Response:
    """A supervisor opens a closed conversation on purpose, through the page's own form."""
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        page = http.get("/inbox/closed")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        data = {"_csrf_token": token.group(1), "purpose": "supervision"}
        return http.post(f"/inbox/closed/{cid}", data=data)


def assert_inert(html: str, where: str, *, shown: bool = True) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: {raw!r} is markup"
    assert not SCRIPT_URL.search(html), f"{where}: a javascript: URL as a link"
    if shown:
        assert any(e in html for e in ESCAPED), (
            f"{where}: the hostile text is not shown (escaped) at all"
        )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with hostile_world() as w:
        yield w


STAFF_PAGES = [
    # (who, path, whether the hostile text must be on it)
    ("hana", "/inbox", True),
    ("ren", "/inbox", True),
    ("mori", "/inbox/board", True),
    ("mori", "/inbox/closed", True),
    ("mori", "/inbox/canned", True),
    ("aiko", "/admin", False),
    ("aiko", "/admin/desks", True),
    ("aiko", "/admin/desks/evil", True),
    ("aiko", "/admin/partners", True),
    ("aiko", "/admin/partners/evilp", True),
    ("aiko", "/admin/partners/evilp/preview", False),
    ("aiko", "/admin/campaigns", True),
    ("aiko", "/admin/campaigns/evilc", True),
    ("aiko", "/admin/campaigns/evilc/poster", True),
    ("aiko", "/admin/users", True),
    ("aiko", "/admin/canned", True),
    ("aiko", "/admin/tags", True),
    ("aiko", "/admin/audit", True),
    ("aiko", "/admin/reports", False),
    ("mori", "/admin/reports", False),
]


@pytest.mark.parametrize(("who", "path", "shown"), STAFF_PAGES)
def test_staff_pages_show_hostile_text_only_escaped(
    world: World, who: str, path: str, shown: bool
) -> None:
    with httpx.Client(base_url=world.server.url, cookies={"mg_session": world.sessions[who]}) as h:
        page = h.get(path)
    assert page.status_code == 200, (path, page.status_code)
    assert page.headers["content-type"].startswith("text/html")
    assert_inert(page.text, f"{who} {path}", shown=shown)


def test_the_closed_record_shows_casework_and_survey_only_escaped(world: World) -> None:
    record = open_record(world.server, world.sessions["mori"], world.closed)
    assert record.status_code == 200
    assert_inert(record.text, "record")
    # Every field is there, as text: note, summary, supervisor note, code word, survey comment,
    # tag label, the names of the counselor and the supervisor.
    assert record.text.count(ESCAPED[0]) >= 5
    assert "&lt;img src=x onerror=" in record.text and "mori&lt;svg" in record.text


@pytest.mark.parametrize(
    "path",
    ["/chat?partner=evilp&desk=evil", "/chat?partner=evilp&desk=evil&lang=en", "/safety"],
)
def test_the_visitor_pages_show_the_desk_only_escaped(world: World, path: str) -> None:
    page = httpx.get(f"{world.server.url}{path}")
    assert page.status_code == 200
    assert_inert(page.text, path, shown=path.startswith("/chat"))


def test_the_desks_api_is_json_and_never_sniffed_as_html(world: World) -> None:
    response = httpx.get(f"{world.server.url}/api/v1/desks")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    evil = next(d for d in response.json()["desks"] if d["key"] == "evil")
    assert evil["name"] == SVG  # kept as typed: escaping is the renderer's job


def test_the_campaign_link_redirects_only_to_our_chat(world: World) -> None:
    response = httpx.get(f"{world.server.url}/c/evilc", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/chat?") or response.headers[
        "location"
    ].startswith(f"{world.server.url}/chat?")
