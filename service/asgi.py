"""Plain ASGI pieces shared by the wrappers in front of the app (security headers, request and
long-polling body limits, bounded WebSocket sends): the types, reading a body up to a bound,
handing it on, and a short plain-text answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header(scope: Scope, wanted: bytes) -> bytes | None:
    """A request header's value (``wanted`` in lower case), or None."""
    for name, value in scope.get("headers", []):
        if name.lower() == wanted:
            return bytes(value)
    return None


async def read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body if it is at most ``limit`` bytes; None as soon as it passes the limit
    (never holding more than that) or the client disconnects."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def with_body(scope: Scope, body: bytes, receive: Receive) -> tuple[Scope, Receive]:
    """The request again, with a body already read and its true length, for the next app."""
    headers = [(n, v) for n, v in scope.get("headers", []) if n.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return {**scope, "headers": headers}, replayed


async def answer_text(send: Send, status: int, text: str) -> None:
    """A short plain-text answer that closes the connection: a body left unread can only be
    done with by closing."""
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
