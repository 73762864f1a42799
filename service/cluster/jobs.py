"""Background jobs (closing gone visitors' chats, erasing expired content) run by one process
of the service at a time.

One process runs them itself. With Redis, a job runs where its lock is held: a key set only if
absent, with a time to live that the holder renews every third of it while the job runs (a
script renews or deletes the key only if it still holds the holder's token). Every other process
tries to take the lock as often, so when the holder dies its lock expires and another process
runs the job within about ``ttl`` seconds. A holder that cannot renew (Redis away, or the lock
expired under it) stops its job before anyone else can start it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from redis.asyncio import Redis

from service.cluster.redis_client import Script, key

log = logging.getLogger(__name__)

TTL_SECONDS = 6.0

Job = Callable[[], Coroutine[Any, Any, None]]

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Jobs(Protocol):
    async def run(self, name: str, job: Job) -> None:
        """Runs ``job`` (a coroutine that runs until cancelled) once in the service, until
        cancelled."""
        ...


class LocalJobs:
    async def run(self, name: str, job: Job) -> None:
        await job()


class LockedJobs:
    def __init__(self, redis: Redis, node: str, ttl: float = TTL_SECONDS) -> None:
        self.redis = redis
        self.node = node
        self.ttl = ttl
        self.renew = Script(redis, RENEW)
        self.release = Script(redis, RELEASE)

    async def run(self, name: str, job: Job) -> None:
        lock = key("job", name)
        while True:
            token = f"{self.node}:{secrets.token_hex(8)}"
            try:
                taken = await self.redis.set(lock, token, nx=True, px=self.ttl_ms)
                if taken and await self.hold(lock, token, job):
                    return
            except Exception:  # Redis away: try again, as the other processes do
                log.warning("the lock of the %s job failed", name, exc_info=True)
            await asyncio.sleep(self.ttl / 3)

    @property
    def ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    async def hold(self, lock: str, token: str, job: Job) -> bool:
        """Runs the job while the lock is ours; True if the job finished by itself."""
        task = asyncio.create_task(job(), name=f"madoguchi-job-{lock}")
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.ttl / 3)
                if done:
                    task.result()
                    return True
                if not await self.renew([lock], [token, self.ttl_ms]):
                    log.warning("lost the lock of a background job; another process runs it")
                    return False
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Shielded: a cancelled holder still lets the next process start at once.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release([lock], [token]))
