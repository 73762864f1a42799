"""Several processes as one service through Redis: what they publish is plain JSON; the limits
per address and the login throttle count across processes; Redis holds addresses only as keyed
hashes; a visitor connected to one process is present for all; a background job moves to
another process when its holder dies; a login form fetched from one process posts to another.

Two real ``madoguchi serve`` processes share one Redis (each with its own SQLite file: what
these tests share needs no shared database). Presence is tested on its parts, two Socket.IO
servers' managers in this process, since a conversation must exist in a database both read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import socketio
from redis.asyncio import Redis

from service.cluster.broadcast import PublishedBroadcast
from service.cluster.hashing import KeyedHash
from service.cluster.jobs import LockedJobs
from service.cluster.limits import connections_key
from service.cluster.presence import RedisPresence
from service.cluster.redis_client import POOL_CONNECTIONS, open_redis
from service.crypto import Sealer, new_key, parse_keys
from service.realtime.manager import InlineManager
from service.realtime.rooms import VISITOR, conversation_room
from tests.backends import Redis as PrivateRedis
from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Clients,
    Server,
    client_id,
    login_sync,
    logout_sync,
    refusal,
    running_server,
    visitor,
)

DEADLINE = 10.0
ADDRESS = "127.0.0.1"  # every test client's
CONNECTIONS_PER_ADDRESS = 2
FAILURES_PER_ACCOUNT = 2


async def until(check: Any, timeout: float = DEADLINE) -> None:
    """Waits for ``check()`` (maybe a coroutine) to hold, within a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def redis_url(redis_server: Any) -> str:
    url: str = redis_server.new_url()
    return url


@pytest.fixture(scope="module")
def key() -> str:
    return new_key()


def node_env(redis_url: str, key: str) -> dict[str, str]:
    return {
        "MADOGUCHI_REDIS_URL": redis_url,
        "MADOGUCHI_ENCRYPTION_KEY": key,
        "MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS": str(CONNECTIONS_PER_ADDRESS),
        "MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT": str(FAILURES_PER_ACCOUNT),
    }


@pytest.fixture(scope="module")
def nodes(redis_url: str, key: str) -> Iterator[tuple[Server, Server]]:
    env = node_env(redis_url, key)
    with running_server(env) as first, running_server(env) as second:
        for node in (first, second):
            node.add_user("kana", PASSWORD)
        yield first, second


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page has a CSRF token"
    return match.group(1)


async def log_in(http: httpx.AsyncClient, node: Server, token: str, password: str) -> int:
    form = {"username": "kana", "password": password, "_csrf_token": token}
    return (await http.post(f"{node.url}/inbox/login", data=form)).status_code


async def test_what_is_published_is_plain_json(
    nodes: tuple[Server, Server], raw_redis: Redis
) -> None:
    first, _ = nodes
    pubsub: Any = raw_redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("madoguchi:socketio")
    chat = await visitor(first)
    try:
        assert (await chat.call("start", {}))["ok"]
        sent = await chat.call("message", {"client_id": client_id(), "body": "hello"})
        assert sent["ok"], sent
        published: list[bytes] = []

        async def heard_the_message() -> bool:
            message = await pubsub.get_message(timeout=0.2)
            if message is not None:
                published.append(message["data"])
            return any(b'"message"' in data for data in published)

        await until(heard_the_message)
        for data in published:
            assert not data.startswith(b"\x80"), "a pickle"
            assert isinstance(json.loads(data), dict)
        emit = next(json.loads(d) for d in published if b'"message"' in d)
        assert emit["method"] == "emit" and emit["event"] == "message"
        assert emit["room"].startswith(conversation_room(""))
    finally:
        await chat.disconnect()
        await pubsub.aclose()


async def nothing_counted(raw: Redis) -> bool:
    """No connection is counted for any address. A client's disconnect returns before the
    server's handler has released its count, so an earlier test's may still be counted."""
    async for name in raw.scan_iter(match=connections_key("*")):
        if await raw.zcard(name):
            return False
    return True


