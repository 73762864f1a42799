"""The Socket.IO packet of our server (python-socketio's ``serializer=`` argument).

Two differences from python-socketio's own packet:

- **JSON by msgspec** (jsonshim.py), set on this class only: passing ``json=`` to the server
  would also replace Engine.IO's JSON module for every server and client of the process.
- **No binary packets.** No event of the contract carries bytes, and python-socketio keeps a
  binary packet's header until all the attachments it announces have arrived: a header may
  announce a billion. A binary header, or an attachment, decodes as an event named
  ``BINARY_REFUSED`` without attachments, so nothing is kept; our namespaces answer it by closing
  the connection (acks.py). No JSON document decodes to that object, so no client can send it.
"""

from __future__ import annotations

from typing import Any, Final

from socketio import packet

from service.realtime import jsonshim


class BinaryRefused:
    """The event name a binary packet decodes to."""

    def __repr__(self) -> str:
        return "<binary packet refused>"


BINARY_REFUSED: Final = BinaryRefused()

#: The first character of a binary event's or binary ack's header.
BINARY_HEADERS: Final = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))


class ContractPacket(packet.Packet):  # type: ignore[misc]
    json = jsonshim

    def decode(self, encoded_packet: str | bytes) -> int:
        """Decode a received packet; returns how many attachments must follow (always 0)."""
        if isinstance(encoded_packet, str) and not encoded_packet.startswith(BINARY_HEADERS):
            return int(super().decode(encoded_packet) or 0)
        # Only the namespace is read: a refused header's JSON is never parsed.
        self.packet_type = packet.EVENT
        self.namespace = namespace_of(encoded_packet)
        self.id = None
        self.data = [BINARY_REFUSED]
        return 0


def namespace_of(encoded_packet: Any) -> str | None:
    """The namespace of a binary header (``51-/visitor,…``); None for an attachment's bytes."""
    if not isinstance(encoded_packet, str):
        return None
    rest = encoded_packet[1:]
    count, dash, after = rest.partition("-")
    if dash and count.isdigit():
        rest = after
    if not rest.startswith("/"):
        return None
    namespace = rest.split(",", 1)[0]
    return namespace.split("?", 1)[0]
