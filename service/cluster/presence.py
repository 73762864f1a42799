"""Is a conversation's visitor connected, here or on any other process?

One process asks its Socket.IO manager who is in the conversation's room. With Redis, each
process also marks, for every conversation whose visitor is connected to it, an entry in a sorted
set per conversation (member: the process, score: when the mark expires). The process refreshes
the marks it made every few seconds while their visitor is still here, and takes one back when
the visitor leaves, so a live visitor on another process always counts, and the visitors of a
process that died stop counting after ``TTL_MS``.

Staff are present the same way (:class:`StaffPresence`): which accounts have a ``/counselor``
socket connected, here or elsewhere. One process keeps its staff sockets in memory; with Redis,
each process also marks every account connected to it in one sorted set (member: the account
and the process, score: when the mark expires), refreshes those marks every few seconds and
takes one back when the account's last socket here goes, so a killed process's counselors stop
counting after ``TTL_MS``. Each refresh also reads who is online everywhere and tells its
listeners when that changed, which is how a counselor leaving another process, or a process
dying, reaches the waiting visitors (``actions/positions.py``).

Whether an account is away (離席中) is kept beside it: a set of account ids, in memory or in
one Redis set. It is the account's, not a socket's, and outlives its sockets until the account
sets itself available or logs in again. Each refresh reads it with who is online, so a change
made on another process reaches this one's listeners too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from redis.asyncio import Redis

from service.cluster.redis_client import NOW_MS, Script, key
from service.domain.staffing import answering
from service.realtime.rooms import COUNSELOR, VISITOR, conversation_room
from service.realtime.sockets import is_here

log = logging.getLogger(__name__)

TTL_MS = 15_000
REFRESH_SECONDS = 4.0
BATCH = 500

MARK = (
    NOW_MS
    + """
