"""The limits per client address on ``/visitor``: open connections and new chats.

One process keeps them in memory (``domain/ratelimit.AddressLimits``). With Redis, every
process counts in the same places, keyed by the address's keyed hash (never the address):

- connections: a sorted set per address (member: process and socket, score: when it expires).
  Each process refreshes its own sockets' entries every few seconds and takes them back on
  disconnect, so the sockets of a process that died stop counting after ``TTL_MS``;
- new chats: a token bucket per address, the rule of ``domain/ratelimit.TokenBucket``.

Scripts make each check and its count one atomic step: two processes admitting the last free
connection at once cannot both succeed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from service.cluster.hashing import KeyedHash
from service.cluster.redis_client import NOW_MS, Script, key
from service.domain.ratelimit import AddressLimits

log = logging.getLogger(__name__)

TTL_MS = 15_000
REFRESH_SECONDS = 4.0

ADMIT = (
    NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# ARGV: the time to live, then for each key its number of members and the members.
REFRESH = (
    NOW_MS
    + """
local ttl = tonumber(ARGV[1])
local at = 2
for _, name in ipairs(KEYS) do
  local count = tonumber(ARGV[at])
  for i = 1, count do
    redis.call('ZADD', name, now + ttl, ARGV[at + i])
  end
  at = at + count + 1
  redis.call('PEXPIRE', name, ttl)
end
return #KEYS
"""
)

# The token bucket of domain/ratelimit.TokenBucket: ``rate`` tokens a second, ``burst`` at most.
TAKE = (
    NOW_MS
    + """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(saved[1]) or burst
local updated = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) / 1000 * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return taken
"""
)


class AddressLimiter(Protocol):
    async def admit(self, sid: str, address: str) -> bool:
        """Counts the connection if its address has room for one more."""
        ...

    async def release(self, sid: str) -> None: ...

    async def may_start(self, sid: str) -> bool:
        """Takes one new chat from the address's allowance, if it has one left."""
        ...

    async def run(self) -> None:
        """Keeps this process's counts fresh until cancelled (nothing to do in memory)."""
        ...


class MemoryAddressLimiter:
    def __init__(self, limits: AddressLimits, is_live: Callable[[str], bool]) -> None:
        self.limits = limits
        self.is_live = is_live

    async def admit(self, sid: str, address: str) -> bool:
        return self.limits.connect(sid, address, self.is_live)

    async def release(self, sid: str) -> None:
        self.limits.disconnect(sid)

    async def may_start(self, sid: str) -> bool:
        return self.limits.start(sid, time.monotonic())

    async def run(self) -> None:
        return None


class RedisAddressLimiter:
    def __init__(
        self,
        redis: Redis,
        node: str,
        hashed: KeyedHash,
        limits: AddressLimits,
        is_live: Callable[[str], bool],
    ) -> None:
        self.redis = redis
        self.node = node
        self.hashed = hashed
        self.limits = limits
        self.is_live = is_live
        self.address_of: dict[str, str] = {}
        """This process's counted sockets and their addresses' hashes."""
        self.admit_script = Script(redis, ADMIT)
        self.refresh_script = Script(redis, REFRESH)
        self.take_script = Script(redis, TAKE)

    def member(self, sid: str) -> str:
        return f"{self.node}:{sid}"

    async def admit(self, sid: str, address: str) -> bool:
        hashed = self.hashed(address)
        self.address_of[sid] = hashed
        args = [self.member(sid), self.limits.max_connections, TTL_MS]
        try:
            admitted = bool(await self.admit_script([connections_key(hashed)], args))
        except BaseException:
            self.address_of.pop(sid, None)
            raise
        if not admitted:
            self.address_of.pop(sid, None)
        return admitted

    async def release(self, sid: str) -> None:
        hashed = self.address_of.pop(sid, None)
        if hashed is not None:
            await self.redis.zrem(connections_key(hashed), self.member(sid))

    async def may_start(self, sid: str) -> bool:
        hashed = self.address_of.get(sid)
        if hashed is None:  # not counted: nothing to limit by
            return True
        args = [self.limits.start_rate, self.limits.start_burst]
        return bool(await self.take_script([starts_key(hashed)], args))

    async def refresh(self) -> None:
        by_address: dict[str, list[str]] = {}
        for sid, hashed in list(self.address_of.items()):
            if self.is_live(sid):
                by_address.setdefault(hashed, []).append(self.member(sid))
            else:  # a release that was missed (gone while its connect was handled)
                await self.release(sid)
        if not by_address:
            return
        args: list[object] = [TTL_MS]
        for members in by_address.values():
            args += [len(members), *members]
        await self.refresh_script([connections_key(h) for h in by_address], args)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception:  # Redis away for a moment: the next round counts again
                log.warning("refreshing connection counts failed", exc_info=True)


def connections_key(hashed: str) -> str:
    return key("connections", hashed)


def starts_key(hashed: str) -> str:
    return key("starts", hashed)
