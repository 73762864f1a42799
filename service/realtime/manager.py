"""The client manager of our server (python-socketio's ``client_manager=`` argument)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.exceptions import SocketIsClosedError
from socketio import packet

from service.realtime import jsonshim


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


class RedisManager(socketio.AsyncRedisManager, InlineManager):  # type: ignore[misc]
    """Several processes as one Socket.IO server, through Redis pub/sub (``MADOGUCHI_REDIS_URL``).

    python-socketio's ``AsyncRedisManager`` is an ``AsyncPubSubManager``: its ``emit`` delivers
    here and publishes, and its listener hands each event published by another process to the
    next ``emit`` in the method resolution order: RedisManager, AsyncRedisManager,
    AsyncPubSubManager, InlineManager, AsyncManager. So every process delivers to its own
    clients in line. Joining, leaving and disconnecting a socket of another process are
    published the same way.

    What is published is plain JSON (python-socketio 5.14 replaced pickle, which would run
    whatever a writer to the channel sent): our msgspec module, the same as the packets'.
    """

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, json=jsonshim)

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
        if isinstance(room, str) and self.is_connected(room, namespace):
            # One socket of this process (every socket is a room of its own): no other
            # process has it, so nothing is published.
            kwargs["ignore_queue"] = True
        await super().emit(
            event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
        )

    async def close(self) -> None:
        """Stops listening and closes the connections (in the application's shutdown)."""
        listener = getattr(self, "thread", None)
        if isinstance(listener, asyncio.Future):
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if self.redis is not None:
            await self.redis.aclose()
