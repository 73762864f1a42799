"""The process's Redis client, the names of our keys, and the server's clock."""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

PREFIX = "madoguchi:"
# A burst (hundreds of visitors connecting at once) needs more commands in flight than the pool
# has connections: they wait for one this long, where redis-py's default pool refuses at once.
POOL_CONNECTIONS = 100
POOL_WAIT_SECONDS = 5.0


def open_redis(url: str) -> Redis:
    """Connections open on first use: nothing here waits for the server."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=POOL_CONNECTIONS, timeout=POOL_WAIT_SECONDS
    )
    return Redis.from_pool(pool)


def key(*parts: object) -> str:
    return PREFIX + ":".join(str(part) for part in parts)


# Every script reads the time from Redis, never from the caller: the processes may run on
# machines whose clocks differ, and their monotonic clocks share no origin at all.
NOW_MS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""


class Script:
    """A Lua script run atomically on the server (``register_script``), typed loosely: the
    client's own annotations cover its synchronous and asynchronous forms at once."""

    def __init__(self, redis: Redis, body: str) -> None:
        self.script = redis.register_script(body)

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        return await self.script(keys=keys, args=args)