for _, name in ipairs(KEYS) do
  redis.call('ZADD', name, now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', name, ARGV[2])
end
return #KEYS
"""
)

PRESENT = (
    NOW_MS
    + """
local found = {}
for i, name in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', name, '-inf', now)
  found[i] = redis.call('ZCARD', name)
end
return found
"""
)


class Presence(Protocol):
    async def present(self, conversation_ids: Sequence[str]) -> set[str]:
        """Those of ``conversation_ids`` whose visitor is connected somewhere."""
        ...

    async def joined(self, conversation_id: str) -> None:
        """A visitor socket of this process joined the conversation's room."""
        ...

    async def left(self, conversation_id: str) -> None:
        """A visitor socket of this process has left the conversation's room."""
        ...

    async def run(self) -> None:
        """Keeps this process's marks fresh until cancelled (nothing to do in memory)."""
        ...


class LocalPresence:
    def __init__(self, sio: Any) -> None:
        self.sio = sio

    def here(self, conversation_id: str) -> bool:
        """A visitor socket of this process is in the conversation's room. A disconnecting
        visitor leaves it first thing (with Redis too: realtime/manager.py)."""
        room = conversation_room(conversation_id)
        return any(True for _ in self.sio.manager.get_participants(VISITOR, room))

    async def present(self, conversation_ids: Sequence[str]) -> set[str]:
        return {c for c in conversation_ids if self.here(c)}

    async def joined(self, conversation_id: str) -> None:
        return None

    async def left(self, conversation_id: str) -> None:
        return None

    async def run(self) -> None:
        return None


class RedisPresence(LocalPresence):
    def __init__(
        self,
        sio: Any,
        redis: Redis,
        node: str,
        ttl_ms: int = TTL_MS,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        super().__init__(sio)
        self.redis = redis
        self.node = node
        self.ttl_ms = ttl_ms
        self.refresh_seconds = refresh_seconds
        self.mark = Script(redis, MARK)
        self.check = Script(redis, PRESENT)
        self.marked: set[str] = set()
        """The conversations this process has marked, to refresh while their visitor is here."""

    async def present(self, conversation_ids: Sequence[str]) -> set[str]:
        found = await super().present(conversation_ids)
        others = [c for c in conversation_ids if c not in found]
        for start in range(0, len(others), BATCH):
            batch = others[start : start + BATCH]
            counts = await self.check([presence_key(c) for c in batch], [])
            found.update(c for c, count in zip(batch, counts, strict=True) if int(count) > 0)
        return found

    async def joined(self, conversation_id: str) -> None:
        self.marked.add(conversation_id)
        await self.mark([presence_key(conversation_id)], [self.node, self.ttl_ms])

    async def left(self, conversation_id: str) -> None:
        if not self.here(conversation_id):
            self.marked.discard(conversation_id)
            await self.redis.zrem(presence_key(conversation_id), self.node)

    async def refresh(self) -> None:
        # A mark whose visitor went without a leave (its room emptied some other way) is
        # dropped here and expires in Redis by itself.
        self.marked = {c for c in self.marked if self.here(c)}
        conversations = list(self.marked)
        for start in range(0, len(conversations), BATCH):
            keys = [presence_key(c) for c in conversations[start : start + BATCH]]
            await self.mark(keys, [self.node, self.ttl_ms])

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # Redis away for a moment: the next round marks again
                log.warning("refreshing visitors' presence failed", exc_info=True)
            await asyncio.sleep(self.refresh_seconds)


def presence_key(conversation_id: str) -> str:
    return key("presence", conversation_id)


STAFF_KEY = key("staff-online")
AWAY_KEY = key("staff-away")

MARK_STAFF = (
    NOW_MS
    + """
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
"""
)

STAFF_ONLINE = (
    NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
)

Listener = Callable[[frozenset[int], frozenset[int]], None]
"""Told who answered (online and not away) before and who does now, when who is online or
away changed."""


class StaffPresence(Protocol):
    listeners: list[Listener]

    async def online(self) -> frozenset[int]:
        """The accounts with a ``/counselor`` socket connected somewhere."""
        ...

    async def away(self) -> frozenset[int]:
        """The accounts that set themselves away, online or not."""
        ...

    async def answering(self) -> frozenset[int]:
        """The accounts online and not away: those a waiting visitor may count on."""
        ...

    async def set_away(self, user_id: int, away: bool) -> bool:
        """Sets the account away or available; whether that changed anything."""
        ...

    async def connected(self, sid: str, user_id: int) -> None:
        """The socket ``sid`` of this process is the account's, connected and checked."""
        ...

    async def leaving(self, sid: str) -> None:
        """The socket ``sid`` of this process goes."""
        ...

    async def run(self) -> None:
        """Keeps this process's marks fresh and tells listeners of changes made elsewhere,
        until cancelled (nothing to do in memory: every change is made here)."""
        ...


class LocalStaffPresence:
    def __init__(self, sio: Any) -> None:
        self.sio = sio
        self.sockets: dict[str, int] = {}
        """This process's checked staff sockets and their accounts."""
        self.away_ids: set[int] = set()
        self.listeners: list[Listener] = []

    def here(self) -> frozenset[int]:
        # A socket the manager no longer knows (gone while its connect handler ran, before
        # its disconnect handler could) is forgotten. One still in its disconnect handler is
        # known until then; ``leaving`` takes it out.
        manager = self.sio.manager
        for sid in [s for s in self.sockets if not is_here(manager, COUNSELOR, s)]:
            del self.sockets[sid]
        return frozenset(self.sockets.values())

    async def online(self) -> frozenset[int]:
        return self.here()

    async def away(self) -> frozenset[int]:
        return frozenset(self.away_ids)

    async def answering(self) -> frozenset[int]:
        return answering(await self.online(), await self.away())

    async def set_away(self, user_id: int, away: bool) -> bool:
        if (user_id in self.away_ids) == away:
            return False
        if away:
            self.away_ids.add(user_id)
        else:
            self.away_ids.discard(user_id)
        return True

    async def connected(self, sid: str, user_id: int) -> None:
        self.sockets[sid] = user_id

    async def leaving(self, sid: str) -> None:
        self.sockets.pop(sid, None)

    async def run(self) -> None:
        return None


class RedisStaffPresence(LocalStaffPresence):
    def __init__(
        self,
        sio: Any,
        redis: Redis,
        node: str,
        ttl_ms: int = TTL_MS,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        super().__init__(sio)
        self.redis = redis
        self.node = node
        self.ttl_ms = ttl_ms
        self.refresh_seconds = refresh_seconds
        self.mark = Script(redis, MARK_STAFF)
        self.read = Script(redis, STAFF_ONLINE)
        self.last: tuple[frozenset[int], frozenset[int]] | None = None
        """Who was online, and who away, at the last refresh."""

    def member(self, user_id: int) -> str:
        return f"{user_id}:{self.node}"

    async def online(self) -> frozenset[int]:
        members = await self.read([STAFF_KEY], [])
        found = {int(bytes(m).split(b":", 1)[0]) for m in members}
        return frozenset(found) | self.here()

    async def away(self) -> frozenset[int]:
        return frozenset(int(m) for m in await self.redis.smembers(AWAY_KEY))

    async def set_away(self, user_id: int, away: bool) -> bool:
        if away:
            return bool(await self.redis.sadd(AWAY_KEY, str(user_id)))
        return bool(await self.redis.srem(AWAY_KEY, str(user_id)))

    async def connected(self, sid: str, user_id: int) -> None:
        await super().connected(sid, user_id)
        await self.mark([STAFF_KEY], [self.ttl_ms, self.member(user_id)])

    async def leaving(self, sid: str) -> None:
        user_id = self.sockets.get(sid)
        await super().leaving(sid)
        if user_id is not None and user_id not in self.here():
            await self.redis.zrem(STAFF_KEY, self.member(user_id))

    async def refresh(self) -> None:
        here = self.here()
        if here:
            await self.mark([STAFF_KEY], [self.ttl_ms, *(self.member(u) for u in here)])
        now = (await self.online(), await self.away())
        if self.last is not None and now != self.last:
            for listener in self.listeners:
                listener(answering(*self.last), answering(*now))
        self.last = now

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # Redis away for a moment: the next round marks again
                log.warning("refreshing staff presence failed", exc_info=True)
            await asyncio.sleep(self.refresh_seconds)
