"""A bound on long-polling POST bodies, enforced in front of the Socket.IO app.

python-engineio refuses a POST whose Content-Length is over ``max_http_buffer_size`` by closing
the session, and that close waits until the client fetches the close packet with its next
GET: a client that never sends one holds the request, and its socket, unanswered until the
session times out. A POST without Content-Length (chunked) is read to its end, however long,
before anything is answered. So the bound is enforced here, with plain ASGI, before the
request reaches python-engineio: a declared length over it is answered 413 at once, unread;
a chunked body is read up to it and answered 413 as soon as it passes. Either way the
connection is closed after the answer, so the rest of the body is never read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SOCKETIO_PATH = "/socket.io/"


def with_polling_body_limit(app: ASGIApp, *, limit: int) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_polling_post(scope):
            await app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _refuse(send)
                return
            await app(scope, receive, send)
            return
        body = await _read_at_most(receive, limit)
        if body is None:
            await _refuse(send)  # to a client that left already, the server drops it
            return
        # Replayed with its length, so python-engineio reads it as it reads any other body.
        headers = [*scope.get("headers", []), (b"content-length", str(len(body)).encode())]
        await app({**scope, "headers": headers}, _replay(body, receive), send)

    return wrapped


def _is_polling_post(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope.get("method") == "POST"
        and str(scope.get("path", "")).startswith(SOCKETIO_PATH)
    )


def _content_length(scope: Scope) -> int | None:
    """The declared length, or None when there is none (a chunked body). The server checked
    its syntax already (the HTTP parser refuses a malformed one)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return int(value)
    return None


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
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


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(send: Send) -> None:
    text = b"payload too large"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
                # The rest of the body is not read: closing is the only way to be done with it.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})
