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

from service.asgi import ASGIApp, Receive, Scope, Send, answer_text, header, read_at_most, with_body

SOCKETIO_PATH = "/socket.io/"


def with_polling_body_limit(app: ASGIApp, *, limit: int) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_polling_post(scope):
            await app(scope, receive, send)
            return
        # The server's HTTP parser has refused a malformed Content-Length already.
        declared = header(scope, b"content-length")
        if declared is not None:
            if int(declared) > limit:
                await answer_text(send, 413, "payload too large")
                return
            await app(scope, receive, send)
            return
        body = await read_at_most(receive, limit)
        if body is None:
            # To a client that left already, the server drops it.
            await answer_text(send, 413, "payload too large")
            return
        # Replayed with its length, so python-engineio reads it as it reads any other body.
        await app(*with_body(scope, body, receive), send)

    return wrapped


def _is_polling_post(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope.get("method") == "POST"
        and str(scope.get("path", "")).startswith(SOCKETIO_PATH)
    )
