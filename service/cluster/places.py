"""The places in line last told to waiting visitors, per desk (``actions/positions.py``).

A telling sends a visitor a place only when it differs from the one last told. One process
remembers those in memory. With several processes, any of them may tell a desk's visitors, so
what was told is kept in Redis (a hash per desk), and the tellings of one desk take turns
through a short lock: each reads the queue, compares, sends and records within its turn, so the
record is always what the visitors last heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from redis.asyncio import Redis

from service.cluster.redis_client import Script, key

TURN_MS = 5_000
TURN_POLL_SECONDS = 0.05
KEEP_MS = 86_400_000

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ToldPlaces(Protocol):
    def turn(self, desk_id: int) -> AbstractAsyncContextManager[None]:
        """Held while a desk's telling reads, compares, sends and records."""
        ...

    async def swap(self, desk_id: int, places: dict[str, int]) -> dict[str, int]:
        """Records ``places`` as told and returns what was told before (those no longer
        waiting are forgotten)."""
        ...


class MemoryPlaces:
    def __init__(self) -> None:
        self.told: dict[int, dict[str, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, desk_id: int) -> AsyncIterator[None]:
        yield

    async def swap(self, desk_id: int, places: dict[str, int]) -> dict[str, int]:
        before = self.told.get(desk_id, {})
        self.told[desk_id] = places
        return before


class RedisPlaces:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.release = Script(redis, RELEASE)

    @contextlib.asynccontextmanager
    async def turn(self, desk_id: int) -> AsyncIterator[None]:
        lock, token = key("places", desk_id, "turn"), secrets.token_hex(8)
        # A holder that died lets go when its lock expires: never wait much longer.
        for _ in range(int(TURN_MS / 1000 / TURN_POLL_SECONDS) + 20):
            if await self.redis.set(lock, token, nx=True, px=TURN_MS):
                break
            await asyncio.sleep(TURN_POLL_SECONDS)
        else:
            raise TimeoutError("another process kept its turn to tell places")
        try:
            yield
        finally:
            await asyncio.shield(self.release([lock], [token]))

    async def swap(self, desk_id: int, places: dict[str, int]) -> dict[str, int]:
        name = key("places", desk_id)
        saved: dict[Any, Any] = await self.redis.hgetall(name)
        async with self.redis.pipeline(transaction=True) as pipeline:
            pipe: Any = pipeline
            pipe.delete(name)
            if places:
                pipe.hset(name, mapping=places)
                pipe.pexpire(name, KEEP_MS)
            await pipe.execute()
        return {k.decode(): int(v) for k, v in saved.items()}
