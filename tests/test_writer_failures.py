"""A running server whose writer hangs, dies, or meets a database locked by another program:
callers get retry-safe errors in time, ``/healthz`` says 503 with the reason, the service
recovers by itself, and nothing acknowledged is lost or duplicated."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import (
    Client,
    Server,
    _csrf_token,
    login_sync,
    running_server,
    stopped,
    visitor,
)

pytestmark = pytest.mark.sqlite_only("SQLite's writer process and the file's locks")

DEADLINE = 2.0
ENV = {
    "MADOGUCHI_WRITE_DEADLINE": str(DEADLINE),
    "MADOGUCHI_HEALTH_DEADLINE": "0.5",
    "MADOGUCHI_VISITOR_MESSAGE_RATE": "1000",
    "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000",
}
# Generous: "answered, not hung", never a performance figure.
ANSWERED_WITHIN = 4 * DEADLINE


@pytest.fixture
def srv() -> Iterator[Server]:
    with running_server(env=ENV) as server:
        yield server


@pytest.fixture
async def guest(srv: Server) -> AsyncIterator[Client]:
    client = await visitor(srv, partner="demo")
    await client.call("start", {})
    yield client
    await client.disconnect()


def writer_pids(server: Server) -> list[int]:
    """The server's writer processes: its children running ``service.db.writer_child``."""
    assert server.process is not None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server.process.pid and b"service.db.writer_child" in cmdline:
            found.append(int(entry.name))
    return found


def the_writer(server: Server) -> int:
    pids = writer_pids(server)
    assert len(pids) == 1, pids
    return pids[0]