async def test_the_connections_of_one_address_count_across_processes(
    nodes: tuple[Server, Server], raw_redis: Redis
) -> None:
    first, second = nodes
    await until(lambda: nothing_counted(raw_redis))
    one, two = await visitor(first), await visitor(second)
    try:
        for node in (first, second):
            assert (await refusal(node, "/visitor"))["code"] == "rate_limited"
        await one.disconnect()
        # A connection closed on one process makes room on the other as soon as that process
        # has seen it close (the client's disconnect returns before the server's handler ran).
        admitted: list[Any] = []

        async def admitted_on_second() -> bool:
            try:
                admitted.append(await visitor(second))
            except socketio.exceptions.ConnectionError:
                return False
            return True

        await until(admitted_on_second)
        await admitted[0].disconnect()
    finally:
        await two.disconnect()


async def test_failed_logins_count_across_processes(nodes: tuple[Server, Server]) -> None:
    first, second = nodes
    async with httpx.AsyncClient(timeout=DEADLINE) as http:
        token = csrf_token((await http.get(f"{first.url}/inbox/login")).text)
        answers = [await log_in(http, first, token, "wrong") for _ in range(FAILURES_PER_ACCOUNT)]
        assert answers == [401] * FAILURES_PER_ACCOUNT
        # The next try waits, on either process, even with the right password.
        assert await log_in(http, second, token, PASSWORD) == 429
        assert await log_in(http, first, token, PASSWORD) == 429


async def test_a_login_form_from_one_process_posts_to_another(
    nodes: tuple[Server, Server], redis_url: str
) -> None:
    first, second = nodes
    async with httpx.AsyncClient(timeout=DEADLINE) as http:
        token = csrf_token((await http.get(f"{first.url}/inbox/login")).text)
        form = {"username": "nobody", "password": "wrong", "_csrf_token": token}
        # Refused as a failed login, not as a forged form.
        assert (await http.post(f"{second.url}/inbox/login", data=form)).status_code == 401
    # A process with other keys derives another secret: the same form is refused there.
    with running_server(node_env(redis_url, new_key())) as stranger:
        async with httpx.AsyncClient(timeout=DEADLINE) as http:
            token = csrf_token((await http.get(f"{first.url}/inbox/login")).text)
            form = {"username": "nobody", "password": "wrong", "_csrf_token": token}
            assert (await http.post(f"{stranger.url}/inbox/login", data=form)).status_code == 403


def everything_in(client: Any) -> list[bytes]:
    """Every key of the database and everything stored under it."""
    found: list[bytes] = []
    for name in client.scan_iter():
        found.append(name)
        kind = client.type(name)
        if kind == b"string":
            found.append(client.get(name) or b"")
        elif kind == b"hash":
            for field, value in client.hgetall(name).items():
                found += [field, value]
        elif kind == b"zset":
            found += [member for member, _ in client.zrange(name, 0, -1, withscores=True)]
        elif kind == b"set":
            found += list(client.smembers(name))
        elif kind == b"list":
            found += client.lrange(name, 0, -1)
    return found


async def test_redis_holds_addresses_only_as_keyed_hashes(
    nodes: tuple[Server, Server], redis_url: str, key: str, raw_redis: Redis
) -> None:
    first, second = nodes
    await until(lambda: nothing_counted(raw_redis))
    chat = await visitor(first)
    try:
        assert (await chat.call("start", {}))["ok"]
        async with httpx.AsyncClient(timeout=DEADLINE) as http:
            token = csrf_token((await http.get(f"{second.url}/inbox/login")).text)
            form = {"username": "someone", "password": "wrong", "_csrf_token": token}
            assert (await http.post(f"{second.url}/inbox/login", data=form)).status_code == 401
        client = redis.Redis.from_url(redis_url)
        try:
            stored = b"\n".join(everything_in(client))
        finally:
            client.close()
    finally:
        await chat.disconnect()
    hashed = KeyedHash.of(Sealer(parse_keys(key)))(ADDRESS).encode()
    assert hashed in stored, "the address is counted, as its keyed hash"
    assert ADDRESS.encode() not in stored


async def joined_server(conversation_id: str) -> tuple[socketio.AsyncServer, str]:
    """A Socket.IO server whose manager holds one visitor socket in the conversation's room."""
    manager = InlineManager()
    sio = socketio.AsyncServer(client_manager=manager, async_mode="asgi")
    sid = await manager.connect("engine-1", VISITOR)
    await manager.enter_room(sid, VISITOR, conversation_room(conversation_id))
    return sio, sid


