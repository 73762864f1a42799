"""The serving process's login throttle (rules in ``domain/login_throttle.py``) and how an
admin's unlock reaches it.

One process keeps the attempts in memory (:class:`MemoryThrottle`); several processes share
them in Redis (``cluster/throttle.py``), so that a guesser gains nothing by spreading attempts
over them. ``madoguchi user unlock`` (or a password reset), run by another process, writes an
audit row and advances the settings change counter; the catalog's reload then runs
:meth:`Unlocks.apply`, which reads the new unlock rows and lets those accounts try again at once.
"""

from __future__ import annotations

import time
from typing import Protocol

from service.config import Settings
from service.domain.login_throttle import Attempt, LoginThrottle
from service.storage import Store


class Throttle(Protocol):
    async def begin(self, username: str, address: str) -> Attempt | float:
        """Counts an attempt and returns it, or returns the seconds to wait (nothing counted)."""
        ...

    async def succeeded(self, attempt: Attempt) -> None: ...

    async def unlock(self, username: str) -> None: ...


def login_throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle.create(
        settings.login_failures_per_account,
        settings.login_failures_per_address,
        settings.login_lockout_minutes,
    )


class MemoryThrottle:
    """This process's memory only: an address is never stored, and a restart forgets."""

    def __init__(self, throttle: LoginThrottle) -> None:
        self.throttle = throttle

    async def begin(self, username: str, address: str) -> Attempt | float:
        return self.throttle.begin(username, address, time.monotonic())

    async def succeeded(self, attempt: Attempt) -> None:
        self.throttle.succeeded(attempt)

    async def unlock(self, username: str) -> None:
        self.throttle.unlock(username)


class Unlocks:
    def __init__(self, store: Store, throttle: Throttle) -> None:
        self.store = store
        self.throttle = throttle
        self.seen = 0

    async def start(self) -> None:
        """Unlocks made before this process started concern a throttle it never had."""
        self.seen, _ = await self.store.login_unlocks_since(0)

    async def apply(self) -> None:
        self.seen, usernames = await self.store.login_unlocks_since(self.seen)
        for username in usernames:
            await self.throttle.unlock(username)
