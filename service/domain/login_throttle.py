"""The login throttle's rules: progressive delays per account and per address, no I/O.

A login attempt is counted when it begins, before its password is checked, so that concurrent
guesses cannot all pass while the first ones are still being checked. The first ``limit``
attempts within the window go through at once; after them, each further attempt must wait
after the previous one a 64th of the window, doubling with each attempt counted beyond the
limit, never more than the window itself (a 15-minute window: 14 s, 28 s, 56 s, … 15 min).
Nobody is locked out for good: waiting the delay always gives one more try, and the window
forgets old attempts. A success forgets the account's attempts (not the
address's: one good login must not reset a guesser's tally) and takes back its own count.

One process keeps the attempts in memory; several processes share them in Redis, keyed by a
keyed hash of the account and the address (``service/cluster/throttle.py``), both through
:func:`wait_after`. An address is a staff member's: it is never stored in clear.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

FIRST_DELAY_SHARE = 1 / 64
"""The first delay as a share of the window."""

MAX_KEYS = 10_000
"""Past this many keys, stale ones are forgotten (a flood of names or addresses)."""


def wait_after(times: Sequence[float], limit: int, window_seconds: float, now: float) -> float:
    """Seconds until one more attempt may be counted, given the attempts ``times`` (oldest
    first) still within the window (0: now)."""
    over = len(times) - limit
    if over < 0:
        return 0.0
    first = window_seconds * FIRST_DELAY_SHARE
    delay = min(math.ldexp(first, min(over, 60)), window_seconds)
    return max(0.0, times[-1] + delay - now)


@dataclass
class AttemptLog:
    """Attempts per key (an account or an address) within a sliding window."""

    limit: int
    window_seconds: float
    attempts: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self.attempts.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window_seconds:
            times.popleft()
        if not times:
            del self.attempts[key]
        return times

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        return wait_after(self._recent(key, now), self.limit, self.window_seconds, now)

    def record(self, key: str, now: float) -> None:
        if len(self.attempts) > MAX_KEYS:
            for stale in list(self.attempts):
                self._recent(stale, now)
        self.attempts.setdefault(key, deque()).append(now)

    def take_back(self, key: str, at: float) -> None:
        times = self.attempts.get(key)
        if times is not None and at in times:
            times.remove(at)
            if not times:
                del self.attempts[key]

    def clear(self, key: str) -> None:
        self.attempts.pop(key, None)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A counted attempt: what a success takes back."""

    account: str
    address: str
    at: float
    mark: str = ""
    """Where the attempt is kept, if not in this process (its shared record)."""


def account_key(username: str) -> str:
    return username.strip().casefold()


@dataclass
class LoginThrottle:
    per_account: AttemptLog
    per_address: AttemptLog

    @classmethod
    def create(cls, account_limit: int, address_limit: int, minutes: float) -> LoginThrottle:
        window = minutes * 60
        return cls(AttemptLog(account_limit, window), AttemptLog(address_limit, window))

    def begin(self, username: str, address: str, now: float) -> Attempt | float:
        """Counts an attempt and returns it, or returns the seconds to wait (nothing counted)."""
        account = account_key(username)
        wait = max(self.per_account.wait(account, now), self.per_address.wait(address, now))
        if wait > 0:
            return wait
        self.per_account.record(account, now)
        self.per_address.record(address, now)
        return Attempt(account, address, now)

    def succeeded(self, attempt: Attempt) -> None:
        self.per_account.clear(attempt.account)
        self.per_address.take_back(attempt.address, attempt.at)

    def unlock(self, username: str) -> None:
        """An admin's unlock: the account may try again at once."""
        self.per_account.clear(account_key(username))
