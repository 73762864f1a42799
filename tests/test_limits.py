"""Limits per client address on ``/visitor`` and the refusal of binary packets: over a limit the
caller gets ``rate_limited`` and everyone else is served as before.

Every test client connects from 127.0.0.1, so one address stands for a flood from one place.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from service.domain.ratelimit import AddressLimits
from tests.support import Clients, Server, assert_error, client_id, refusal, running_server

LIMITS = {
    "MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS": "3",
    # A bucket that refills once in about 17 minutes: no test here sees a refill.
    "MADOGUCHI_VISITOR_STARTS_PER_MINUTE": "0.06",
    "MADOGUCHI_VISITOR_START_BURST": "2",
}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(env=LIMITS) as srv:
        yield srv


@pytest.fixture
async def clients(server: Server) -> AsyncIterator[Clients]:
    connected = Clients(server)
    yield connected
    await connected.close()


def always_live(sid: str) -> bool:
    return True


def test_an_address_holds_a_limited_number_of_connections() -> None:
    limits = AddressLimits(max_connections=2, start_rate=1.0, start_burst=1)
    assert limits.connect("a", "192.0.2.1", always_live)
    assert limits.connect("b", "192.0.2.1", always_live)
    assert not limits.connect("c", "192.0.2.1", always_live)
    assert limits.connect("d", "198.51.100.7", always_live), "another address is not affected"
    limits.disconnect("a")
    assert limits.connect("c", "192.0.2.1", always_live)


def test_a_missed_release_heals_when_the_address_is_full() -> None:
    limits = AddressLimits(max_connections=1, start_rate=1.0, start_burst=1)
    assert limits.connect("gone", "192.0.2.1", always_live)
    assert limits.connect("new", "192.0.2.1", lambda sid: sid != "gone")
    assert limits.address_of == {"new": "192.0.2.1"}


def test_starts_are_counted_per_address_across_connections() -> None:
    limits = AddressLimits(max_connections=5, start_rate=1 / 60, start_burst=2)
    for sid in "abc":
        limits.connect(sid, "192.0.2.1", always_live)
    limits.connect("d", "198.51.100.7", always_live)
    assert [limits.start(sid, 0.0) for sid in "abc"] == [True, True, False]
    assert limits.start("d", 0.0)
    assert limits.start("c", 60.0), "the bucket refills with time"


async def test_one_connection_too_many_from_an_address_is_refused(
    server: Server, clients: Clients
) -> None:
    first = await clients.visitor(partner="demo")
    await clients.visitor(partner="demo")
    await clients.visitor(partner="demo")
    assert await refusal(server, "/visitor", auth={"partner": "demo"}) == {"code": "rate_limited"}
    await first.disconnect()
    again = await clients.visitor(partner="demo")
    assert (await again.call("history", {}))["ok"] is False, "connected, answering as usual"


async def test_refused_connections_do_not_use_up_the_address(
    server: Server, clients: Clients
) -> None:
    for _ in range(4):
        refused = await refusal(server, "/visitor", auth={"partner": "no-such-partner"})
        assert refused == {"code": "unknown_partner"}
    for _ in range(3):
        await clients.visitor(partner="demo")


async def test_new_chats_from_one_address_are_rate_limited(clients: Clients) -> None:
    first, second, third = [await clients.visitor(partner="demo") for _ in range(3)]
    started = await first.call("start", {})
    assert started["ok"], started
    assert (await second.call("start", {}))["ok"]
    assert_error(await third.call("start", {}), "rate_limited")
    retried = await first.call("start", {})
    assert retried["conversation"]["id"] == started["conversation"]["id"], "a retry is free"
    sent = await first.call("message", {"body": "まだ話せます", "client_id": client_id()})
    assert sent["ok"], "a limited address still talks in the chats it has"


async def test_a_binary_event_closes_the_connection_and_others_go_on(clients: Clients) -> None:
    sender, bystander = await clients.visitor(partner="demo"), await clients.visitor(partner="demo")
    await sender.emit("message", {"body": b"binary attachment", "client_id": client_id()})
    await sender.wait_for("disconnect")
    answer = await bystander.call("history", {})
    assert_error(answer, "no_conversation")


async def test_a_binary_header_is_refused_before_any_attachment_is_kept(server: Server) -> None:
    """A header announcing a billion attachments: the server keeps nothing and closes the
    connection at once, instead of keeping the header until the attachments arrive."""
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        opened = await ws.receive_str()
        assert opened.startswith("0")
        await ws.send_str("40/visitor," + json.dumps({"partner": "demo"}))
        assert (await ws.receive_str()).startswith("40/visitor,")
        header = ["message", {"_placeholder": True, "num": 0}]
        await ws.send_str("45999999999-/visitor,1" + json.dumps(header))
        closed = await ws.receive(timeout=10)
        assert closed.data == "1", "Engine.IO's close packet: the server has let go of the socket"


async def test_a_stray_binary_frame_is_dropped_and_the_connection_goes_on(server: Server) -> None:
    """Bytes that no header announced are no packet of ours: nothing is kept and nothing fails
    (no traceback in the log); the connection's next event is answered."""
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        assert (await ws.receive_str()).startswith("0")
        await ws.send_str("40/visitor," + json.dumps({"partner": "demo"}))
        assert (await ws.receive_str()).startswith("40/visitor,")
        await ws.send_bytes(b"\x04" * 1024)
        await ws.send_str('42/visitor,7["history",{}]')
        answer = await ws.receive_str(timeout=10)
        assert answer.startswith("43/visitor,7") and "no_conversation" in answer, answer
    assert "Traceback" not in server.logs()


async def test_a_binary_header_from_a_namespace_just_left_closes_no_one_else(
    server: Server, clients: Clients
) -> None:
    """The refusal closes the sender's connection only. Sent with the namespace's disconnect in
    one long-polling request, it is handled after the sender has left: nobody is closed."""
    bystander = await clients.visitor(partner="demo")
    url = f"http://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as opened:
            sid = json.loads((await opened.text())[1:])["sid"]
        polling = f"{url}&sid={sid}"
        async with http.post(polling, data="40/visitor," + json.dumps({"partner": "demo"})):
            pass
        async with http.get(polling) as connected:
            assert (await connected.text()).startswith("40/visitor,")
        header = json.dumps(["message", {"_placeholder": True, "num": 0}])
        async with http.post(polling, data=f"451-/visitor,{header}\x1e41/visitor,") as sent:
            assert sent.status == 200
    assert_error(await bystander.call("history", {}), "no_conversation")
    assert not bystander.received("disconnect")
