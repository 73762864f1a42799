"""The serving process's login throttle (rules in ``domain/login_throttle.py``) and how an
admin's unlock reaches it.

The throttle lives in this process's memory. ``madoguchi user unlock`` (or a password reset),
run by another process, writes an audit row and advances the settings change counter; the
catalog's reload then runs :meth:`Unlocks.apply`, which reads the new unlock rows and lets
those accounts try again at once.
"""

from __future__ import annotations

from service.config import Settings
from service.domain.login_throttle import LoginThrottle
from service.storage import Store


def login_throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle.create(
        settings.login_failures_per_account,
        settings.login_failures_per_address,
        settings.login_lockout_minutes,
    )


class Unlocks:
    def __init__(self, store: Store, throttle: LoginThrottle) -> None:
        self.store = store
        self.throttle = throttle
        self.seen = 0

    async def start(self) -> None:
        """Unlocks made before this process started concern a throttle it never had."""
        self.seen, _ = await self.store.login_unlocks_since(0)

    async def apply(self) -> None:
        self.seen, usernames = await self.store.login_unlocks_since(self.seen)
        for username in usernames:
            self.throttle.unlock(username)
