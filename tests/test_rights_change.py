"""An account's rights are current on its open sockets: a change of role, desks or active flag,
made at ``/admin``, through the admin API or with the command line (another process), drops the
account's ``/counselor`` sockets within about a second; the client reconnects with what it may
do now, or is refused if the account was deactivated. Settings change detection does not fire on
chat traffic.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    execute,
    login_sync,
    migrate_database,
    refusal,
    running_seeded_server,
)
from tests.test_casework import LEGAL, started

DROPPED_WITHIN = 10.0  # seconds: generous; the server polls once a second


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_seeded_server([LEGAL]) as srv:
        srv.add_user("aiko", PASSWORD, role="admin", display_name="管理")
        yield srv


@pytest.fixture(scope="module")
def admin_api(server: Server) -> Iterator[httpx.Client]:
    """The admin's JSON API client, with its session and CSRF header."""
    cookies = {"mg_session": login_sync(server, "aiko", PASSWORD)}
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        http.get("/inbox/login")  # sets the CSRF cookie
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        yield http


def cli(server: Server, *args: str) -> None:
    """``madoguchi …`` in its own process, as an operator would run it beside the server."""
    done = subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def person(server: Server, username: str, role: str, desks: list[str] | None = None) -> str:
    """A new account, logged in; returns its session cookie."""
    server.add_user(username, PASSWORD, role=role, desks=desks)
    return login_sync(server, username, PASSWORD)


async def dropped(client: Client) -> None:
    await client.wait_for("disconnect", timeout=DROPPED_WITHIN)
    assert not client.sio.connected


async def monitors(client: Client, clients: Clients) -> dict[str, Any]:
    _visitor, waiting = await started(clients)
    return dict(await client.call("monitor", {"conversation_id": waiting}))


async def demoted_socket_reconnects_as_a_counselor(
    server: Server, clients: Clients, session: str, sv: Client
) -> None:
    await dropped(sv)
    again = await clients.counselor(session)  # the login itself is still good
    assert_error(await monitors(again, clients), "forbidden")
    _visitor, waiting = await started(clients)
    assert (await again.call("claim", {"conversation_id": waiting}))["ok"]


async def test_a_supervisor_demoted_through_the_api_loses_their_rights(
    server: Server, clients: Clients, admin_api: httpx.Client
) -> None:
    session = person(server, "sv_api", "supervisor")
    sv = await clients.counselor(session)
    assert (await monitors(sv, clients))["ok"]

    changed = admin_api.patch("/api/v1/admin/users/sv_api", json={"role": "counselor"})

    assert changed.status_code == 200, changed.text
    await demoted_socket_reconnects_as_a_counselor(server, clients, session, sv)


async def test_a_supervisor_demoted_with_the_command_line_loses_their_rights(
    server: Server, clients: Clients
) -> None:
    session = person(server, "sv_cli", "supervisor")
    sv = await clients.counselor(session)
    assert (await monitors(sv, clients))["ok"]

    await asyncio.to_thread(cli, server, "user", "update", "sv_cli", "--role", "counselor")

    await demoted_socket_reconnects_as_a_counselor(server, clients, session, sv)


async def test_a_supervisor_demoted_on_the_admin_page_loses_their_rights(
    server: Server, clients: Clients
) -> None:
    session = person(server, "sv_page", "supervisor")
    sv = await clients.counselor(session)
    assert (await monitors(sv, clients))["ok"]

    def submit() -> None:
        cookies = {"mg_session": login_sync(server, "aiko", PASSWORD)}
        with httpx.Client(base_url=server.url, cookies=cookies) as http:
            page = http.get("/admin/users")
            assert page.status_code == 200, page.status_code
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert token
            form = {"_csrf_token": token.group(1), "role": "counselor"}  # the role's own form
            done = http.post("/admin/users/sv_page", data=form)
            assert done.status_code in (200, 303), done.text

    await asyncio.to_thread(submit)

    assert server.query("SELECT role FROM user WHERE username = 'sv_page'") == [("counselor",)]
    await demoted_socket_reconnects_as_a_counselor(server, clients, session, sv)


async def test_a_counselor_deactivated_with_the_command_line_is_dropped_and_refused(
    server: Server, clients: Clients
) -> None:
    session = person(server, "gone_cli", "counselor")
    socket = await clients.counselor(session)
    visitor, cid = await started(clients)
    assert (await socket.call("claim", {"conversation_id": cid}))["ok"]

    await asyncio.to_thread(cli, server, "user", "update", "gone_cli", "--inactive")

    await dropped(socket)
    assert (await refusal(server, "/counselor", headers={"Cookie": f"mg_session={session}"})) == {
        "code": "unauthorized"
    }
    assert server.query("SELECT COUNT(*) FROM session WHERE user_id = (SELECT id FROM user "
                        "WHERE username = 'gone_cli')") == [(0,)]  # fmt: skip
    assert (await visitor.call("history", {}))["ok"]  # the visitor's chat goes on


async def test_a_desk_taken_away_is_gone_from_the_next_connection(
    server: Server, clients: Clients
) -> None:
    session = person(server, "desk_cli", "counselor")
    socket = await clients.counselor(session)
    await asyncio.to_thread(cli, server, "user", "update", "desk_cli", "--desk", "legal")
    await dropped(socket)

    again = await clients.counselor(session)
    _visitor, general = await started(clients)
    assert_error(await again.call("claim", {"conversation_id": general}), "not_found")
    _visitor, legal = await started(clients, desk="legal")
    assert (await again.call("claim", {"conversation_id": legal}))["ok"]


