"""Available (対応可能) or away (離席中), and the supervisors' live board, through real servers and
real Socket.IO clients.

The state is the account's: every tab of it hears a change, an away account staffs no desk for
a waiting visitor, a new login makes it available again, and an account may set only its own.
The board answers supervisors only and follows logins, toggles and claims by itself. Across
processes, two nodes of one service on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.domain.accounts import User
from service.domain.staffing import answering, staffed_desks
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Client, Clients, Server, login_sync, running_server
from tests.test_cluster_shared import one_service, until
from tests.test_staffing import told, waiting

GENERAL, LEGAL = 1, 2

# -- the rule -----------------------------------------------------------------------------------


def test_an_away_account_staffs_no_desk() -> None:
    accounts = {
        1: User(1, "hana", "花子", "counselor", True, None),
        2: User(2, "ren", "蓮", "counselor", True, frozenset({LEGAL})),
    }
    desks = [GENERAL, LEGAL]
    assert staffed_desks([1, 2], accounts, desks, away=[1]) == {LEGAL}
    assert staffed_desks([1, 2], accounts, desks, away=[1, 2]) == frozenset()
    # Away but offline changes nothing; online and available is what counts.
    assert answering([2], [1]) == {2}


# -- one process --------------------------------------------------------------------------------


def cli(server: Server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """hana works every desk, ren only the legal desk; aiko supervises every desk."""
    with running_server() as srv:
        cli(srv, "desk", "add", "legal", "--name", "法律相談", "--hours", "24/7")
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("ren", PASSWORD, display_name="蓮", desks=["legal"])
        srv.add_user("aiko", PASSWORD, role="supervisor", display_name="愛子")
        deadline = time.monotonic() + 10
        while not any(d["key"] == "legal" for d in desks(srv)):
            assert time.monotonic() < deadline, "the server never read the new desk"
            time.sleep(0.05)  # polling the server's state
        yield srv


def desks(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{server.url}/api/v1/desks").json()["desks"]
    return found


async def connected(clients: Clients, session: str) -> Client:
    socket = await clients.counselor(session)
    await socket.wait_for("queue")
    return socket


async def stated(socket: Client, state: str, after: int = 0) -> Any:
    """The first ``availability`` after the first ``after`` events that says ``state``."""

    def fresh(event: dict[str, Any]) -> bool:
        return event["state"] == state and any(data is event for _, data in socket.events[after:])

    return await socket.wait_for("availability", fresh)


async def test_away_reaches_every_tab_and_leaves_the_visitor_without_a_counselor(
    server: Server, clients: Clients
) -> None:
    session = login_sync(server, "hana", PASSWORD)
    first, second = await connected(clients, session), await connected(clients, session)
    # A socket learns its account's state as it connects.
    await stated(first, "available")
    guest = await clients.visitor()
    assert (await waiting(guest))["staffed"] is True

    mark, tab = len(guest.events), len(second.events)
    assert await first.call("availability", {"state": "away"}) == {"ok": True, "state": "away"}
    await stated(second, "away", after=tab)
    await told(guest, False, after=mark)
    # A visitor starting now hears it at once; a tab opened now starts away.
    assert (await waiting(await clients.visitor()))["staffed"] is False
    await stated(await connected(clients, session), "away")

    mark, tab = len(guest.events), len(first.events)
    assert (await second.call("availability", {"state": "available"}))["ok"] is True
    await stated(first, "available", after=tab)
    await told(guest, True, after=mark)


async def test_a_new_login_makes_an_away_account_available(
    server: Server, clients: Clients
) -> None:
    ren = await connected(clients, login_sync(server, "ren", PASSWORD))
    assert (await ren.call("availability", {"state": "away"}))["ok"] is True
    await stated(ren, "away")
    mark = len(ren.events)
    await stated(await connected(clients, login_sync(server, "ren", PASSWORD)), "available")
    await stated(ren, "available", after=mark)


@pytest.mark.parametrize(
    "payload",
    [
        {"state": "lunch"},
        {},
        {"state": "away", "user_id": 1},  # only one's own: no account can be named
        {"state": "away", "username": "hana"},
        "away",
    ],
)
async def test_only_a_known_state_of_ones_own_is_accepted(
    server: Server, clients: Clients, payload: Any
) -> None:
    ren = await connected(clients, login_sync(server, "ren", PASSWORD))
    ack = await ren.call("availability", payload)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"


async def test_the_board_answers_supervisors_only_and_follows_the_desks(
    server: Server, clients: Clients
) -> None:
    hana = await connected(clients, login_sync(server, "hana", PASSWORD))
    refused = await hana.call("board", {})
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"

    aiko = await connected(clients, login_sync(server, "aiko", PASSWORD))
    board = await aiko.call("board", {})
    assert board["ok"] is True
    rows = {row["desk"]: row for row in board["desks"]}
    assert set(rows) == {"general", "legal"}
    names = {c["name"]: c for c in rows["general"]["counselors"]}
    assert names["花子"]["state"] == "available"
    assert "蓮" not in names  # ren works the legal desk only

    def general(predicate: Any) -> Any:
        return aiko.wait_for("board_desk", lambda row: row["desk"] == "general" and predicate(row))

    started = rows["general"]["today"]["started"]
    guest = await clients.visitor()
    conversation = await waiting(guest)
    row = await general(lambda row: row["today"]["started"] == started + 1)
    assert row["waiting"] >= 1 and row["oldest_waiting_since"] is not None

    assert (await hana.call("claim", {"conversation_id": conversation["id"]}))["ok"] is True
    await general(
        lambda row: any(c["name"] == "花子" and c["load"] >= 1 for c in row["counselors"])
    )
    assert (await hana.call("availability", {"state": "away"}))["ok"] is True
    await general(
        lambda row: any(c["name"] == "花子" and c["state"] == "away" for c in row["counselors"])
    )
    await hana.disconnect()
    await general(lambda row: all(c["name"] != "花子" for c in row["counselors"]))


NOT_READ = "nobody watches the board here: not read"


@pytest.mark.without_redis("with Redis a board on another process may be watching: always read")
async def test_a_process_reads_the_board_only_while_one_of_its_boards_is_open() -> None:
    """Two tabs of one supervisor open the board: while either is open a change is read and
    told; once both have disconnected a change is not read at all (the debug log says so)."""
    with running_server({"MADOGUCHI_LOG_LEVEL": "debug"}) as srv:
        srv.add_user("aiko", PASSWORD, role="supervisor", display_name="愛子")
        pool = Clients(srv)
        try:
            session = login_sync(srv, "aiko", PASSWORD)
            first, second = await connected(pool, session), await connected(pool, session)
            for tab in (first, second):
                assert (await tab.call("board", {}))["ok"] is True

            async def started_and_told(tab: Client) -> None:
                await waiting(await pool.visitor())
                count = len(srv.query("SELECT id FROM conversation"))
                await tab.wait_for(
                    "board_desk",
                    lambda row: row["desk"] == "general" and row["today"]["started"] == count,
                )

            await started_and_told(second)
            unread = srv.logs().count(NOT_READ)
            await first.disconnect()
            await started_and_told(second)  # the other tab still watches: read and told
            assert srv.logs().count(NOT_READ) == unread

            await second.disconnect()  # a change of its own: nobody is left to tell
            await until(lambda: srv.logs().count(NOT_READ) > unread)
        finally:
            await pool.close()


# -- several processes --------------------------------------------------------------------------


async def test_away_set_on_one_process_holds_on_the_other(postgres: Any, redis_server: Any) -> None:
    with one_service(postgres, redis_server.new_url()) as (env, admin_url):
        subprocess.run(
            [sys.executable, "-m", "service", "add-user", "kana", "--role", "counselor"],
            input=f"{PASSWORD}\n".encode(),
            cwd=PROJECT_DIR,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        with (
            running_server(env, admin_url=admin_url) as first,
            running_server(env, admin_url=admin_url) as second,
        ):
            pools = [Clients(first), Clients(second)]
            try:
                session = login_sync(first, "kana", PASSWORD)
                here, there = await connected(pools[0], session), await connected(pools[1], session)
                guest = await pools[1].visitor()
                assert (await waiting(guest))["staffed"] is True

                mark, tab = len(guest.events), len(there.events)
                assert (await here.call("availability", {"state": "away"}))["ok"] is True
                await stated(there, "away", after=tab)
                await told(guest, False, after=mark)
                assert (await waiting(await pools[1].visitor()))["staffed"] is False
            finally:
                for pool in pools:
                    await pool.close()
