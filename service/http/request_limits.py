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

from service.asgi import ASGIApp, Receive, Scope, Send, answer_text, header, read_at_most, with_body

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
            await answer_text(send, *NOT_FOUND)
            return
        if str(scope.get("path", "")).startswith(SOCKETIO_PATH):
            await app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and int(declared) > max_bytes:
            await answer_text(send, *TOO_LARGE)
            return
        is_form = (header(scope, b"content-type") or b"").lower().startswith(FORM)
        if declared is not None and not is_form:
            await app(scope, receive, send)  # within the limit; nothing to count
            return
        body = await read_at_most(receive, max_bytes)
        if body is None:
            # Over the bound, or the client left (then the server drops the answer).
            await answer_text(send, *TOO_LARGE)
            return
        if is_form and field_count(body) > max_fields:
            await answer_text(send, *TOO_MANY_FIELDS)
            return
        await app(*with_body(scope, body, receive), send)

    return wrapped


def has_control_character(path: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)


def field_count(body: bytes) -> int:
    """Fields of a URL-encoded form, counted as a parser would split them (``&`` or ``;``)."""
    return body.count(b"&") + body.count(b";") + 1 if body else 0