@dataclass
class TwoProcesses:
    """The presence of two processes on one Redis: the holder has one visitor socket in the
    room of conversation ``c1`` and refreshes its marks every 0.2 s; the asker has none."""

    holder_sio: socketio.AsyncServer
    sid: str
    holder: RedisPresence
    asker: RedisPresence
    refreshing: asyncio.Task[None]


@contextlib.asynccontextmanager
async def two_processes(redis_url: str) -> AsyncIterator[TwoProcesses]:
    holder_sio, sid = await joined_server("c1")
    asker_sio = socketio.AsyncServer(client_manager=InlineManager(), async_mode="asgi")
    holder_redis, asker_redis = Redis.from_url(redis_url), Redis.from_url(redis_url)
    holder = RedisPresence(holder_sio, holder_redis, "holder", ttl_ms=1000, refresh_seconds=0.2)
    asker = RedisPresence(asker_sio, asker_redis, "asker", ttl_ms=1000)
    refreshing = asyncio.create_task(holder.run())
    try:
        yield TwoProcesses(holder_sio, sid, holder, asker, refreshing)
    finally:
        await stopped(refreshing)
        await holder_redis.aclose()
        await asker_redis.aclose()


async def test_a_visitor_on_another_process_is_present_until_that_process_dies(
    redis_url: str,
) -> None:
    async with two_processes(redis_url) as nodes:
        holder, asker = nodes.holder, nodes.asker
        await holder.joined("c1")
        assert await asker.present(["c1", "c2"]) == {"c1"}
        # Kept while the holder lives: present for longer than a mark lasts.
        began = time.monotonic()
        while time.monotonic() - began < 2.5:
            assert await asker.present(["c1"]) == {"c1"}
            await asyncio.sleep(0.1)
        # The visitor leaves: absent at once.
        room = conversation_room("c1")
        await nodes.holder_sio.leave_room(nodes.sid, room, namespace=VISITOR)
        await holder.left("c1")
        assert await asker.present(["c1"]) == set()
        await nodes.holder_sio.enter_room(nodes.sid, room, namespace=VISITOR)
        await holder.joined("c1")
        assert await asker.present(["c1"]) == {"c1"}
        # The holder dies (stops refreshing, never takes its mark back): absent soon.
        nodes.refreshing.cancel()
        await until(lambda: present_none(asker, ["c1"]), timeout=3.0)


async def test_a_visitor_gone_without_a_leave_stops_being_marked_present(redis_url: str) -> None:
    async with two_processes(redis_url) as nodes:
        await nodes.holder.joined("c1")
        assert await nodes.asker.present(["c1"]) == {"c1"}
        # The socket leaves the room without a word to ``left``; the holder lives on
        # and keeps refreshing, but no longer what it marked for that room.
        await nodes.holder_sio.leave_room(nodes.sid, conversation_room("c1"), namespace=VISITOR)
        await until(lambda: present_none(nodes.asker, ["c1"]), timeout=3.0)
        assert nodes.holder.marked == set()


async def stopped(*tasks: asyncio.Task[Any]) -> None:
    """Cancels the tasks and waits until they have ended, so that whatever connection they hold
    is given back before its client closes, not left for the garbage collector of a later
    test."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def present_none(presence: RedisPresence, ids: list[str]) -> bool:
    return not await presence.present(ids)


HOLDER = """
import asyncio, sys
from redis.asyncio import Redis
from service.cluster.jobs import LockedJobs

async def main() -> None:
    client = Redis.from_url(sys.argv[1])

    async def job() -> None:
        while True:
            await client.set("ran-by", "holder")
            await asyncio.sleep(0.05)

    await LockedJobs(client, "holder", ttl=1.0).run("test", job)

