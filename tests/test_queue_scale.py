"""With hundreds waiting, one more start costs O(1) sends: counselors get one small update, and
no waiting visitor hears of it (their places did not move). Places that do move reach the
visitors coalesced, once each. Real visitor sockets, hundreds of them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from service.actions.positions import INTERVAL_SECONDS
from tests.support import Client, Clients, queue_key

log = logging.getLogger(__name__)

WAITING = 300


def ids(queue: dict[str, Any]) -> list[str]:
    return [item["id"] for item in queue["conversations"]]


async def started(clients: Clients, count: int) -> list[tuple[Client, dict[str, Any]]]:
    async def one() -> tuple[Client, dict[str, Any]]:
        visitor = await clients.visitor()
        ack = await visitor.call("start", {})
        assert ack["ok"], ack
        return visitor, ack["conversation"]

    made: list[tuple[Client, dict[str, Any]]] = []
    for _ in range(0, count, 50):  # in batches: the machine is small and shared
        made += await asyncio.gather(*[one() for _ in range(min(50, count - len(made)))])
    return made


def told_place(visitor: Client, place: int) -> Any:
    return visitor.wait_for(
        "status", lambda s: s["status"] == "waiting" and s["queue_position"] == place
    )


async def test_one_more_start_sends_nothing_to_the_hundreds_waiting(
    clients: Clients, hana_session: str, ren_session: str
) -> None:
    hana = await clients.counselor(hana_session)
    await hana.wait_for_queue()
    before = len(hana.queue()["conversations"])
    waiting = await started(clients, WAITING)
    places = [conv["queue_position"] for _, conv in waiting]
    assert sorted(places) == list(range(before + 1, before + WAITING + 1))
    # Settled: the tellings of these starts are over (one per desk every 2 s at most). Their
    # places came with their starts' answers; a telling may have run before a socket joined.
    await asyncio.sleep(3 * INTERVAL_SECONDS)
    received_before = [len(v.events) for v, _ in waiting]
    updates_before = len(hana.received("queue_update"))

    began = time.monotonic()
    last, conv = (await started(clients, 1))[0]
    took = time.monotonic() - began
    await hana.wait_for("queue_update", lambda u: u["id"] == conv["id"])
    # The telling after this start reaches the new visitor last (queue order), after anything
    # it would send the others; a round trip on each socket then flushes what was sent to it.
    await told_place(last, conv["queue_position"])
    for visitor, _ in waiting:
        assert "ok" in await visitor.call("history", {})
    sent = sum(len(v.events) - n for (v, _), n in zip(waiting, received_before, strict=True))
    log.info("start #%d answered in %.3f s; sends to those waiting: %d", WAITING + 1, took, sent)
    assert sent == 0
    assert len(hana.received("queue_update")) == updates_before + 1

    # The counselor's queue, kept by updates alone, is the server's whole queue.
    ren = await clients.counselor(ren_session)
    fresh = await ren.wait_for_queue()
    kept = hana.queue()
    assert (
        ids(kept)
        == ids(fresh)
        == ids({"conversations": sorted(fresh["conversations"], key=queue_key)})
    )
    assert {c["id"] for c in kept["conversations"]} >= {
        c["id"] for _, c in [*waiting, (last, conv)]
    }

    # A claim at the head moves everyone up: each remaining visitor hears it, once.
    everyone = [*waiting, (last, conv)]
    head = ids(kept)[0]
    moved = [(v, c) for v, c in everyone if c["id"] != head]
    statuses_before = [len(v.received("status")) for v, _ in moved]
    assert (await hana.call("claim", {"conversation_id": head}))["ok"]
    began = time.monotonic()
    await asyncio.gather(*[told_place(v, c["queue_position"] - 1) for v, c in moved])
    log.info("%d visitors told their new place in %.3f s", len(moved), time.monotonic() - began)
    for visitor, _ in moved:
        assert "ok" in await visitor.call("history", {})
    told = [len(v.received("status")) - n for (v, _), n in zip(moved, statuses_before, strict=True)]
    assert told == [1] * len(moved)
