"""Several `madoguchi serve` processes as one service: one PostgreSQL database, one Redis.

Two nodes on their own ports share a private PostgreSQL database and one Redis logical database
(tests/backends.py) and the same encryption key, as docs/deployment.md sets them up. Clients
talk to whichever node they connected to, over real sockets, and must not notice that the
other party, the claim they race against or the admin change they wait for is on the other
node: events cross through Redis, state through PostgreSQL, sessions and CSRF tokens hold on
every node, and a visitor whose node dies resumes on the other one without losing or doubling
a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from service.crypto import new_key
from tests.backends import Postgres, Redis
from tests.support import (
    PROJECT_DIR,
    Client,
    Clients,
    Server,
    client_id,
    login_sync,
    running_server,
)

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
STAFF = {
    "hana": ("counselor", "花子"),
    "ren": ("counselor", "蓮"),
    "aiko": ("admin", "愛子"),
}
# "Within a second or two": how long a change made through one node may take to reach another.
PROPAGATION_SECONDS = 3.0


def madoguchi(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run the command line against the shared database, as an operator would on any node."""
    answer = subprocess.run(
        [sys.executable, "-m", "service", *args],
        input=stdin.encode(),
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        timeout=120,
    )
    assert answer.returncode == 0, f"madoguchi {args[0]} failed:\n{answer.stderr.decode()}"
    return answer.stdout.decode()


@contextlib.contextmanager
def cluster(postgres: Postgres, redis_server: Redis, nodes: int = 2) -> Iterator[list[Server]]:
    """``nodes`` servers on one fresh database, one flushed Redis database and one key. The
    schema is migrated first, as an upgrade does; then each node starts on its own port."""
    url = postgres.new_database()
    shared = {
        "MADOGUCHI_DATABASE_URL": url,
        "MADOGUCHI_REDIS_URL": redis_server.new_url(),
        "MADOGUCHI_ENCRYPTION_KEY": new_key(),
    }
    # As the nodes will have it: the default desk that a new database gets is always open.
    madoguchi({**shared, "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7"}, "migrate")
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(shared, admin_url=postgres.admin_url(url)))
            for _ in range(nodes)
        ]
        yield servers


@pytest.fixture(scope="module")
def nodes(postgres: Postgres, redis_server: Redis) -> Iterator[list[Server]]:
    with cluster(postgres, redis_server) as servers:
        for username, (role, display_name) in STAFF.items():
            servers[0].add_user(username, PASSWORD, role=role, display_name=display_name)
        yield servers


@pytest.fixture(scope="module")
def sessions(nodes: list[Server]) -> dict[str, str]:
    """Each counselor logged in once, hana on node 1 and ren on node 2."""
    return {
        "hana": login_sync(nodes[0], "hana", PASSWORD),
        "ren": login_sync(nodes[1], "ren", PASSWORD),
    }


@pytest.fixture
async def on(nodes: list[Server]) -> AsyncIterator[list[Clients]]:
    """``on[0]`` connects clients to node 1, ``on[1]`` to node 2; all are closed afterwards."""
    pools = [Clients(node) for node in nodes]
    yield pools
    for pool in pools:
        await pool.close()