asyncio.run(main())
"""


async def test_a_job_moves_to_another_process_when_its_holder_dies(
    redis_url: str, raw_redis: Redis
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_url], cwd=PROJECT_DIR, env=dict(os.environ)
    )
    runs: list[str] = []

    async def job() -> None:
        while True:
            runs.append("here")
            await raw_redis.set("ran-by", "here")
            await asyncio.sleep(0.05)

    taker: asyncio.Task[None] | None = None
    try:
        await until(lambda: raw_redis.get("ran-by"), timeout=20.0)
        assert await raw_redis.get("ran-by") == b"holder"
        # Another process asks for the same job from now on.
        taker = asyncio.create_task(LockedJobs(raw_redis, "here", ttl=1.0).run("test", job))
        # While the holder renews, it alone runs the job, well past the lock's time to live.
        began = time.monotonic()
        while time.monotonic() - began < 2.5:
            assert not runs
            await asyncio.sleep(0.1)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        await until(lambda: bool(runs), timeout=5.0)
        assert await raw_redis.get("ran-by") == b"here"
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if taker is not None:
            await stopped(taker)


async def test_an_order_is_carried_out_once_by_every_process(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    heard: dict[str, list[dict[str, Any]]] = {"one": [], "two": []}
    broadcasts = [PublishedBroadcast(c, name) for c, name in zip(clients, heard, strict=True)]
    for broadcast, name in zip(broadcasts, heard, strict=True):

        async def carry(order: dict[str, Any], name: str = name) -> None:
            heard[name].append(order)

        broadcast.carriers["drop"] = carry
    probes: list[dict[str, Any]] = []

    async def probe_heard(order: dict[str, Any]) -> None:
        probes.append(order)

    broadcasts[1].carriers["probe"] = probe_heard
    listening = [asyncio.create_task(b.run()) for b in broadcasts]

    async def subscribed() -> bool:
        await broadcasts[0].publish("probe", {})
        return bool(probes)

    try:
        await until(subscribed)
        await broadcasts[0].send("drop", {"user_id": 7, "only": "login-hash"})
        await until(lambda: heard["two"] == [{"user_id": 7, "only": "login-hash"}])
        assert heard["one"] == [{"user_id": 7, "only": "login-hash"}]
    finally:
        await stopped(*listening)
        for client in clients:
            await client.aclose()


@contextlib.contextmanager
def one_service(postgres: Any, redis_url: str, **env: str) -> Iterator[tuple[dict[str, str], str]]:
    """The environment of the nodes of one service on a fresh, migrated PostgreSQL database,
    and the URL to inspect it with; the nodes are started by the test, in its own order."""
    url = postgres.new_database()
    shared = {
        "MADOGUCHI_DATABASE_URL": url,
        "MADOGUCHI_REDIS_URL": redis_url,
        "MADOGUCHI_ENCRYPTION_KEY": new_key(),
        "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7",
        **env,
    }
    subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=PROJECT_DIR,
        env={**os.environ, **shared},
        check=True,
        capture_output=True,
    )
    yield shared, postgres.admin_url(url)


async def test_a_logout_on_one_process_drops_the_inbox_sockets_on_the_other(
    postgres: Any, redis_server: Any
) -> None:
    with (
        one_service(postgres, redis_server.new_url()) as (env, admin_url),
        running_server(env, admin_url=admin_url) as first,
        running_server(env, admin_url=admin_url) as second,
    ):
        first.add_user("kana", PASSWORD)
        leaving, staying = login_sync(first, "kana", PASSWORD), login_sync(first, "kana", PASSWORD)
        pools = [Clients(first), Clients(second)]
        try:
            doomed = [await pool.counselor(leaving) for pool in pools]
            kept = await pools[1].counselor(staying)
            for socket in (*doomed, kept):
                await socket.wait_for("queue")
            logout_sync(first, leaving)
            for socket in doomed:
                await socket.wait_for("disconnect")
            # The other login's socket on the other process stays: it still answers.
            assert (await kept.call("history", {"conversation_id": "none"}))["ok"] is False
            assert not kept.received("disconnect")
        finally:
            for pool in pools:
                await pool.close()


async def test_autoclose_never_closes_a_chat_whose_visitor_is_on_another_process(
    postgres: Any, redis_server: Any
) -> None:
    redis_url = redis_server.new_url()
    gone_after = {"MADOGUCHI_VISITOR_GONE_MINUTES": "0.05"}  # 3 s
    with (
        one_service(postgres, redis_url, **gone_after) as (env, admin_url),
        running_server(env, admin_url=admin_url) as first,
    ):
        client = Redis.from_url(redis_url)
        try:
            # The first process runs the job (it started alone); visitors use the second.
            await until(lambda: client.exists("madoguchi:job:autoclose"))
            holder = await client.get("madoguchi:job:autoclose")
            with running_server(env, admin_url=admin_url) as second:
                pool = Clients(second)
                try:
                    staying = await pool.visitor()
                    stay_id = (await staying.call("start", {}))["conversation"]["id"]
                    going = await pool.visitor()
                    gone_id = (await going.call("start", {}))["conversation"]["id"]
                    await going.disconnect()

                    def status(conversation_id: str) -> str:
                        query = "SELECT status FROM conversation WHERE id = $1"
                        return str(first.query(query, (conversation_id,))[0][0])

                    await until(lambda: status(gone_id) == "closed", timeout=20.0)
                    # Its visitor gone for as long, the chat of a visitor still connected to
                    # the second process is open, and the job never moved.
                    assert status(stay_id) == "waiting"
                    assert await client.get("madoguchi:job:autoclose") == holder
                finally:
                    await pool.close()
        finally:
            await client.aclose()


def test_a_process_that_loses_redis_reports_itself_unhealthy(tmp_path: Any, key: str) -> None:
    """A load balancer must stop sending visitors to a node whose events reach no other node."""
    own = PrivateRedis(tmp_path)
    own.start()
    try:
        with running_server(
            {"MADOGUCHI_REDIS_URL": own.new_url(), "MADOGUCHI_ENCRYPTION_KEY": key}
        ) as srv:
            assert httpx.get(f"{srv.url}/healthz").status_code == 200
            own.stop()
            answer = httpx.get(f"{srv.url}/healthz", timeout=DEADLINE)
            assert answer.status_code == 503
            assert "Redis" in answer.json()["reason"]
    finally:
        own.stop()


STOP_SECONDS = 5.0
"""A stopped node gives its place back within this: an orchestrator kills it after ~10 s."""


async def test_a_node_stopped_with_sigterm_ends_promptly_and_quietly(
    redis_url: str, key: str
) -> None:
    """Stopped with a visitor in a chat on it: its lifespan ends, python-socketio's Redis
    listener included, within seconds and with nothing left complaining in its log."""
    env = {**node_env(redis_url, key), "PYTHONWARNINGS": "always::ResourceWarning"}
    with running_server(env) as node:
        pool = Clients(node)
        try:
            guest = await pool.visitor()
            assert (await guest.call("start", {}))["ok"]
            assert node.process is not None
            began = time.monotonic()
            node.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(node.process.wait, STOP_SECONDS)
            assert time.monotonic() - began < STOP_SECONDS
            await guest.wait_for("disconnect")
        finally:
            await pool.close()
        log = node.logs()
        for trouble in ("Traceback", "ResourceWarning", "Task was destroyed", "Unclosed"):
            assert trouble not in log, log


async def test_a_burst_of_commands_waits_for_a_connection_rather_than_failing(
    redis_url: str,
) -> None:
    """Hundreds of visitors connecting at once each send a command: more than the pool's
    connections, so some wait their turn, and none fails."""
    client = open_redis(redis_url)
    try:
        burst = POOL_CONNECTIONS * 3
        # A blocking pop that times out at once still holds its connection for a round trip.
        answers = await asyncio.gather(
            *(client.blpop([f"madoguchi:test:burst:{n}"], timeout=0.01) for n in range(burst))
        )
        assert answers == [None] * burst
    finally:
        await client.aclose()


async def test_a_visitor_who_leaves_a_process_with_redis_is_shown_gone_at_once(
    redis_url: str, key: str
) -> None:
    """With Redis, a disconnecting socket stays in its rooms until its handler returns; the
    counselors' queue must still show its visitor gone at once, not at the mark's expiry."""
    with running_server({"MADOGUCHI_REDIS_URL": redis_url, "MADOGUCHI_ENCRYPTION_KEY": key}) as srv:
        srv.add_user("kana", PASSWORD)
        pool = Clients(srv)
        try:
            staff = await pool.counselor(login_sync(srv, "kana", PASSWORD))
            guest = await pool.visitor()
            cid = (await guest.call("start", {}))["conversation"]["id"]

            def shown(present: bool) -> Any:
                return lambda queue: any(
                    c["id"] == cid and c["present"] is present for c in queue["conversations"]
                )

            await staff.wait_for_queue(shown(True))
            await guest.disconnect()
            await staff.wait_for_queue(shown(False), timeout=3.0)
        finally:
            await pool.close()