async def test_a_claim_checks_the_desks_the_account_has_now(
    server: Server, clients: Clients
) -> None:
    """Before the server has noticed a change, the open socket claims with what the account
    may do now, not with the desks it connected with."""
    session = person(server, "claim_cli", "counselor")
    for _attempt in range(3):
        socket = await clients.counselor(session)
        _visitor, general = await started(clients)
        await asyncio.to_thread(cli, server, "user", "update", "claim_cli", "--desk", "legal")
        try:
            ack = await socket.call("claim", {"conversation_id": general})
        except Exception:  # the server dropped the socket before the claim arrived: again
            await asyncio.to_thread(cli, server, "user", "update", "claim_cli", "--all-desks")
            await dropped(socket)
            continue
        assert_error(ack, "not_found")
        assert server.query("SELECT status FROM conversation WHERE id = ?", (general,)) == [
            ("waiting",)
        ]
        return
    pytest.fail("the server dropped the socket before every claim")


async def test_a_desk_added_reaches_every_all_desks_socket(
    server: Server, clients: Clients
) -> None:
    session = person(server, "all_desks", "supervisor")
    sv = await clients.counselor(session)
    await asyncio.to_thread(
        cli, server, "desk", "add", "youth", "--name", "若者相談", "--hours", "24/7"
    )

    # The socket stays, and hears the new desk's queue.
    deadline = asyncio.get_running_loop().time() + DROPPED_WITHIN
    while True:
        visitor = await clients.visitor()
        ack = await visitor.call("start", {"desk": "youth"})
        if ack["ok"]:
            break
        assert_error(ack, "unknown_desk")  # not loaded yet: each try is a round trip
        assert asyncio.get_running_loop().time() < deadline, "the desk never arrived"
    cid = ack["conversation"]["id"]
    await sv.wait_for_queue(lambda q: any(c["id"] == cid for c in q["conversations"]))
    assert sv.sio.connected


async def test_chat_traffic_does_not_advance_the_settings_version(
    server: Server, clients: Clients
) -> None:
    before = server.query("SELECT version FROM settings_change")
    visitor, _cid = await started(clients)
    for n in range(20):
        assert (await visitor.call("message", {"client_id": client_id(), "body": f"{n}"}))["ok"]
    assert server.query("SELECT version FROM settings_change") == before
    await asyncio.to_thread(cli, server, "desk", "update", "legal", "--name", "法律相談（弁護士）")
    assert server.query("SELECT version FROM settings_change") > before


# Each of these changes what the server keeps in memory, and must advance the counter.
SETTINGS_CHANGES = [
    "INSERT INTO desk (key, name, created_at) VALUES ('night', '夜間', '2026-01-01')",
    "UPDATE desk SET hours = '24/7' WHERE key = 'night'",
    "INSERT INTO partner (key, name, created_at) VALUES ('lib', '図書館', '2026-01-01')",
    "UPDATE partner SET enabled = 0 WHERE key = 'lib'",
    "INSERT INTO campaign (code, name, created_at) VALUES ('p1', 'ポスター', '2026-01-01')",
    "UPDATE campaign SET enabled = 0 WHERE code = 'p1'",
    "DELETE FROM campaign WHERE code = 'p1'",
    "INSERT INTO emergency_contact (position, name, number) VALUES (9, '窓口', '0000')",
    "UPDATE emergency_contact SET number = '0001' WHERE position = 9",
    "DELETE FROM emergency_contact WHERE position = 9",
    "INSERT INTO user (username, display_name, role, password_hash, all_desks, created_at) "
    "VALUES ('yui', '結衣', 'counselor', 'x', 0, '2026-01-01')",
    "INSERT INTO user_desk (user_id, desk_id) SELECT u.id, d.id FROM user AS u, desk AS d "
    "WHERE u.username = 'yui' AND d.key = 'night'",
    "UPDATE user SET role = 'supervisor' WHERE username = 'yui'",
    "UPDATE user SET active = 0 WHERE username = 'yui'",
    "UPDATE user SET display_name = '結' WHERE username = 'yui'",
    "DELETE FROM user_desk",
    "DELETE FROM partner WHERE key = 'lib'",
    "DELETE FROM desk WHERE key = 'night'",
]
# Chats, logins and passwords are not settings: they leave the counter alone.
OTHER_WRITES = [
    "UPDATE user SET password_hash = 'y' WHERE username = 'yui'",
    "INSERT INTO session (id_hash, user_id, created_at, last_seen_at) "
    "SELECT 'h', id, '2026-01-01', '2026-01-01' FROM user WHERE username = 'yui'",
    "INSERT INTO conversation (id, token_hash, desk_id, lang, status, created_at) "
    "SELECT 'c1', 't1', id, 'ja', 'waiting', '2026-01-01' FROM desk WHERE key = 'general'",
    "INSERT INTO message (conversation_id, seq, author, client_id, body, created_at) "
    "VALUES ('c1', 1, 'visitor', 'k1', 'x', '2026-01-01')",
    "UPDATE conversation SET status = 'closed' WHERE id = 'c1'",
]


def test_only_changes_of_settings_advance_the_counter(tmp_path: Path) -> None:
    server = Server(db_path=tmp_path / "counter.sqlite3")
    migrate_database(server)

    def version() -> int:
        return int(server.query("SELECT version FROM settings_change")[0][0])

    for sql in SETTINGS_CHANGES:
        before = version()
        execute(server, sql)
        assert version() == before + 1, sql
    for sql in OTHER_WRITES:
        before = version()
        execute(server, sql)
        assert version() == before, sql