def alive(pid: int) -> bool:
    """Running or stopped; a zombie waiting for its new parent counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def health(server: Server) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=ANSWERED_WITHIN) as http:
        return await http.get("/healthz")


async def until_healthy(server: Server, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while (await health(server)).status_code != 200:
        assert time.monotonic() < deadline, "the service never recovered"


def visitor_rows(server: Server) -> list[tuple[int, str]]:
    return [
        (seq, cid)
        for seq, cid in server.query(
            "SELECT seq, client_id FROM message WHERE author = 'visitor' ORDER BY seq"
        )
    ]


def assert_retryable(ack: Any) -> None:
    assert not ack["ok"], ack
    assert ack["error"]["code"] == "internal_error", ack


async def test_a_hung_writer_answers_in_time_shows_503_and_is_replaced(
    srv: Server, guest: Client
) -> None:
    first = await guest.call("message", {"client_id": "m1", "body": "一"})
    assert first["ok"], first
    hung = the_writer(srv)
    with stopped(hung):
        started = time.monotonic()
        pending = asyncio.ensure_future(guest.call("message", {"client_id": "m2", "body": "二"}))
        unhealthy = await health(srv)
        assert unhealthy.status_code == 503
        assert unhealthy.json()["reason"]
        assert_retryable(await pending)
        assert time.monotonic() - started < ANSWERED_WITHIN
    await until_healthy(srv)
    assert not alive(hung), "the hung writer was ended"
    assert the_writer(srv) != hung

    again = await guest.call("message", {"client_id": "m2", "body": "二"})
    assert again["ok"], again
    assert again["seq"] == first["seq"] + 1
    assert visitor_rows(srv) == [(first["seq"], "m1"), (again["seq"], "m2")]


async def test_logins_and_staff_pages_do_not_hang_with_a_hung_writer(srv: Server) -> None:
    srv.add_user("hana", PASSWORD)
    session = login_sync(srv, "hana", PASSWORD)
    async with httpx.AsyncClient(base_url=srv.url, timeout=ANSWERED_WITHIN) as http:
        token = _csrf_token((await http.get("/inbox/login")).text)
        form = {"username": "hana", "password": PASSWORD, "_csrf_token": token}
        with stopped(the_writer(srv)):
            # Both write a session; each raises (a timeout) if it hangs.
            answered = await http.post("/inbox/login", data=form)
            page = await http.get("/inbox", headers={"Cookie": f"mg_session={session}"})
    assert answered.status_code != 303 or "mg_session" in answered.cookies
    # A missed touch of the session costs only a tick of its idle clock: the page is served.
    assert page.status_code == 200, page.status_code
    await until_healthy(srv)


async def test_a_writer_killed_mid_burst_loses_no_ack_and_retries_store_one_copy(
    srv: Server, guest: Client
) -> None:
    bodies = {f"m{i:03d}": f"メッセージ {i}" for i in range(300)}
    acks: dict[str, Any] = {}
    some_acked = asyncio.Event()

    def on_ack(cid: str, ack: Any) -> None:
        acks[cid] = ack
        if len(acks) >= 20:
            some_acked.set()

    for cid, body in bodies.items():
        await guest.sio.emit(
            "message",
            {"client_id": cid, "body": body},
            namespace="/visitor",
            callback=lambda ack, cid=cid: on_ack(cid, ack),
        )
    await asyncio.wait_for(some_acked.wait(), 10)
    os.kill(the_writer(srv), signal.SIGKILL)
    deadline = time.monotonic() + 20
    while len(acks) < len(bodies):  # every message is answered: committed, or retry-safe
        assert time.monotonic() < deadline, f"{len(bodies) - len(acks)} never answered"
        await asyncio.sleep(0.05)
    acked = {cid: ack["seq"] for cid, ack in acks.items() if ack["ok"]}
    for ack in acks.values():
        if not ack["ok"]:
            assert_retryable(ack)

    # The client resends everything it has no seq for, again while told to retry (the new
    # writer may still be starting on a busy machine).
    for cid, body in bodies.items():
        deadline = time.monotonic() + 20
        while not (ack := await guest.call("message", {"client_id": cid, "body": body}))["ok"]:
            assert_retryable(ack)
            assert time.monotonic() < deadline, "the restarted writer never took the resend"
        if cid in acked:
            assert ack["seq"] == acked[cid], f"acked {cid} keeps its seq"
    rows = visitor_rows(srv)
    assert sorted(cid for _, cid in rows) == sorted(bodies), "each stored exactly once"
    seqs = [row[0] for row in srv.query("SELECT seq FROM message ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_database_locked_by_another_program_fails_writes_quickly_then_recovers(
    srv: Server, guest: Client
) -> None:
    writer = the_writer(srv)
    other = sqlite3.connect(srv.db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # as a backup or maintenance tool might, for long
        locked_at = time.monotonic()
        sent = 0
        # Held for longer than two deadlines; every write meanwhile is refused in time.
        while time.monotonic() - locked_at < 2 * DEADLINE:
            started = time.monotonic()
            ack = await guest.call("message", {"client_id": f"m{sent}", "body": "…"})
            assert_retryable(ack)
            assert time.monotonic() - started < DEADLINE, "a lock error, not a timeout"
            sent += 1
        unhealthy = await health(srv)
        assert unhealthy.status_code == 503
        assert "locked" in unhealthy.json()["reason"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    await until_healthy(srv)
    for i in range(sent):
        assert (await guest.call("message", {"client_id": f"m{i}", "body": "…"}))["ok"]
    assert [cid for _, cid in visitor_rows(srv)] == [f"m{i}" for i in range(sent)]
    assert the_writer(srv) == writer, "recovered without a restart"


async def test_the_writer_dies_with_the_server_even_when_it_cannot_read(srv: Server) -> None:
    writer = the_writer(srv)
    os.kill(writer, signal.SIGSTOP)  # a stopped child never sees the end of its socket
    srv.kill()
    deadline = time.monotonic() + 10
    while alive(writer):
        assert time.monotonic() < deadline, "the writer outlived the server"
        await asyncio.sleep(0.05)
    srv.start()  # and a new server has the database to itself
    client = await visitor(srv, partner="demo")
    await client.call("start", {})
    assert (await client.call("message", {"client_id": "after", "body": "…"}))["ok"]
    await client.disconnect()
