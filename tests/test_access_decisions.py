"""Access decisions beyond "holds it or supervises its desk": a closed record's transcript and
notes (its last holder and the supervisors of its desk only, on every path), supervisors' notes,
and whom a chat may be handed to.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    login_sync,
    running_seeded_server,
)
from tests.test_casework import (
    LEGAL,
    SECRET_NOTE,
    SECRET_SUMMARY,
    add_people,
    csrf,
    held_by,
    staff_http,
    started,
)
from tests.test_rights_change import cli

TRANSCRIPT = "この本文は最後の担当者とSVだけが読める"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_seeded_server([LEGAL]) as srv:
        add_people(srv)
        srv.add_user("yui", PASSWORD, display_name="結衣")
        srv.add_user("gone", PASSWORD, display_name="退職")
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    names = ("hana", "ren", "kai", "mori", "sato", "yui")
    return {name: login_sync(server, name, PASSWORD) for name in names}


def open_record(server: Server, session: str, cid: str, **form: str) -> httpx.Response:
    with staff_http(server, session) as http:
        token = csrf(http, "/inbox/closed")
        return http.post(f"/inbox/closed/{cid}", data={"_csrf_token": token, **form})


async def handed_on_and_closed(clients: Clients, hana: Client, ren: Client) -> str:
    """hana takes a chat and hands it to ren, who closes it."""
    visitor, cid = await held_by(hana, clients)
    await visitor.call("code_word", {"word": "あじさい"})
    await visitor.call("message", {"client_id": client_id(), "body": TRANSCRIPT})
    await hana.call("note", {"conversation_id": cid, "body": SECRET_NOTE})
    assert (await hana.call("transfer", {"conversation_id": cid, "to_user": "ren"}))["ok"]
    assert (await hana.call("history", {"conversation_id": cid}))["ok"]  # reads back, while open
    closed = {"conversation_id": cid, "outcome": "resolved", "summary": SECRET_SUMMARY}
    assert (await ren.call("close", closed))["ok"]
    return cid


async def test_a_closed_record_in_full_is_for_its_last_holder_and_its_desks_supervisors(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    ren = await clients.counselor(sessions["ren"])
    mori = await clients.counselor(sessions["mori"])
    sato = await clients.counselor(sessions["sato"])
    cid = await handed_on_and_closed(clients, hana, ren)

    for reader in (ren, mori):
        history = await reader.call("history", {"conversation_id": cid})
        assert any(m["body"] == TRANSCRIPT for m in history["messages"])
        case = await reader.call("case", {"conversation_id": cid})
        assert case["case"]["notes"][0]["body"] == SECRET_NOTE
    for outsider in (hana, sato):  # handed it on; supervises another desk
        for event in ("history", "case"):
            assert_error(await outsider.call(event, {"conversation_id": cid}), "not_found")

    def page(name: str, **form: str) -> httpx.Response:
        return open_record(server, sessions[name], cid, purpose="handoff", **form)

    for name in ("ren", "mori"):
        full = await asyncio.to_thread(page, name)
        assert full.status_code == 200
        assert TRANSCRIPT in full.text and SECRET_NOTE in full.text
    # The one who handed it on, and a colleague of the desk with the code word: the handoff.
    for name, form in (("hana", {}), ("yui", {"code_word": "あじさい"})):
        handoff = await asyncio.to_thread(page, name, **form)
        assert handoff.status_code == 200 and SECRET_SUMMARY in handoff.text
        assert TRANSCRIPT not in handoff.text and SECRET_NOTE not in handoff.text
    # A colleague without the word; the word but not the desk.
    for name, form in (("yui", {}), ("sato", {"code_word": "あじさい"})):
        assert (await asyncio.to_thread(page, name, **form)).status_code == 404, name


async def test_a_supervisors_note_needs_someone_holding_the_chat(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    mori = await clients.counselor(sessions["mori"])
    _visitor, waiting = await started(clients)
    note = {"conversation_id": waiting, "body": "x"}
    assert_error(await mori.call("supervisor_note", note), "not_found")
    assert server.query("SELECT COUNT(*) FROM note WHERE conversation_id = ?", (waiting,)) == [(0,)]


async def test_a_chat_is_handed_only_to_a_colleague_who_may_take_it(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    _visitor, cid = await held_by(hana, clients)
    await asyncio.to_thread(cli, server, "user", "update", "gone", "--inactive")
    before = server.query(
        "SELECT status, counselor_id, desk_id FROM conversation WHERE id = ?", (cid,)
    )

    # Five tries at most: transfers are rate limited.
    for to in (
        {"to_user": "kai"},  # works the legal desk only
        {"to_user": "gone"},  # deactivated
        {"to_user": "hana"},  # holds it already
    ):
        ack = await hana.call("transfer", {"conversation_id": cid, **to})
        assert_error(ack, "unknown_user")
    assert_error(
        await hana.call("transfer", {"conversation_id": cid, "to_desk": "nowhere"}), "unknown_desk"
    )
    assert (
        server.query("SELECT status, counselor_id, desk_id FROM conversation WHERE id = ?", (cid,))
        == before
    )
    kai = await clients.counselor(sessions["kai"])
    moved = await hana.call(
        "transfer", {"conversation_id": cid, "to_user": "kai", "to_desk": "legal"}
    )
    assert moved == {"ok": True}
    await kai.wait_for("status", lambda s: s.get("conversation_id") == cid)


def test_the_inbox_offers_a_chat_only_to_active_colleagues(
    server: Server, sessions: dict[str, str]
) -> None:
    cli(server, "user", "update", "gone", "--inactive")
    with staff_http(server, sessions["hana"]) as http:
        page = http.get("/inbox").text
    select = page[page.index('id="mg-transfer-user"') :]
    offered = set(re.findall(r'<option value="([^"]+)"', select[: select.index("</select>")]))
    assert offered == {"admin", "ren", "kai", "mori", "sato", "yui"}  # not herself nor "gone"
