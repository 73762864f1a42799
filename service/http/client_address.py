"""The one place that decides a request's client address, for HTTP and WebSocket alike.

uvicorn's own proxy-header handling is off (``cli.py``): it trusts ``X-Forwarded-For`` from
127.0.0.1 by default, so any local client could pick its apparent address. Here the header
counts only when the peer is one of ``MADOGUCHI_TRUSTED_PROXIES`` (``domain/proxies.py``); the
result replaces the scope's ``client``, which the login throttle and the visitor limits read.
"""

from __future__ import annotations

from service.asgi import ASGIApp, Receive, Scope, Send
from service.domain.proxies import Network, client_address


def with_client_address(app: ASGIApp, *, trusted: tuple[Network, ...]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and trusted and scope.get("client"):
            peer, port = scope["client"]
            forwarded = [
                value.decode("latin-1")
                for name, value in scope.get("headers", [])
                if name.lower() == b"x-forwarded-for"
            ]
            if forwarded:
                scope = {**scope, "client": (client_address(peer, forwarded, trusted), port)}
        await app(scope, receive, send)

    return wrapped
