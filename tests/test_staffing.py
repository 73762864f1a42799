"""When nobody is online to answer, a waiting visitor is told so (``staffed: false``) rather than
left to wait in silence; the first counselor of the desk to connect, or the last to go, changes
it for every visitor waiting there. Only an account that works the desk counts.

Real servers and real Socket.IO clients; across processes, two nodes of one service on
PostgreSQL and Redis, one of them killed.
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
from service.domain.staffing import staffed_desks, staffing_changed
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Client, Clients, Server, login_sync, running_server
from tests.test_cluster_shared import one_service

GENERAL, LEGAL, OTHER = 1, 2, 3

# -- the rule -----------------------------------------------------------------------------------


def account(
    user_id: int, role: str = "counselor", desks: frozenset[int] | None = None, active: bool = True
) -> User:
    return User(user_id, f"u{user_id}", f"U{user_id}", role, active, desks)  # type: ignore[arg-type]


def test_a_desk_is_staffed_by_an_online_active_account_that_works_it() -> None:
    accounts = {
        1: account(1, desks=frozenset({LEGAL})),
        2: account(2, "supervisor", desks=None),  # every desk
        3: account(3, "admin", desks=frozenset({OTHER})),
        4: account(4, desks=None, active=False),
    }
    desks = [GENERAL, LEGAL, OTHER]
    assert staffed_desks([], accounts, desks) == frozenset()
    assert staffed_desks([1], accounts, desks) == {LEGAL}
    assert staffed_desks([2], accounts, desks) == {GENERAL, LEGAL, OTHER}
    assert staffed_desks([3], accounts, desks) == {OTHER}
    # A deactivated account, or one the catalog does not know, answers nobody.
    assert staffed_desks([4, 99], accounts, desks) == frozenset()


def test_only_the_desks_whose_staffing_flipped_change() -> None:
    accounts = {1: account(1, desks=frozenset({LEGAL})), 2: account(2, desks=None)}
    desks = [GENERAL, LEGAL]
    assert staffing_changed([], [1], accounts, desks) == {LEGAL}
    assert staffing_changed([1], [1, 2], accounts, desks) == {GENERAL}
    assert staffing_changed([1, 2], [2], accounts, desks) == frozenset()  # 2 still works legal
    assert staffing_changed([2], [], accounts, desks) == {GENERAL, LEGAL}
    # A socket dropped because its account was deactivated: counted before as it connected.
    deactivated = {**accounts, 2: account(2, desks=None, active=False)}
    assert staffing_changed([2], [], deactivated, desks) == frozenset()
    assert staffing_changed([2], [], deactivated, desks, then=accounts) == {GENERAL, LEGAL}


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
    """hana works every desk, sora only the legal desk."""
    with running_server() as srv:
        cli(srv, "desk", "add", "legal", "--name", "法律相談", "--hours", "24/7")
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("sora", PASSWORD, display_name="空", desks=["legal"])
        # The running server reads the new desk within about a second.
        deadline = time.monotonic() + 10
        while not any(d["key"] == "legal" for d in desks(srv)):
            assert time.monotonic() < deadline, "the server never read the new desk"
            time.sleep(0.05)  # polling the server's state
        yield srv


def desks(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{server.url}/api/v1/desks").json()["desks"]
    return found


async def waiting(client: Client, desk: str | None = None) -> dict[str, Any]:
    ack = await client.call("start", {} if desk is None else {"desk": desk})
    assert ack["ok"], ack
    conversation: dict[str, Any] = ack["conversation"]
    assert conversation["status"] == "waiting"
    return conversation


async def told(client: Client, staffed: bool, after: int, timeout: float = 10.0) -> Any:
    """The first waiting ``status`` among the events after the first ``after`` that says
    ``staffed``."""

    def fresh(status: dict[str, Any]) -> bool:
        return (
            status["status"] == "waiting"
            and status.get("staffed") is staffed
            and any(data is status for _, data in client.events[after:])
        )

    return await client.wait_for("status", fresh, timeout=timeout)


async def test_a_visitor_is_told_when_nobody_is_online_and_when_a_counselor_comes_and_goes(
    server: Server, clients: Clients
) -> None:
    guest = await clients.visitor()
    first = await waiting(guest)
    assert first["staffed"] is False
    # The status a reconnecting visitor gets says so too.
    again = await clients.visitor(token=first["token"])
    assert (await again.wait_for("status"))["staffed"] is False

    mark = len(guest.events)
    hana = await clients.counselor(login_sync(server, "hana", PASSWORD))
    await hana.wait_for("queue")
    status = await told(guest, True, after=mark)
    assert status["queue_position"] == first["queue_position"]  # nobody moved: told anyway
    # A visitor starting now is told at once.
    assert (await waiting(await clients.visitor()))["staffed"] is True

    # A second socket of the same account and its going change nothing; the last one's does.
    second = await clients.counselor(login_sync(server, "hana", PASSWORD))
    await second.wait_for("queue")
    await second.disconnect()
    assert (await waiting(guest))["staffed"] is True
    mark = len(guest.events)
    await hana.disconnect()
    await told(guest, False, after=mark)
    assert (await waiting(await clients.visitor()))["staffed"] is False


async def test_a_counselor_of_another_desk_does_not_count(server: Server, clients: Clients) -> None:
    general = await clients.visitor()
    assert (await waiting(general))["staffed"] is False
    legal = await clients.visitor()
    assert (await waiting(legal, "legal"))["staffed"] is False

    mark = len(legal.events)
    sora = await clients.counselor(login_sync(server, "sora", PASSWORD))
    await sora.wait_for("queue")
    await told(legal, True, after=mark)
    # sora works only the legal desk: the general desk has still nobody.
    assert (await waiting(general))["staffed"] is False
    assert not [s for s in general.received("status") if s.get("staffed") is True]
    assert (await waiting(await clients.visitor(), "legal"))["staffed"] is True

    mark = len(legal.events)
    await sora.disconnect()
    await told(legal, False, after=mark)


# -- several processes --------------------------------------------------------------------------


async def test_a_counselor_on_another_process_counts_until_that_process_dies(
    postgres: Any, redis_server: Any
) -> None:
    with one_service(postgres, redis_server.new_url()) as (env, admin_url):
        # Before the nodes start, so that both know the account from their first reading.
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
            await one_counselor_on_two_processes(first, second)


async def one_counselor_on_two_processes(first: Server, second: Server) -> None:
    """kana on the second process, a waiting visitor on the first."""
    pools = [Clients(first), Clients(second)]
    try:
        guest = await pools[0].visitor()
        assert (await waiting(guest))["staffed"] is False

        # A counselor connects to the other process: the visitor here hears of it.
        mark = len(guest.events)
        session = login_sync(second, "kana", PASSWORD)
        kana = await pools[1].counselor(session)
        await kana.wait_for("queue")
        await told(guest, True, after=mark)
        assert (await waiting(await pools[0].visitor()))["staffed"] is True

        mark = len(guest.events)
        await kana.disconnect()
        await told(guest, False, after=mark)

        mark = len(guest.events)
        kana = await pools[1].counselor(session)
        await kana.wait_for("queue")
        await told(guest, True, after=mark)
        # The process holding the counselor dies without a word: its marks expire, and
        # the process left notices within a refresh.
        mark = len(guest.events)
        second.kill()
        await told(guest, False, after=mark, timeout=40.0)
    finally:
        for pool in pools:
            await pool.close()
