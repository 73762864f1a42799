"""The client manager of our server (python-socketio's ``client_manager=`` argument)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.exceptions import SocketIsClosedError
from socketio import packet

from service.realtime import jsonshim
from service.realtime.sockets import is_here

log = logging.getLogger(__name__)

CLOSE_SECONDS = 2.0


class InlineManager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's in-memory client manager, with an ``emit`` that sends in line.

    The base ``emit`` starts a task per recipient and waits for them all, although a send only
    puts the packet on the recipient socket's queue (the socket's own task writes it). This one
    encodes the packet once and queues it for each recipient in turn: no task, no waiting, and
    two emits reach every recipient in the order they were made. Acks (``callback``) and binary
    data, which we never send, take the base ``emit``.

    For several processes, :class:`RedisManager` puts python-socketio's ``AsyncRedisManager``
    in front of this one.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        encoded = None if callback is not None else encode(self.server, event, data, namespace)
        if not isinstance(encoded, str):  # an ack wanted, or binary data
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        # get_participants iterates over a copy: a socket that closes meanwhile changes nothing.
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skipped:
                continue
            # A socket that is closing refuses the packet; the others still get it.
            with contextlib.suppress(SocketIsClosedError):
                await self.server.eio.send_packet(eio_sid, message)


def encode(server: Any, event: str, data: Any, namespace: str) -> str | list[Any]:
    """The event as python-socketio encodes it: a tuple is several arguments, None none."""
    args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
    pkt = server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args])
    encoded: str | list[Any] = pkt.encode()
    return encoded


PUBLISH_ONLY: ContextVar[bool] = ContextVar("madoguchi_publish_only", default=False)
"""Set in :class:`RedisManager`'s publishing task only: its events were delivered here already."""

OUTBOX_LIMIT = 100_000
"""Events waiting to be published at most: past it (Redis away for long) new ones are dropped
for the other processes, whose clients catch up with ``history``."""


class LocalDelivery(InlineManager):
    """:class:`InlineManager` as :class:`RedisManager`'s delivery to this process's clients."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if PUBLISH_ONLY.get():
            return
        await super().emit(
            event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
        )


class RedisManager(socketio.AsyncRedisManager, LocalDelivery):  # type: ignore[misc]
    """Several processes as one Socket.IO server, through Redis pub/sub (``MADOGUCHI_REDIS_URL``).

    python-socketio's ``AsyncRedisManager`` is an ``AsyncPubSubManager``: its ``emit`` delivers
    here, then publishes, and its listener hands each event published by another process to
    the next ``emit`` in the method resolution order: RedisManager, AsyncRedisManager,
    AsyncPubSubManager, LocalDelivery, InlineManager, AsyncManager. So every process delivers
    to its own clients in line. Joining, leaving and disconnecting a socket of another process
    are published the same way.

    Our ``emit`` delivers here in line and leaves the publishing to one task, in order: awaiting
    each publish in the emitting handler would let handlers resume in the order their publishes
    came back, not the order they were made, and a conversation's messages would reach this
    process's clients out of order. An event for one socket of this process is not published.

    What is published is plain JSON (python-socketio 5.14 replaced pickle, which would run
    whatever a writer to the channel sent): our msgspec module, the same as the packets'.
    """

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, json=jsonshim)
        self.outbox: asyncio.Queue[tuple[str, Any, str, Any, Any]] = asyncio.Queue()
        self.publisher: asyncio.Task[None] | None = None

    async def leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        """A socket of this process leaves the room here, also while its disconnect is under
        way. The pub/sub manager would publish the leave of a socket it no longer counts as
        connected, for another process to carry out, and the socket would stay in the room
        here until its disconnect handler returned: its visitor would still seem present."""
        if is_here(self, namespace, sid):
            return await socketio.AsyncManager.leave_room(self, sid, namespace, room)
        return await super().leave_room(sid, namespace, room)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or kwargs.get("ignore_queue"):  # the library's own ways
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        # Every socket is a room of its own: one of this process is nowhere else.
        elsewhere = not (isinstance(room, str) and is_here(self, namespace, room))
        await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, ignore_queue=True)
        if elsewhere:
            self.publish_later((event, data, namespace, room, skip_sid))

    def publish_later(self, item: tuple[str, Any, str, Any, Any]) -> None:
        if self.publisher is None or self.publisher.done():
            self.publisher = asyncio.create_task(self.publish_in_order(), name="madoguchi-publish")
        if self.outbox.qsize() >= OUTBOX_LIMIT:
            log.warning("events wait to be published; one for other processes is dropped")
            return
        self.outbox.put_nowait(item)

    async def publish_in_order(self) -> None:
        PUBLISH_ONLY.set(True)  # this task's context only
        while True:
            event, data, namespace, room, skip_sid = await self.outbox.get()
            try:
                await socketio.AsyncRedisManager.emit(
                    self, event, data, namespace=namespace, room=room, skip_sid=skip_sid
                )
            except Exception:  # python-socketio logs a publish that fails; go on
                log.warning("publishing an event failed", exc_info=True)
            finally:
                self.outbox.task_done()

    async def close(self) -> None:
        """Publishes what is queued (briefly) and ends our publishing task.

        python-socketio's listener task and its Redis client are the library's, and it documents
        no way to stop them: they end with the process, which uvicorn ends once the server has
        stopped (the sockets close with it; ``asyncio.run`` would cancel a task left). Closing
        its client from here would mean reading attributes the library does not document.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.outbox.join(), CLOSE_SECONDS)
        if self.publisher is not None:
            self.publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.publisher
