"""The client address of a ``/visitor`` connection, for the limits per address
(``cluster/limits.py``: this process's memory, or Redis shared by every process).

The address is the ASGI scope's client, which ``http/client_address.py`` decides (the TCP
peer, or what a trusted proxy says; python-engineio's ``REMOTE_ADDR`` is always 127.0.0.1
under ASGI). It is never stored in clear, logged nor sent anywhere: Redis keeps only its keyed
hash.
"""

from __future__ import annotations

from typing import Any


def client_address(environ: dict[str, Any]) -> str:
    client = environ.get("asgi.scope", {}).get("client")
    return str(client[0]) if client else ""
