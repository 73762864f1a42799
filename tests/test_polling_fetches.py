"""A long-polling session that keeps sending but never fetches its answers is ended, so answers
nobody reads cannot pile up on the server; a client that fetches, as every real one does, is
never touched. Raw HTTP over real sockets: a Socket.IO client always fetches."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import Clients, Server, client_id, running_server

QUIET = 1.0  # MADOGUCHI_POLLING_QUIET_SECONDS for this module's server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(env={"MADOGUCHI_POLLING_QUIET_SECONDS": str(QUIET)}) as srv:
        yield srv


def polling(server: Server, sid: str | None = None) -> str:
    url = f"{server.url}/socket.io/?EIO=4&transport=polling"
    return url if sid is None else f"{url}&sid={sid}"


def handshake(server: Server) -> str:
    opened = httpx.get(polling(server), timeout=10)
    assert opened.status_code == 200 and opened.text.startswith("0"), opened.text
    return str(json.loads(opened.text[1:])["sid"])


def test_a_session_that_never_fetches_is_ended_at_its_next_send(server: Server) -> None:
    sid = handshake(server)
    # Connecting the namespace queues an answer that this client never fetches.
    assert httpx.post(polling(server, sid), content=b"40/visitor,", timeout=10).status_code == 200
    deadline = time.monotonic() + 10 * QUIET
    while True:  # pongs, blindly, as a client that only sends would
        sent = httpx.post(polling(server, sid), content=b"3", timeout=10)
        if sent.status_code != 200:
            break
        assert time.monotonic() < deadline, "a session that never fetched was never ended"
        time.sleep(QUIET / 4)
    assert sent.status_code == 400
    # The session is gone: fetching now is refused as for any unknown session.
    assert httpx.get(polling(server, sid), timeout=10).status_code == 400


async def test_a_polling_client_that_fetches_is_never_ended(
    server: Server, clients: Clients
) -> None:
    visitor = await clients.visitor(transport="polling")
    assert (await visitor.call("start", {}))["ok"]
    until = time.monotonic() + 3 * QUIET
    while time.monotonic() < until:  # sends spread over more than the quiet time
        ack = await visitor.call("message", {"client_id": client_id(), "body": "まだいます"})
        assert ack["ok"], ack
        await asyncio.sleep(QUIET / 4)  # a person's pace, within the message rate limit
