"""A WebSocket that asks for history again and again and never reads is dropped before the server
holds much for it: a raw client (aiohttp, a small receive buffer) that stops reading, the server
process's resident memory measured before and after."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import Clients, Server, client_id, running_server

log = logging.getLogger(__name__)

BODY = "話" * 2000  # the largest body: 6,000 bytes of UTF-8
DROPPED = "dropped a WebSocket that read nothing"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # Enough large messages quickly to make every history page a full one.
    env = {"MADOGUCHI_VISITOR_MESSAGE_RATE": "1000", "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000"}
    with running_server(env) as srv:
        yield srv


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def small_receive_buffer(addr_info: tuple[object, ...]) -> socket.socket:
    """A client socket that holds little: the server's sends stall soon once it stops reading."""
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    sock = socket.socket(family, kind, proto)  # type: ignore[arg-type]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def conversation_with_long_history(clients: Clients) -> str:
    visitor = await clients.visitor()
    token = (await visitor.call("start", {}))["conversation"]["token"]
    acks = await asyncio.gather(
        *[visitor.call("message", {"client_id": client_id(), "body": BODY}) for _ in range(80)]
    )
    assert all(ack["ok"] for ack in acks), acks
    return str(token)


async def ask_and_never_read(server: Server, token: str) -> tuple[int, int]:
    """Asks for full history pages until the server drops the connection; how many it asked,
    and the most the server's resident memory reached meanwhile (KiB)."""
    assert server.process is not None
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    connector = aiohttp.TCPConnector(socket_factory=small_receive_buffer)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.ws_connect(url, autoping=False, max_msg_size=0) as ws,
    ):
        assert (await ws.receive_str()).startswith("0")  # Engine.IO open
        await ws.send_str("40/visitor," + json.dumps({"token": token}))
        while not (await ws.receive_str()).startswith("40/visitor,"):
            pass  # the status event may come first
        # From here on it reads nothing: it asks for history, answers pings blindly (a
        # determined client stays "alive"), and watches the server's log.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        asked = peak = 0
        while DROPPED not in server.logs():
            peak = max(peak, rss_kib(server.process.pid))
            assert loop.time() < deadline, "the connection was never dropped"
            asked += 1
            await ws.send_str(f'42/visitor,{asked}["history",{{"after_seq":0,"limit":500}}]')
            if asked % 50 == 0:
                await ws.send_str("3")  # a pong, whether or not a ping came
            await asyncio.sleep(0.1)  # pacing the attack, not waiting for a result
        return asked, peak


async def test_a_socket_that_never_reads_is_dropped_and_the_server_holds_little(
    server: Server, clients: Clients
) -> None:
    assert server.process is not None
    token = await conversation_with_long_history(clients)
    before = rss_kib(server.process.pid)
    asked, peak = await ask_and_never_read(server, token)
    held = rss_kib(server.process.pid) - before
    log.info(
        "dropped after %d history requests; server RSS %d KiB before, %d at most, %+d after",
        asked,
        before,
        peak,
        held,
    )
    assert peak - before < 64 * 1024, f"the server grew by {peak - before} KiB for one client"
    # The service serves on; a page is at most 256 KiB of text (and one more message).
    visitor = await clients.visitor(token=token)
    page = await visitor.call("history", {"after_seq": 0})
    assert page["ok"] and page["more"] is True
    assert 0 < sum(len(m["body"].encode()) for m in page["messages"]) <= 256 * 1024 + 6000