def in_queue(conversation_id: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """A queue predicate: the conversation is listed, with these fields if given."""

    def matches(queue: dict[str, Any]) -> bool:
        return any(
            item["id"] == conversation_id and all(item.get(k) == v for k, v in fields.items())
            for item in queue["conversations"]
        )

    return matches


async def started(guest: Client, *listeners: Client, **start: Any) -> dict[str, Any]:
    """The visitor starts a consultation; it is returned once every listener's queue has it."""
    answer = await guest.call("start", start)
    assert answer["ok"], answer
    conversation: dict[str, Any] = answer["conversation"]
    for counselor in listeners:
        await counselor.wait_for_queue(in_queue(conversation["id"], status="waiting"))
    return conversation


async def test_a_visitor_and_a_counselor_on_different_nodes_talk_both_ways(
    on: list[Clients], sessions: dict[str, str]
) -> None:
    hana = await on[1].counselor(sessions["hana"])
    await hana.wait_for("queue")
    guest = await on[0].visitor(partner="demo")

    # The queue update of a start on node 1 reaches a counselor on node 2.
    conversation = await started(guest, hana)
    claim = await hana.call("claim", {"conversation_id": conversation["id"]})
    assert claim["ok"], claim
    status = await guest.wait_for("status", lambda s: s["status"] == "active")
    assert status["counselor"] == "花子"
    await guest.wait_for("message", lambda m: m["body"] == "counselor_joined")

    asked = await guest.call("message", {"client_id": client_id(), "body": "聞いてもらえますか"})
    assert asked["ok"], asked
    heard = await hana.wait_for("message", lambda m: m["seq"] == asked["seq"])
    assert heard["conversation_id"] == conversation["id"]
    assert heard["body"] == "聞いてもらえますか"

    reply = {
        "conversation_id": conversation["id"],
        "client_id": client_id(),
        "body": "はい、どうぞ",
    }
    answered = await hana.call("message", reply)
    assert answered["ok"], answered
    got = await guest.wait_for("message", lambda m: m["seq"] == answered["seq"])
    assert (got["author"], got["body"]) == ("counselor", "はい、どうぞ")

    assert (await guest.call("typing", {}))["ok"]
    typing = await hana.wait_for("typing")
    assert typing["conversation_id"] == conversation["id"]
    assert (await hana.call("typing", {"conversation_id": conversation["id"]}))["ok"]
    await guest.wait_for("typing")

    # Both sides read the same history, whichever node they ask.
    mine = await guest.call("history", {"after_seq": 0})
    theirs = await hana.call("history", {"conversation_id": conversation["id"], "after_seq": 0})
    assert mine["messages"] and [m["seq"] for m in mine["messages"]] == [
        m["seq"] for m in theirs["messages"]
    ]


async def test_of_two_claims_on_different_nodes_exactly_one_wins(
    on: list[Clients], sessions: dict[str, str]
) -> None:
    hana = await on[0].counselor(sessions["hana"])
    ren = await on[1].counselor(sessions["ren"])
    for counselor in (hana, ren):
        await counselor.wait_for("queue")
    winners = []
    for round_ in range(6):
        guest = await on[round_ % 2].visitor(partner="demo")
        conversation = await started(guest, hana, ren)
        claim = {"conversation_id": conversation["id"]}
        answers = await asyncio.gather(hana.call("claim", claim), ren.call("claim", claim))
        won = [a for a in answers if a["ok"]]
        lost = [a for a in answers if not a["ok"]]
        assert len(won) == 1 and len(lost) == 1, answers
        assert lost[0]["error"]["code"] == "already_claimed", answers
        winner, loser = (hana, ren) if answers[0]["ok"] else (ren, hana)
        winners.append(winner is hana)
        # Each node tells its counselor who holds it; the visitor hears of one counselor only.
        name = "花子" if winner is hana else "蓮"
        await winner.wait_for_queue(in_queue(conversation["id"], status="active", mine=True))
        await loser.wait_for_queue(
            in_queue(conversation["id"], status="active", mine=False, counselor=name)
        )
        status = await guest.wait_for("status", lambda s: s["status"] == "active")
        assert status["counselor"] == name
        history = await guest.call("history", {"after_seq": 0})
        joined = [m for m in history["messages"] if m["body"] == "counselor_joined"]
        assert len(joined) == 1, history


async def test_a_visitor_resumes_on_another_node_after_its_node_is_killed(
    postgres: Postgres, redis_server: Redis
) -> None:
    with cluster(postgres, redis_server) as (one, two):
        one.add_user("hana", PASSWORD, display_name="花子")
        pools = [Clients(one), Clients(two)]
        try:
            await resume_after_a_crash(one, two, pools)
        finally:
            for pool in pools:
                await pool.close()


async def resume_after_a_crash(one: Server, two: Server, on: list[Clients]) -> None:
    hana = await on[1].counselor(login_sync(two, "hana", PASSWORD))
    await hana.wait_for("queue")
    guest = await on[0].visitor(partner="demo")
    conversation = await started(guest, hana)
    assert (await hana.call("claim", {"conversation_id": conversation["id"]}))["ok"]
    await guest.wait_for("status", lambda s: s["status"] == "active")

    sent = {client_id(): f"メッセージ {i}" for i in range(5)}
    acked = {}
    for cid, body in sent.items():
        ack = await guest.call("message", {"client_id": cid, "body": body})
        assert ack["ok"], ack
        acked[cid] = ack["seq"]
    # One more leaves without waiting for its ack: node 1 dies with it in flight, committed or
    # not, and the visitor cannot know which.
    in_flight = client_id()
    sent[in_flight] = "届きましたか"
    await guest.emit("message", {"client_id": in_flight, "body": sent[in_flight]})
    one.kill()
    await guest.wait_for("disconnect")

    # The widget reconnects (the proxy now sends it to node 2) with its token and resends
    # every message it has no ack for; to be sure, it resends the acked ones too.
    resumed = await on[1].visitor(partner="demo", token=conversation["token"])
    status = await resumed.wait_for("status")
    assert (status["status"], status["counselor"]) == ("active", "花子")
    for cid, body in sent.items():
        ack = await resumed.call("message", {"client_id": cid, "body": body})
        assert ack["ok"], ack
        if cid in acked:
            assert ack["seq"] == acked[cid], "a retry answers the first seq"
        else:
            acked[cid] = ack["seq"]
    last = client_id()
    later = await resumed.call("message", {"client_id": last, "body": "まだいますか"})
    assert later["ok"], later
    assert (await hana.wait_for("message", lambda m: m["seq"] == later["seq"]))["body"] == (
        "まだいますか"
    )
    await hana.wait_for("message", lambda m: m["seq"] == acked[in_flight])

    history = await resumed.call("history", {"after_seq": 0})
    assert history["more"] is False
    seqs = [m["seq"] for m in history["messages"]]
    assert seqs == list(range(1, len(seqs) + 1)), "seq stays gapless across the crash"
    mine = [m["client_id"] for m in history["messages"] if m["author"] == "visitor"]
    assert sorted(mine) == sorted([*sent, last]), "each message exactly once"
    by_seq = {m["seq"]: m["body"] for m in history["messages"]}
    assert all(by_seq[acked[cid]] == body for cid, body in sent.items())
    stored = two.query(
        "SELECT client_id, COUNT(*) FROM message WHERE conversation_id = $1"
        " AND author = 'visitor' GROUP BY client_id",
        (conversation["id"],),
    )
    assert len(stored) == len(sent) + 1 and all(count == 1 for _, count in stored), stored


async def eventually(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check()`` held; fails past ``timeout``. Polls: what it waits for is
    another process's state, which sends no event."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while not check():
        if loop.time() - began > timeout:
            raise AssertionError(f"still not so after {timeout} s")
        await asyncio.sleep(0.05)  # polling another process, not waiting on behaviour
    return loop.time() - began


async def test_a_desk_added_through_one_node_is_served_by_the_other(
    nodes: list[Server], on: list[Clients]
) -> None:
    one, two = nodes
    with httpx.Client(base_url=one.url) as admin:
        admin.cookies.set("mg_session", login_sync(one, "aiko", PASSWORD))
        admin.get("/api/v1/admin/me")  # sets the CSRF cookie, as the admin page does
        admin.headers["X-CSRFToken"] = admin.cookies["mg_csrf"]
        made = admin.post(
            "/api/v1/admin/desks", json={"key": "night", "name": "夜間相談", "hours": "24/7"}
        )
        assert made.status_code == 201, made.text

    def listed_on_two() -> bool:
        desks = httpx.get(f"{two.url}/api/v1/desks").json()["desks"]
        return any(desk["key"] == "night" for desk in desks)

    await eventually(listed_on_two, PROPAGATION_SECONDS)
    guest = await on[1].visitor(partner="demo")
    answer = await guest.call("start", {"desk": "night"})
    assert answer["ok"], answer


CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def test_a_login_form_from_one_node_posted_to_the_other_logs_in(nodes: list[Server]) -> None:
    one, two = nodes
    with httpx.Client() as http:
        page = http.get(f"{one.url}/inbox/login")
        match = CSRF_FIELD.search(page.text)
        assert match, "the login page has a CSRF token"
        form = {"username": "ren", "password": PASSWORD, "_csrf_token": match.group(1)}
        answer = httpx.post(
            f"{two.url}/inbox/login",
            data=form,
            headers={"Cookie": f"mg_csrf={page.cookies['mg_csrf']}"},
            follow_redirects=False,
        )
    assert answer.status_code == 303, answer.text
    session = answer.cookies["mg_session"]
    for node in nodes:
        inbox = httpx.get(f"{node.url}/inbox", cookies={"mg_session": session})
        assert inbox.status_code == 200, (node.url, inbox.status_code)
    # A token of one node's form is no token on the other without its cookie.
    refused = httpx.post(f"{two.url}/inbox/login", data=form, follow_redirects=False)
    assert refused.status_code != 303


async def test_a_session_made_on_one_node_opens_the_inbox_socket_on_both(
    on: list[Clients], sessions: dict[str, str]
) -> None:
    for pool in on:
        ren = await pool.counselor(sessions["ren"])
        await ren.wait_for("queue")
