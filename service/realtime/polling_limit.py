"""A bound on long-polling POST bodies, enforced in front of the Socket.IO app.

python-engineio refuses a POST whose Content-Length is over ``max_http_buffer_size`` by closing
the session, and that close waits until the client fetches the close packet with its next
GET: a client that never sends one holds the request, and its socket, unanswered until the
session times out. A POST without Content-Length (chunked) is read to its end, however long,
before anything is answered. So the bound is enforced here, with plain ASGI, before the
request reaches python-engineio: a declared length over it is answered 413 at once, unread;
a chunked body is read up to it and answered 413 as soon as it passes. Either way the
connection is closed after the answer, so the rest of the body is never read.

A long-polling session's answers wait on python-engineio's queue until the client fetches them
with a GET, and that queue has no bound. A client that keeps POSTing (history requests, pongs)
and never GETs would have the server hold every answer. A live client always has a GET open or
just finished, so a session that has not fetched for ``quiet_seconds`` gets 400 on its next
POST and is ended (python-engineio's public ``disconnect``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from service.asgi import ASGIApp, Receive, Scope, Send, answer_text, header, read_at_most, with_body

SOCKETIO_PATH = "/socket.io/"


class Fetches:
    """When each long-polling session last fetched its answers (a GET open counts as now)."""

    def __init__(self, quiet_seconds: float) -> None:
        self.quiet_seconds = quiet_seconds
        self.open: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def started(self, sid: str) -> None:
        self.open[sid] = self.open.get(sid, 0) + 1

    def ended(self, sid: str) -> None:
        self.open[sid] -= 1
        if not self.open[sid]:
            del self.open[sid]
        self.last[sid] = time.monotonic()

    def quiet_too_long(self, sid: str) -> bool:
        """Whether the session sends without fetching; a session first seen now is not."""
        if sid in self.open:
            return False
        now = time.monotonic()
        self._forget_older_than(now - 10 * self.quiet_seconds)
        return now - self.last.setdefault(sid, now) > self.quiet_seconds

    def _forget_older_than(self, moment: float) -> None:
        if len(self.last) > 1000:  # sessions that ended long ago
            for sid in [s for s, t in self.last.items() if t < moment]:
                del self.last[sid]


def with_polling_body_limit(
    app: ASGIApp,
    *,
    limit: int,
    quiet_seconds: float,
    end_session: Callable[[str], Awaitable[None]],
) -> ASGIApp:
    fetches = Fetches(quiet_seconds)

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        sid = _polling_sid(scope)
        if sid is not None and scope.get("method") == "GET":
            fetches.started(sid)
            try:
                await app(scope, receive, send)
            finally:
                fetches.ended(sid)
            return
        if not _is_polling_post(scope):
            await app(scope, receive, send)
            return
        if sid is not None and fetches.quiet_too_long(sid):
            await answer_text(send, 400, "answers were never fetched; session ended")
            # python-engineio's close waits until the queued answers are fetched, which this
            # client never does: give up waiting; its service task then drops the socket.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(end_session(sid), 1.0)
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


def _polling_sid(scope: Scope) -> str | None:
    """The Engine.IO session of a long-polling request, or None."""
    if scope["type"] != "http" or not str(scope.get("path", "")).startswith(SOCKETIO_PATH):
        return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("transport") != ["polling"]:
        return None
    sids = query.get("sid")
    return sids[0] if sids else None


def _is_polling_post(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope.get("method") == "POST"
        and str(scope.get("path", "")).startswith(SOCKETIO_PATH)
    )
