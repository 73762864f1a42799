"""Practice desks: staff play the visitor through the real chat, and nobody else can tell the desk
exists. A start there without a staff login is answered exactly as a start at a desk that does
not exist; the practice chat goes through queue, claim, messages and close like a real one, but
stays among practice desks, is badged in the queue and reaches only those who work that desk."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from service.catalog import Catalog
from service.clock import iso
from service.domain.directory import Desk, Partner
from service.errors import AppError, ErrorCode
from tests.conftest import PASSWORD
from tests.support import (
    EVENT_TIMEOUT,
    PROJECT_DIR,
    Clients,
    Server,
    assert_error,
    client_id,
    execute,
    login,
    login_sync,
    running_server,
)

PRACTICE = "practice"


def madoguchi(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def desk_keys(server: Server, session: str | None = None) -> list[str]:
    cookies = {"mg_session": session} if session else {}
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        response = http.get("/api/v1/desks")
    assert response.status_code == 200
    return [d["key"] for d in response.json()["desks"]]


async def until(check: Any, what: str) -> None:
    """Wait for ``check()`` to hold: the server reloads CLI changes within about a second."""
    deadline = asyncio.get_running_loop().time() + EVENT_TIMEOUT
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)  # polling a subprocess's state, not waiting on behaviour


@pytest.fixture(scope="module")
def centre() -> Iterator[Server]:
    """The default desk, a practice desk; hana works every desk, kai the general desk only."""
    with running_server() as server:
        made = madoguchi(
            server, "desk", "add", PRACTICE, "--name", "練習用の窓口", "--hours", "24/7",
            "--practice",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        madoguchi(server, "desk", "update", "general", "--hours", "24/7")
        server.add_user("hana", PASSWORD, role="counselor", display_name="花子")
        server.add_user("kai", PASSWORD, role="counselor", display_name="海", desks=["general"])
        server.add_user("aiko", PASSWORD, role="admin", display_name="愛子")
        server.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        yield server


@pytest.fixture
async def hana_cookie(centre: Server) -> str:
    cookie = await login(centre, "hana", PASSWORD)
    await until(lambda: PRACTICE in desk_keys(centre, cookie), "the practice desk is loaded")
    return cookie


def cookie_header(session: str) -> dict[str, str]:
    return {"Cookie": f"mg_session={session}"}


async def test_the_public_desk_list_leaves_practice_desks_out(
    centre: Server, hana_cookie: str
) -> None:
    assert desk_keys(centre) == ["general"]
    assert desk_keys(centre, "not-a-session") == ["general"]
    with httpx.Client(base_url=centre.url, cookies={"mg_session": hana_cookie}) as http:
        desks = {d["key"]: d["practice"] for d in http.get("/api/v1/desks").json()["desks"]}
    assert desks == {"general": False, PRACTICE: True}


async def test_an_anonymous_start_at_a_practice_desk_is_answered_as_at_no_desk(
    centre: Server, hana_cookie: str
) -> None:
    clients = Clients(centre)
    try:
        answers = []
        for desk, headers in [
            ("no-such-desk", None),
            (PRACTICE, None),
            (PRACTICE, cookie_header("a-session-that-is-not")),
        ]:
            guest = await clients.visitor(headers=headers)
            answers.append(json.dumps(await guest.call("start", {"desk": desk})))
        assert_error(json.loads(answers[0]), "unknown_desk")
        assert answers[1] == answers[0]
        assert answers[2] == answers[0]
        # The chat page names no practice desk either: it shows the default desk's.
        with httpx.Client(base_url=centre.url) as http:
            page = http.get("/chat", params={"desk": PRACTICE}).text
            unknown = http.get("/chat", params={"desk": "no-such-desk"}).text
        assert "練習用の窓口" not in page
        assert page.replace(PRACTICE, "no-such-desk") == unknown or page == unknown
    finally:
        await clients.close()


async def test_a_practice_chat_runs_like_a_real_one_but_only_among_practice_desks(
    centre: Server, hana_cookie: str
) -> None:
    kai_cookie = await login(centre, "kai", PASSWORD)
    clients = Clients(centre)
    try:
        hana = await clients.counselor(hana_cookie)
        kai = await clients.counselor(kai_cookie)
        await hana.wait_for("queue")
        await kai.wait_for("queue")
        # hana plays the visitor, logged in in the same browser.
        player = await clients.visitor(headers=cookie_header(hana_cookie))
        started = await player.call("start", {"desk": PRACTICE})
        assert started["ok"], started
        cid = started["conversation"]["id"]
        queue = await hana.wait_for_queue(lambda q: any(c["id"] == cid for c in q["conversations"]))
        [item] = [c for c in queue["conversations"] if c["id"] == cid]
        assert item["practice"] is True and item["desk"] == PRACTICE
        assert item["source"] == "practice"  # not "direct": no visitor came from anywhere

        assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
        said = await player.call("message", {"client_id": client_id(), "body": "練習です"})
        assert said["ok"], said
        reply = {"conversation_id": cid, "client_id": client_id(), "body": "はい、どうぞ"}
        assert (await hana.call("message", reply))["ok"]
        await player.wait_for("message", lambda m: m.get("body") == "はい、どうぞ")

        moved = await hana.call("transfer", {"conversation_id": cid, "to_desk": "general"})
        assert_error(moved, "forbidden")
        assert (await hana.call("close", {"conversation_id": cid, "outcome": "resolved"}))["ok"]
        # A real chat, started after, reaches kai: kai's queue never carried the practice one.
        guest = await clients.visitor()
        real = (await guest.call("start", {}))["conversation"]["id"]
        await kai.wait_for_queue(lambda q: any(c["id"] == real for c in q["conversations"]))
        heard = [e for e in kai.events if cid in json.dumps(e[1], ensure_ascii=False)]
        assert heard == []
        real_move = await hana.call("claim", {"conversation_id": real})
        assert real_move["ok"]
        back = await hana.call("transfer", {"conversation_id": real, "to_desk": PRACTICE})
        assert_error(back, "forbidden")
    finally:
        await clients.close()


async def test_partners_and_campaigns_cannot_send_the_public_to_a_practice_desk(
    centre: Server, hana_cookie: str
) -> None:
    for args in (
        ("partner", "add", "library", "--name", "図書館", "--desk", PRACTICE),
        ("partner", "update", "demo", "--desk", PRACTICE),
        ("campaign", "add", "poster1", "--name", "ポスター", "--desk", PRACTICE),
    ):
        done = madoguchi(centre, *args)
        assert done.returncode != 0 and "practice" in done.stderr, (args, done.stderr)


def test_a_practice_desk_given_to_a_partner_by_hand_is_ignored_in_routing() -> None:
    """Even if a partner's row named one (a hand edit of the database), its visitors reach
    the default desk, and a visitor naming it is told it does not exist."""
    general = Desk(1, "general", "一般相談", is_default=True)
    practice = Desk(2, PRACTICE, "練習", is_default=False, practice=True)
    partner = Partner(1, "ward", "区", (), is_default=True, enabled=True, desk_id=practice.id)
    catalog = Catalog(store=None)  # type: ignore[arg-type]
    catalog.desks = {d.key: d for d in (general, practice)}
    assert catalog.desk_to_start(None, partner, None) == general
    with pytest.raises(AppError) as refused:
        catalog.desk_to_start(PRACTICE, partner, None)
    assert refused.value.code == ErrorCode.UNKNOWN_DESK
    assert catalog.desk_to_start(PRACTICE, partner, None, practice_allowed=True) == practice


async def consult(clients: Clients, staff: str, *, desk: str | None, player: str | None) -> str:
    """A whole chat, closed by the counselor: started (by staff ``player`` at ``desk``, or by
    an anonymous visitor), claimed, a message each way, a note and a tag, then closed."""
    hana = await clients.counselor(staff)
    visitor = await clients.visitor(headers=cookie_header(player) if player else None)
    started = await visitor.call("start", {"desk": desk} if desk else {})
    assert started["ok"], started
    cid: str = started["conversation"]["id"]
    assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
    assert (await visitor.call("message", {"client_id": client_id(), "body": "相談の本文"}))["ok"]
    reply = {"conversation_id": cid, "client_id": client_id(), "body": "返信の本文"}
    assert (await hana.call("message", reply))["ok"]
    assert (await hana.call("note", {"conversation_id": cid, "body": "内部メモ"}))["ok"]
    assert (await hana.call("close", {"conversation_id": cid, "outcome": "resolved"}))["ok"]
    await hana.disconnect()
    await visitor.disconnect()
    return cid


def jst_month() -> str:
    return datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m")


def reports(server: Server, session: str) -> tuple[bytes, bytes]:
    month = {"from": jst_month(), "to": jst_month()}
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        page = http.get("/admin/reports", params=month)
        export = http.get("/admin/reports.csv", params=month)
    assert page.status_code == 200 and export.status_code == 200
    return page.content, export.content


async def test_a_whole_practice_chat_leaves_the_reports_and_their_csv_byte_for_byte_alike(
    centre: Server, hana_cookie: str
) -> None:
    aiko = await login(centre, "aiko", PASSWORD)
    clients = Clients(centre)
    try:
        await consult(clients, hana_cookie, desk=None, player=None)
        page, export = reports(centre, aiko)
        assert b"general" in export  # the real chat is counted: the comparison means something
        await consult(clients, hana_cookie, desk=PRACTICE, player=hana_cookie)
    finally:
        await clients.close()
    assert reports(centre, aiko) == (page, export)


async def test_practice_chats_are_erased_after_the_practice_retention_real_ones_are_kept(
    centre: Server, hana_cookie: str
) -> None:
    clients = Clients(centre)
    try:
        real = await consult(clients, hana_cookie, desk=None, player=None)
        practice = await consult(clients, hana_cookie, desk=PRACTICE, player=hana_cookie)
    finally:
        await clients.close()
    # Both closed eight days ago: past the practice retention (7), well within the real (90).
    eight_days_ago = iso(datetime.now(UTC) - timedelta(days=8))
    for cid in (real, practice):
        execute(centre, "UPDATE conversation SET closed_at = ? WHERE id = ?", (eight_days_ago, cid))
    done = madoguchi(centre, "purge")
    assert done.returncode == 0, done.stderr
    assert "on practice desks: 7 days" in done.stdout
    bodies = "SELECT opened(body) FROM message WHERE conversation_id = ? AND author != 'system'"
    notes = "SELECT COUNT(*) FROM note WHERE conversation_id = ?"
    assert centre.query(bodies, (practice,)) == [(b"",), (b"",)]
    assert centre.query(notes, (practice,)) == [(0,)]
    assert centre.query(bodies, (real,)) == [("相談の本文",), ("返信の本文",)]
    assert centre.query(notes, (real,)) == [(1,)]
    [detail] = centre.query(
        "SELECT detail FROM audit_log WHERE action = 'retention.purge' ORDER BY id DESC LIMIT 1"
    )
    assert '"practice": true' in detail[0]


def test_the_practice_page_is_for_staff_who_work_the_practice_desk(
    centre: Server, hana_cookie: str
) -> None:
    kai = login_sync(centre, "kai", PASSWORD)
    with httpx.Client(base_url=centre.url, cookies={"mg_session": hana_cookie}) as http:
        page = http.get(f"/inbox/practice/{PRACTICE}")
        assert page.status_code == 200
        assert f'src="/chat?desk={PRACTICE}&amp;lang=ja"' in page.text
        assert http.get("/inbox/practice/general").status_code == 404
        assert f'href="/inbox/practice/{PRACTICE}?lang=ja"' in http.get("/inbox").text
        chat = http.get("/chat", params={"desk": PRACTICE}).text
        assert 'class="mg-practice"' in chat and "練習用の窓口" in chat
    with httpx.Client(base_url=centre.url, cookies={"mg_session": kai}) as http:
        assert http.get(f"/inbox/practice/{PRACTICE}").status_code == 404
        assert "/inbox/practice/" not in http.get("/inbox").text
        assert 'class="mg-practice"' not in http.get("/chat", params={"desk": PRACTICE}).text


@pytest.mark.parametrize(("lang", "tag"), [("ja", "練習"), ("en", "Practice")])
def test_the_admin_desk_list_tags_the_practice_desk(centre: Server, lang: str, tag: str) -> None:
    aiko = login_sync(centre, "aiko", PASSWORD)
    with httpx.Client(base_url=centre.url, cookies={"mg_session": aiko}) as http:
        page = http.get("/admin/desks", params={"lang": lang}).text
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in page.split("<tr>")[2:]}
    tagged = [name for name, row in rows.items() if f'<span class="mg-tag">{tag}</span>' in row]
    assert len(rows) >= 2 and len(tagged) == 1
    assert f"/admin/desks/{PRACTICE}" in rows[tagged[0]]


def test_the_admin_api_makes_a_practice_desk_whose_flag_never_changes(centre: Server) -> None:
    aiko = login_sync(centre, "aiko", PASSWORD)
    with httpx.Client(base_url=centre.url, cookies={"mg_session": aiko}) as http:
        http.get("/inbox/login")  # any page of the staff's area sets the CSRF cookie
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        made = http.post(
            "/api/v1/admin/desks", json={"key": "drill", "name": "訓練", "practice": True}
        )
        assert made.status_code in (200, 201), made.text
        assert made.json()["practice"] is True
        changed = http.patch("/api/v1/admin/desks/drill", json={"practice": False})
        assert changed.status_code == 400
        assert "practice" in changed.text, changed.text
        listed = {d["key"]: d["practice"] for d in http.get("/api/v1/admin/desks").json()["desks"]}
        assert listed["drill"] is True and listed["general"] is False


async def test_closed_practice_records_show_only_when_a_practice_desk_is_chosen(
    centre: Server, hana_cookie: str
) -> None:
    clients = Clients(centre)
    try:
        real = await consult(clients, hana_cookie, desk=None, player=None)
        practice = await consult(clients, hana_cookie, desk=PRACTICE, player=hana_cookie)
    finally:
        await clients.close()
    with httpx.Client(base_url=centre.url, cookies={"mg_session": hana_cookie}) as http:
        everything = http.get("/inbox/closed").text
        chosen = http.get("/inbox/closed", params={"desk": PRACTICE}).text
    assert f'data-id="{real}"' in everything and f'data-id="{practice}"' not in everything
    assert f'data-id="{practice}"' in chosen and f'data-id="{real}"' not in chosen
    assert 'class="mg-practice-badge"' in chosen.split(f'data-id="{practice}"')[1]


def test_the_practice_page_frames_only_our_own_chat(centre: Server, hana_cookie: str) -> None:
    with httpx.Client(base_url=centre.url, cookies={"mg_session": hana_cookie}) as http:
        policy = http.get(f"/inbox/practice/{PRACTICE}").headers["content-security-policy"]
    assert "frame-src 'self'" in policy and "frame-ancestors 'none'" in policy


async def test_the_supervisors_board_counts_no_practice_chat(
    centre: Server, hana_cookie: str
) -> None:
    mori = await login(centre, "mori", PASSWORD)
    clients = Clients(centre)
    try:
        supervisor = await clients.counselor(mori)
        hana = await clients.counselor(hana_cookie)
        before = await supervisor.call("board", {})
        assert before["ok"], before
        assert [row["desk"] for row in before["desks"]] == ["general"]
        player = await clients.visitor(headers=cookie_header(hana_cookie))
        cid = (await player.call("start", {"desk": PRACTICE}))["conversation"]["id"]
        assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
        after = await supervisor.call("board", {})
        # hana counts as staff of the general desk; the practice chat she now holds adds to
        # nothing (earlier tests may have left her a real one: her load stays what it was).
        [row] = after["desks"]
        assert row["waiting"] == before["desks"][0]["waiting"]
        assert row["today"] == before["desks"][0]["today"]

        def load(board: dict[str, Any]) -> list[int]:
            [desk] = board["desks"]
            return [c["load"] for c in desk["counselors"] if c["name"] == "花子"]

        assert len(load(before)) == 1 and load(after) == load(before)
    finally:
        await clients.close()
