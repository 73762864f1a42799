"""Is a conversation's visitor connected, here or on any other process?

One process asks its Socket.IO manager. With Redis, each process also marks, for every
conversation whose visitor is connected to it, an entry in a sorted set per conversation (member:
the process, score: when the mark expires). The process refreshes its marks every few seconds
and takes one back when the visitor leaves, so a live visitor on another process always counts,
and the visitors of a process that died stop counting after ``TTL_MS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from redis.asyncio import Redis

from service.cluster.redis_client import NOW_MS, Script, key
from service.realtime.rooms import VISITOR, conversation_room

log = logging.getLogger(__name__)

TTL_MS = 15_000
REFRESH_SECONDS = 4.0
BATCH = 500
ROOM_PREFIX = conversation_room("")

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


def local_rooms(sio: Any) -> dict[str, Any]:
    """The ``/visitor`` rooms of this process (python-socketio's ``manager.rooms``)."""
    rooms: dict[str, Any] = sio.manager.rooms.get(VISITOR, {})
    return rooms


def here(sio: Any, conversation_id: str, leaving: str | None = None) -> bool:
    participants = sio.manager.get_participants(VISITOR, conversation_room(conversation_id))
    return any(sid != leaving for sid, _ in participants)


class Presence(Protocol):
    async def present(self, conversation_ids: Sequence[str]) -> set[str]:
        """Those of ``conversation_ids`` whose visitor is connected somewhere."""
        ...

    async def joined(self, conversation_id: str) -> None:
        """A visitor socket of this process joined the conversation's room."""
        ...

    async def leaving(self, conversation_id: str, sid: str) -> None:
        """The socket ``sid`` of this process leaves the conversation's room."""
        ...

    async def run(self) -> None:
        """Keeps this process's marks fresh until cancelled (nothing to do in memory)."""
        ...


class LocalPresence:
    def __init__(self, sio: Any) -> None:
        self.sio = sio

    async def present(self, conversation_ids: Sequence[str]) -> set[str]:
        return {c for c in conversation_ids if here(self.sio, c)}

    async def joined(self, conversation_id: str) -> None:
        return None

    async def leaving(self, conversation_id: str, sid: str) -> None:
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

    async def present(self, conversation_ids: Sequence[str]) -> set[str]:
        found = await super().present(conversation_ids)
        others = [c for c in conversation_ids if c not in found]
        for start in range(0, len(others), BATCH):
            batch = others[start : start + BATCH]
            counts = await self.check([presence_key(c) for c in batch], [])
            found.update(c for c, count in zip(batch, counts, strict=True) if int(count) > 0)
        return found

    async def joined(self, conversation_id: str) -> None:
        await self.mark([presence_key(conversation_id)], [self.node, self.ttl_ms])

    async def leaving(self, conversation_id: str, sid: str) -> None:
        if not here(self.sio, conversation_id, leaving=sid):
            await self.redis.zrem(presence_key(conversation_id), self.node)

    async def refresh(self) -> None:
        conversations = list(conversations_here(self.sio))
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


def conversations_here(sio: Any) -> Iterable[str]:
    for room, participants in list(local_rooms(sio).items()):
        if isinstance(room, str) and room.startswith(ROOM_PREFIX) and participants:
            yield room.removeprefix(ROOM_PREFIX)


def presence_key(conversation_id: str) -> str:
    return key("presence", conversation_id)
