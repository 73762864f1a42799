"""A bound on what the server holds for one WebSocket whose client does not read.

Every event and acknowledgement for a connection goes on python-engineio's queue for that
socket, which has no bound and no public size; its writer sends one packet at a time, and a
send waits while the client reads nothing (the server's transport buffer is full). A client
that asks for history page after page and never reads would have the server hold every answer.

So, with plain ASGI in front of the Socket.IO app, each WebSocket's sends go through a buffer
of our own: the app's send returns at once (python-engineio's queue stays empty), one task
writes the buffer to the real send in order, and the buffer counts its bytes. Past ``max_bytes``
unsent, the connection is dropped: the buffer is freed, further sends fail (python-engineio's
writer stops) and the app's next receive is a disconnect (python-engineio closes the socket,
and the Socket.IO disconnect handlers run as for any other disconnect). History pages are
capped well below the bound (domain/messages.py), so a client that reads, however slowly,
page by page, is never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from service.asgi import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_UNSENT_BYTES = 4 * 1024 * 1024
FLUSH_SECONDS = 5.0
DISCONNECT: Message = {"type": "websocket.disconnect", "code": 1008}


class Dropped(ConnectionError):
    """A send to a connection dropped for not reading."""


def with_bounded_websocket_sends(app: ASGIApp, *, max_bytes: int = MAX_UNSENT_BYTES) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await app(scope, receive, send)
            return
        outbox = Outbox(send, receive, max_bytes)
        try:
            await app(scope, outbox.receive, outbox.send)
            await outbox.flush()
        finally:
            outbox.stop()

    return wrapped


class Outbox:
    """One WebSocket's unsent messages, bounded in bytes."""

    def __init__(self, send: Send, receive: Receive, max_bytes: int) -> None:
        self._send = send
        self._receive = receive
        self.max_bytes = max_bytes
        self.unsent: deque[tuple[Message, int]] = deque()
        self.unsent_bytes = 0
        self.dropped = False
        self._ready = asyncio.Event()
        self._finished = False
        self._writer: asyncio.Task[None] | None = None

    async def send(self, message: Message) -> None:
        if self.dropped:
            raise Dropped("dropped: it read nothing while its answers piled up")
        size = _size(message)
        if self.unsent_bytes + size > self.max_bytes:
            self.drop()
            raise Dropped("dropped: it read nothing while its answers piled up")
        self.unsent.append((message, size))
        self.unsent_bytes += size
        self._ready.set()
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())

    async def receive(self) -> Message:
        """The next message from the client, or a disconnect once dropped. A receive already
        waiting when the drop comes returns at the client's next message (which a client that
        asks for more always sends) or at python-engineio's ping timeout: no task per message
        to race the two."""
        if self.dropped:
            return DISCONNECT
        message = await self._receive()
        return DISCONNECT if self.dropped else message

    def drop(self) -> None:
        log.warning(
            "dropped a WebSocket that read nothing while %d bytes waited", self.unsent_bytes
        )
        self._gone()
        self.stop()

    def _gone(self) -> None:
        self.dropped = True
        self.unsent.clear()
        self.unsent_bytes = 0

    async def flush(self) -> None:
        """After the app is done: what it sent last (its close) still goes out, within
        ``FLUSH_SECONDS``: a client that reads nothing does not hold the connection open."""
        self._finished = True
        self._ready.set()
        if self._writer is not None and not self.dropped:  # a dropped one's was cancelled
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer, FLUSH_SECONDS)

    def stop(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()

    async def _write(self) -> None:
        while True:
            while not self.unsent:
                if self.dropped or self._finished:
                    return
                self._ready.clear()
                await self._ready.wait()
            message, size = self.unsent.popleft()
            self.unsent_bytes -= size
            try:
                await self._send(message)
            except Exception:  # the client is gone: nothing more can be sent
                self._gone()
                return
            if message["type"] == "websocket.close":
                return


def _size(message: Message) -> int:
    text = message.get("text")
    if text is not None:
        return len(text.encode()) if not text.isascii() else len(text)
    data = message.get("bytes")
    return len(data) if data is not None else 0
