"""Odd or oversized HTTP requests are refused in front of Litestar, before anything is parsed.

- A path with a control character (``%0a``, ``%00`` …) names no page: 404 at once. Such a path
  reached the static files' ``stat`` (a 500 for ``%00``) and could put a line of its own in
  the log.
- A body over ``MADOGUCHI_MAX_REQUEST_BYTES`` is answered 413: a declared length at once,
  unread; a chunked body as soon as it passes the limit.
- A form with more than ``MADOGUCHI_MAX_FORM_FIELDS`` fields is answered 400 before it is
  parsed: a form of a million empty fields took seconds of the event loop to parse.

Socket.IO's long-polling POSTs have their own bound (``realtime/polling_limit.py``).
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
FORM = b"application/x-www-form-urlencoded"

NOT_FOUND = (404, "ページが見つかりません。 / Not found.")
TOO_LARGE = (413, "リクエストが大きすぎます。 / Request too large.")
TOO_MANY_FIELDS = (400, "フォームの項目が多すぎます。 / Too many form fields.")


def with_request_limits(app: ASGIApp, *, max_bytes: int, max_fields: int) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if has_control_character(str(scope.get("path", ""))):
            await _answer(send, NOT_FOUND)
            return
        if str(scope.get("path", "")).startswith(SOCKETIO_PATH):
            await app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and int(declared) > max_bytes:
            await _answer(send, TOO_LARGE)
            return
        is_form = (_header(scope, b"content-type") or b"").lower().startswith(FORM)
        if declared is not None and not is_form:
            await app(scope, receive, send)  # within the limit; nothing to count
            return
        body = await _read_at_most(receive, max_bytes)
        if body is None:
            await _answer(send, TOO_LARGE)  # to a client that left already, the server drops it
            return
        if is_form and field_count(body) > max_fields:
            await _answer(send, TOO_MANY_FIELDS)
            return
        headers = [
            (name, value) for name, value in scope.get("headers", []) if name != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await app({**scope, "headers": headers}, _replay(body, receive), send)

    return wrapped


def has_control_character(path: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)


def field_count(body: bytes) -> int:
    """Fields of a URL-encoded form, counted as a parser would split them (``&`` or ``;``)."""
    return body.count(b"&") + body.count(b";") + 1 if body else 0


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name.lower() == wanted:
            return bytes(value)
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


async def _answer(send: Send, answer: tuple[int, str]) -> None:
    status, text = answer
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                # A body left unread can only be dealt with by closing the connection.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
