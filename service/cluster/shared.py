"""Picks, once per process, how each shared part works: in this process's memory, or through
Redis when ``MADOGUCHI_REDIS_URL`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.cluster.broadcast import Broadcast, LocalBroadcast, PublishedBroadcast
from service.cluster.hashing import KeyedHash
from service.cluster.jobs import Jobs, LocalJobs, LockedJobs
from service.cluster.limits import AddressLimiter, MemoryAddressLimiter, RedisAddressLimiter
from service.cluster.places import MemoryPlaces, RedisPlaces, ToldPlaces
from service.cluster.presence import (
    LocalPresence,
    LocalStaffPresence,
    Presence,
    RedisPresence,
    RedisStaffPresence,
    StaffPresence,
)
from service.cluster.redis_client import open_redis
from service.cluster.throttle import RedisThrottle
from service.config import Settings
from service.crypto import Sealer
from service.domain.ratelimit import AddressLimits
from service.login_throttling import MemoryThrottle, Throttle, login_throttle
from service.realtime.rooms import VISITOR
from service.realtime.sockets import is_here


@dataclass
class Shared:
    presence: Presence
    addresses: AddressLimiter
    throttle: Throttle
    jobs: Jobs
    orders: Broadcast
    told: ToldPlaces
    staff: StaffPresence
    redis: Redis | None = None
    node: str = field(default_factory=lambda: secrets.token_hex(8))
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """Starts what keeps this process's part fresh: visitors', staff and connection marks,
        and listening for other processes' orders."""
        for name, work in (
            ("presence", self.presence.run()),
            ("staff", self.staff.run()),
            ("addresses", self.addresses.run()),
            ("orders", self.orders.run()),
        ):
            self.tasks.append(asyncio.create_task(work, name=f"madoguchi-shared-{name}"))

    async def check(self, timeout: float) -> str | None:
        """None if the shared state answers within ``timeout`` seconds (always, in memory);
        otherwise why not: without Redis, limits, presence and events cannot be shared."""
        if self.redis is None:
            return None
        try:
            async with asyncio.timeout(timeout):
                await self.redis.ping()
        except TimeoutError:
            return f"Redis did not answer within {timeout:g}s"
        except (OSError, RedisError) as exc:
            return f"Redis is unreachable: {type(exc).__name__}"
        return None

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        if self.redis is not None:
            await self.redis.aclose()


def address_limits(settings: Settings) -> AddressLimits:
    return AddressLimits(
        max_connections=settings.visitor_connections_per_address,
        start_rate=settings.visitor_starts_per_minute / 60,
        start_burst=settings.visitor_start_burst,
    )


def is_live(sio: Any, sid: str) -> bool:
    # A socket whose disconnect is under way still counts: its handler releases it.
    return is_here(sio.manager, VISITOR, sid)


def in_memory(settings: Settings, sio: Any) -> Shared:
    """One process on its own: everything in its memory, as the service always was."""
    return Shared(
        presence=LocalPresence(sio),
        addresses=MemoryAddressLimiter(address_limits(settings), lambda sid: is_live(sio, sid)),
        throttle=MemoryThrottle(login_throttle(settings)),
        jobs=LocalJobs(),
        orders=LocalBroadcast(),
        told=MemoryPlaces(),
        staff=LocalStaffPresence(sio),
    )


def through_redis(settings: Settings, sio: Any, sealer: Sealer) -> Shared:
    redis = open_redis(settings.redis_url)
    node = secrets.token_hex(8)
    hashed = KeyedHash.of(sealer)
    throttle = login_throttle(settings)
    return Shared(
        presence=RedisPresence(sio, redis, node),
        addresses=RedisAddressLimiter(
            redis, node, hashed, address_limits(settings), lambda sid: is_live(sio, sid)
        ),
        throttle=RedisThrottle(redis, hashed, throttle.per_account, throttle.per_address),
        jobs=LockedJobs(redis, node),
        orders=PublishedBroadcast(redis, node),
        told=RedisPlaces(redis),
        staff=RedisStaffPresence(sio, redis, node),
        redis=redis,
        node=node,
    )


def shared_state(settings: Settings, sio: Any, sealer: Sealer) -> Shared:
    if settings.redis_url:
        return through_redis(settings, sio, sealer)
    return in_memory(settings, sio)
