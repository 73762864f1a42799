"""Token buckets (``rate`` tokens a second, at most ``burst`` saved up) and the limits per client
address built on them. Time is passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: Start buckets kept before the refilled ones are forgotten.
MAX_TRACKED_ADDRESSES = 10_000


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


@dataclass
class AddressLimits:
    """Per client address: open connections at most ``max_connections``, and ``start`` calls
    from a token bucket of ``start_rate`` a second with ``start_burst`` saved up.

    One process keeps addresses only here, in memory: never stored, never logged (several
    processes count in Redis by keyed hash instead, ``cluster/limits.py``). A connection is known by
    its ``sid``; ``is_live`` lets a count heal itself when a release was missed (a client gone
    while its connect was still being handled).
    """

    max_connections: int
    start_rate: float
    start_burst: int
    address_of: dict[str, str] = field(default_factory=dict)
    connections: dict[str, set[str]] = field(default_factory=dict)
    start_buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def connect(self, sid: str, address: str, is_live: Callable[[str], bool]) -> bool:
        sids = self.connections.setdefault(address, set())
        if len(sids) >= self.max_connections:
            for stale in [s for s in sids if not is_live(s)]:
                self.disconnect(stale)
            sids = self.connections.setdefault(address, set())
        if len(sids) >= self.max_connections:
            return False
        sids.add(sid)
        self.address_of[sid] = address
        return True

    def disconnect(self, sid: str) -> None:
        address = self.address_of.pop(sid, None)
        if address is None:
            return
        sids = self.connections.get(address, set())
        sids.discard(sid)
        if not sids:
            self.connections.pop(address, None)

    def start(self, sid: str, now: float) -> bool:
        address = self.address_of.get(sid)
        if address is None:  # not counted: nothing to limit by
            return True
        if len(self.start_buckets) > MAX_TRACKED_ADDRESSES:
            self._forget_full_buckets(now)
        bucket = self.start_buckets.get(address)
        if bucket is None:
            bucket = self.start_buckets[address] = TokenBucket(self.start_rate, self.start_burst)
        return bucket.take(now)

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled holds nothing a new one would not: forgetting it bounds
        # the memory a spread of addresses can take.
        for address, bucket in list(self.start_buckets.items()):
            if bucket.tokens + (now - bucket.updated) * bucket.rate >= bucket.burst:
                del self.start_buckets[address]
