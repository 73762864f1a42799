"""The limits per client address on ``/visitor``, kept in memory for the server's life.

The address is the ASGI scope's client, which ``http/client_address.py`` decides (the TCP
peer, or what a trusted proxy says; python-engineio's ``REMOTE_ADDR`` is always 127.0.0.1
under ASGI). It is never stored, logged nor sent anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from service.config import Settings
from service.domain.ratelimit import AddressLimits


def client_address(environ: dict[str, Any]) -> str:
    client = environ.get("asgi.scope", {}).get("client")
    return str(client[0]) if client else ""


class Addresses:
    def __init__(self, settings: Settings, is_live: Callable[[str], bool]) -> None:
        self.limits = AddressLimits(
            max_connections=settings.visitor_connections_per_address,
            start_rate=settings.visitor_starts_per_minute / 60,
            start_burst=settings.visitor_start_burst,
        )
        self.is_live = is_live

    def admit(self, sid: str, environ: dict[str, Any]) -> bool:
        """Counts the connection if its address has room for one more."""
        return self.limits.connect(sid, client_address(environ), self.is_live)

    def release(self, sid: str) -> None:
        self.limits.disconnect(sid)

    def may_start(self, sid: str) -> bool:
        return self.limits.start(sid, time.monotonic())
