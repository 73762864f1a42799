"""The Socket.IO server: python-socketio's, with two changes the contract needs.

- **No binary packets.** No event of the contract carries bytes. python-socketio keeps a binary
  packet's header until all its attachments have arrived, and a header may announce billions of
  them (CVE-2026-48804 was that memory growing). Refusing the header closes the connection
  before anything is kept; python-socketio has no option for it.
- **Messages without a task each.** With ``async_handlers`` every event runs as a task of its
  own, which cost about a tenth of the server's time per message under load (bench profile).
  An event whose handler ``answers_later`` (acks.py) runs in the connection's receive loop
  instead: it only checks and queues, and the writer replies after the commit. ``deliver``
  sends a message to a room likewise without a task per recipient.

They use private methods of python-socketio (pinned in pyproject.toml); the tests of the
contract go through them on every message.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from service.realtime.acks import Ack, DispatchingNamespace, Reply

#: The first character of a binary event's or binary ack's header packet.
BINARY_HEADERS = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))


class Server(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, bytes) or str(data).startswith(BINARY_HEADERS):
            # A protocol violation, not a call to answer: close the whole connection.
            await self.eio.disconnect(eio_sid)
            return
        await super()._handle_eio_message(eio_sid, data)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        handler = self.namespace_handlers.get(namespace)
        if (
            isinstance(handler, DispatchingNamespace)
            and data
            and isinstance(data[0], str)
            and handler.answers_later(data[0])
        ):
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if self.manager.is_connected(sid, namespace):
                await handler.take(
                    data[0], sid, tuple(data[1:]), self._replier(eio_sid, namespace, id)
                )
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    def _replier(self, eio_sid: str, namespace: str, id: Any) -> Reply:
        async def reply(answer: Ack) -> None:
            if id is not None:  # the client asked for no acknowledgement
                await self._send_packet(
                    eio_sid,
                    self.packet_class(packet.ACK, namespace=namespace, id=id, data=[answer]),
                )

        return reply

    async def deliver(
        self, event: str, data: Any, *, room: str, namespace: str, skip_sid: str | None = None
    ) -> None:
        """``emit`` to a room, in line: python-socketio's ``emit`` starts a task per recipient
        and waits for them all, but a send only queues the packet for the socket's own writer
        task. In line, it costs a fraction and consecutive deliveries keep their order."""
        encoded = self.packet_class(packet.EVENT, namespace=namespace, data=[event, data]).encode()
        message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        targets = [
            eio_sid
            for sid, eio_sid in self.manager.get_participants(namespace, room)
            if sid != skip_sid
        ]
        for eio_sid in targets:
            await self._send_eio_packet(eio_sid, message)
