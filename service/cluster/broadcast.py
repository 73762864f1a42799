"""Orders that every process carries out for the sockets it holds: drop an account's
``/counselor`` sockets (a logout, a password change, a deactivation), move an account's sockets
into or out of a conversation's room (a claim, a transfer), tell the counselors of a desk that
a conversation changed (each with what their own rights show).

One process carries an order out at once. With Redis, the process that gives the order carries
it out for its own sockets, then publishes it as JSON; every other process carries it out when
it hears it. An order holds ids and room names only: never message text, never a session id
(a login is named by its hash).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from service.cluster.redis_client import key

log = logging.getLogger(__name__)

CHANNEL = key("orders")

Order = dict[str, Any]
Carry = Callable[[Order], Awaitable[None]]


class Broadcast(Protocol):
    carriers: dict[str, Carry]
    """How this process carries out each kind of order (set in the application's lifespan)."""

    async def send(self, kind: str, order: Order) -> None:
        """Carries the order out here, then on every other process."""
        ...

    async def publish(self, kind: str, order: Order) -> None:
        """Only the other processes carry it out (this one did its part already)."""
        ...

    async def run(self) -> None:
        """Carries out the orders of other processes until cancelled (nothing in memory)."""
        ...


class LocalBroadcast:
    def __init__(self) -> None:
        self.carriers: dict[str, Carry] = {}

    async def send(self, kind: str, order: Order) -> None:
        carry = self.carriers.get(kind)
        if carry is not None:
            await carry(order)

    async def publish(self, kind: str, order: Order) -> None:
        return None

    async def run(self) -> None:
        return None


class PublishedBroadcast(LocalBroadcast):
    def __init__(self, redis: Redis, node: str) -> None:
        super().__init__()
        self.redis = redis
        self.node = node

    async def send(self, kind: str, order: Order) -> None:
        await super().send(kind, order)
        await self.publish(kind, order)

    async def publish(self, kind: str, order: Order) -> None:
        await self.redis.publish(CHANNEL, json.dumps({"node": self.node, "kind": kind, **order}))

    async def run(self) -> None:
        while True:
            try:
                await self.listen()
            except Exception:  # Redis away: listen again
                log.warning("listening for other processes' orders failed", exc_info=True)
            await asyncio.sleep(1.0)

    async def listen(self) -> None:
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    await self.heard(message["data"])

    async def heard(self, data: bytes) -> None:
        try:
            order = json.loads(data)
            if order.pop("node", None) == self.node:
                return  # carried out before it was published
            await LocalBroadcast.send(self, order.pop("kind", ""), order)
        except Exception:
            log.exception("carrying out another process's order failed")
