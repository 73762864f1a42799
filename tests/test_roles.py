"""Every role boundary, tried by a role that must be refused: pages, API routes and events.

A counselor works the queue of their desks and the chats they hold; a supervisor sees
everything on their desks; an admin manages and, in the inbox, has a supervisor's rights.
Pages: not logged in is a redirect to the login, the wrong role is 403. Events: a role that
may never send one gets ``forbidden``; a conversation one may not touch is ``not_found``,
whether it exists or not: the socket path refuses what the pages refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    login_sync,
    running_seeded_server,
    snapshot,
)
from tests.test_casework import LEGAL, PEOPLE, add_people, held_by, started

MISSING = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_seeded_server([LEGAL]) as srv:
        add_people(srv)
        srv.add_user("aiko", PASSWORD, role="admin", display_name="管理")
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in [*PEOPLE, "aiko"]}


# -- pages and API routes -----------------------------------------------------------------------

PAGES = ["/inbox", "/inbox/board", "/inbox/closed", "/inbox/canned", "/inbox/password"]
# Who may open what (200); everyone else logged in gets 403.
ALLOWED = {
    "/inbox": {"hana", "mori", "aiko"},
    "/inbox/board": {"mori", "aiko"},
    "/inbox/closed": {"hana", "mori", "aiko"},
    "/inbox/canned": {"mori", "aiko"},
    "/inbox/password": {"hana", "mori", "aiko"},
    "/admin/": {"aiko"},
    "/api/v1/admin/me": {"aiko"},
}


def test_pages_redirect_strangers_to_the_login(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        for path in PAGES:
            response = http.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/inbox/login"


@pytest.mark.parametrize("who", ["hana", "mori", "aiko"])
def test_each_role_opens_its_pages_and_is_refused_the_others(
    server: Server, sessions: dict[str, str], who: str
) -> None:
    with httpx.Client(base_url=server.url, cookies={"mg_session": sessions[who]}) as http:
        for path, allowed in ALLOWED.items():
            status = http.get(path).status_code
            assert status == (200 if who in allowed else 403), (who, path, status)


def test_the_refusal_page_says_why_without_a_script(
    server: Server, sessions: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, cookies={"mg_session": sessions["hana"]}) as http:
        page = http.get("/inbox/board")
    assert page.status_code == 403 and "この画面は開けません" in page.text
    assert "<script" not in page.text


def test_only_a_supervisor_edits_canned_responses(server: Server, sessions: dict[str, str]) -> None:
    form = {"title": "夜間の案内", "body": "夜間はDV相談＋へ", "desk": "general"}
    with httpx.Client(base_url=server.url, cookies={"mg_session": sessions["hana"]}) as http:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', http.get("/inbox").text)
        assert token
        refused = http.post("/inbox/canned", data={**form, "_csrf_token": token.group(1)})
        assert refused.status_code == 403
    with httpx.Client(base_url=server.url, cookies={"mg_session": sessions["mori"]}) as http:
        page = http.get("/inbox/canned")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token and "安全確認（はじめに）" in page.text  # the safety check is there already
        assert http.post("/inbox/canned", data=form).status_code == 403  # no CSRF token
        added = http.post("/inbox/canned", data={**form, "_csrf_token": token.group(1)})
        assert added.status_code == 303
    assert server.query("SELECT COUNT(*) FROM canned_response WHERE title = '夜間の案内'") == [(1,)]
    assert server.query(
        "SELECT actor FROM audit_log WHERE action = 'canned.create' ORDER BY id DESC LIMIT 1"
    ) == [("mori",)]


# -- events -------------------------------------------------------------------------------------

SUPERVISOR_ONLY = ["monitor", "unmonitor", "supervisor_note", "board"]


async def test_an_admin_works_the_inbox_with_a_supervisors_rights(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    aiko = await clients.counselor(sessions["aiko"])
    ren = await clients.counselor(sessions["ren"])
    _visitor, cid = await held_by(ren, clients)
    watched = await aiko.call("monitor", {"conversation_id": cid})
    assert watched["ok"], watched


@pytest.mark.parametrize("event", SUPERVISOR_ONLY)
@pytest.mark.parametrize("payload", ["theirs", "missing", "garbage"])
async def test_a_counselor_sending_a_supervisors_event_is_forbidden(
    server: Server, clients: Clients, sessions: dict[str, str], event: str, payload: str
) -> None:
    hana = await clients.counselor(sessions["hana"])
    ren = await clients.counselor(sessions["ren"])
    visitor, cid = await held_by(ren, clients)
    data: Any = {
        "theirs": {"conversation_id": cid, "body": "x"},
        "missing": {"conversation_id": MISSING, "body": "x"},
        "garbage": [1, 2, 3],
    }[payload]
    if event != "supervisor_note" and isinstance(data, dict):
        data = {"conversation_id": data["conversation_id"]}
    before = snapshot(server)

    assert_error(await hana.call(event, data), "forbidden")

    assert snapshot(server) == before
    await visitor.call("history", {})
    assert hana.received("message") == []


async def touch_everything(client: Client, cid: str) -> dict[str, Any]:
    """Every conversation event, each answered."""
    calls: dict[str, dict[str, Any]] = {
        "claim": {},
        "message": {"client_id": "c-1", "body": "x"},
        "history": {},
        "typing": {},
        "close": {"outcome": "resolved"},
        "case": {},
        "note": {"body": "x"},
        "tag": {"tags": ["work"]},
        "risk": {"level": "urgent"},
        "summary": {"summary": "x"},
        "transfer": {"to_desk": "legal"},
    }
    return {e: await client.call(e, {"conversation_id": cid, **p}) for e, p in calls.items()}


async def test_a_conversation_one_may_not_touch_is_not_found_like_a_missing_one(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    kai = await clients.counselor(sessions["kai"])  # legal desk only
    sato = await clients.counselor(sessions["sato"])  # supervises the legal desk only
    ren = await clients.counselor(sessions["ren"])
    _, theirs = await held_by(hana, clients)
    before = snapshot(server)

    for outsider in (kai, sato, ren):
        on_theirs = await touch_everything(outsider, theirs)
        on_missing = await touch_everything(outsider, MISSING)
        for event, ack in on_theirs.items():
            if outsider is ren and event == "claim":
                assert_error(ack, "already_claimed")  # same desk: it exists and is taken
                continue
            assert ack == on_missing[event], (event, ack, on_missing[event])
            assert_error(ack, "not_found")
    assert_error(await sato.call("monitor", {"conversation_id": theirs}), "not_found")
    whisper = {"conversation_id": theirs, "body": "x"}
    assert_error(await sato.call("supervisor_note", whisper), "not_found")
    assert snapshot(server) == before
    for outsider in (kai, sato, ren):
        assert outsider.received("case") == [] and outsider.received("message") == []


async def test_a_supervisor_reads_and_works_any_chat_of_their_desks(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    mori = await clients.counselor(sessions["mori"])
    _, cid = await held_by(hana, clients)
    _, waiting = await started(clients)

    assert (await mori.call("history", {"conversation_id": cid}))["ok"]
    assert (await mori.call("note", {"conversation_id": cid, "body": "SVメモ"}))["ok"]
    assert (await mori.call("risk", {"conversation_id": waiting, "level": "concern"}))["ok"]
    assert (await mori.call("monitor", {"conversation_id": waiting}))["ok"]
    assert (await mori.call("unmonitor", {"conversation_id": waiting}))["ok"]
    closed = await mori.call("close", {"conversation_id": cid, "outcome": "no_reply"})
    assert closed == {"ok": True}
    assert server.query("SELECT status, closed_by FROM conversation WHERE id = ?", (cid,)) == [
        ("closed", "counselor")
    ]
