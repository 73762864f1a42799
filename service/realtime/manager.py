"""The client manager of our server (python-socketio's ``client_manager=`` argument)."""

from __future__ import annotations

import contextlib
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.exceptions import SocketIsClosedError
from socketio import packet


class InlineManager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's in-memory client manager, with an ``emit`` that sends in line.

    The base ``emit`` starts a task per recipient and waits for them all, although a send only
    puts the packet on the recipient socket's queue (the socket's own task writes it). This one
    encodes the packet once and queues it for each recipient in turn: no task, no waiting, and
    two emits reach every recipient in the order they were made. Acks (``callback``) and binary
    data, which we never send, take the base ``emit``.

    For several processes, python-socketio's ``AsyncRedisManager`` is an
    ``AsyncPubSubManager``: its ``emit`` publishes, and its listener hands each published event
    to the next ``emit`` in the method resolution order for the local clients. With
    ``class RedisManager(socketio.AsyncRedisManager, InlineManager)`` that next ``emit`` is this
    one (the order is RedisManager, AsyncRedisManager, AsyncPubSubManager, InlineManager,
    AsyncManager), so every process delivers to its own clients in line.
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
