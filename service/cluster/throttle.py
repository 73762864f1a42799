"""The login throttle shared by every process through Redis.

Each account and each address (as keyed hashes, never in clear) has a sorted set of its
attempts' times within the window. Counting an attempt is one optimistic transaction: watch
both sets, read them, decide with the same rule as one process (``domain/login_throttle``), and
record the attempt only if neither set changed meanwhile (else read again). So concurrent
guesses on several processes cannot all pass before the first are counted.
"""

from __future__ import annotations

import secrets
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from service.cluster.hashing import KeyedHash
from service.cluster.redis_client import key
from service.domain.login_throttle import Attempt, AttemptLog, account_key, wait_after


class RedisThrottle:
    def __init__(
        self, redis: Redis, hashed: KeyedHash, per_account: AttemptLog, per_address: AttemptLog
    ) -> None:
        self.redis = redis
        self.hashed = hashed
        self.logs = (per_account, per_address)

    def keys(self, username: str, address: str) -> tuple[str, str]:
        return (
            key("login", "account", self.hashed(account_key(username))),
            key("login", "address", self.hashed(address)),
        )

    async def begin(self, username: str, address: str) -> Attempt | float:
        keys = self.keys(username, address)
        async with self.redis.pipeline(transaction=True) as pipeline:
            # Typed loosely: the client annotates its synchronous and asynchronous forms at once.
            pipe: Any = pipeline
            while True:
                try:
                    await pipe.watch(*keys)
                    seconds, micros = await pipe.time()
                    now = seconds + micros / 1_000_000
                    wait = 0.0
                    for name, log in zip(keys, self.logs, strict=True):
                        since = now - log.window_seconds
                        found = await pipe.zrangebyscore(name, f"({since}", "+inf", withscores=True)
                        times = [float(score) for _, score in found]
                        wait = max(wait, wait_after(times, log.limit, log.window_seconds, now))
                    if wait > 0:
                        await pipe.reset()
                        return wait
                    mark = f"{now!r}:{secrets.token_hex(4)}"
                    pipe.multi()
                    for name, log in zip(keys, self.logs, strict=True):
                        pipe.zremrangebyscore(name, "-inf", now - log.window_seconds)
                        pipe.zadd(name, {mark: now})
                        pipe.pexpire(name, int(log.window_seconds * 1000) + 1000)
                    await pipe.execute()
                    return Attempt(keys[0], keys[1], now, mark)
                except WatchError:
                    continue

    async def succeeded(self, attempt: Attempt) -> None:
        # The account's attempts are forgotten; the address keeps its tally but this one.
        await self.redis.delete(attempt.account)
        await self.redis.zrem(attempt.address, attempt.mark)

    async def unlock(self, username: str) -> None:
        await self.redis.delete(self.keys(username, "")[0])
