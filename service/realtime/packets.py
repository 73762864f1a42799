"""The Socket.IO packet of our server (python-socketio's ``serializer=`` argument).

Two differences from python-socketio's own packet:

- **JSON by msgspec** (jsonshim.py), set on this class only: passing ``json=`` to the server
  would also replace Engine.IO's JSON module for every server and client of the process.
- **No binary packets.** No event of the contract carries bytes, and python-socketio keeps a
  binary packet's header until all the attachments it announces have arrived: a header may
  announce a billion. A binary header, or an attachment, decodes as an event named
  ``BINARY_REFUSED`` without attachments, so nothing is kept; our namespaces answer it by closing
  the connection (acks.py). No JSON document decodes to that object, so no client can send it.
- **No events under the server's own names.** ``connect`` and ``disconnect`` reach a namespace
  from the server alone; one a client sends decodes as an event named ``RESERVED_NAME``,
  answered ``unknown_event``, so a client can neither run the connect handler again with an
  environ of its choosing nor make the service believe it has left.
"""

from __future__ import annotations

from typing import Any, Final

from socketio import packet

from service.realtime import jsonshim


class Refused:
    """An event name no client can send: what a refused packet decodes to."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"<{self.why}>"


BINARY_REFUSED: Final = Refused("binary packet refused")
RESERVED_NAME: Final = Refused("event under a name the server keeps for itself")

#: The events python-socketio triggers itself on a namespace.
SERVER_EVENTS: Final = frozenset({"connect", "disconnect"})

#: The first character of a binary event's or binary ack's header.
BINARY_HEADERS: Final = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))


class ContractPacket(packet.Packet):  # type: ignore[misc]
    json = jsonshim
    packet_type: int
    data: Any

    def decode(self, encoded_packet: str | bytes) -> int:
        """Decode a received packet; returns how many attachments must follow (always 0)."""
        if isinstance(encoded_packet, str) and not encoded_packet.startswith(BINARY_HEADERS):
            attachments = int(super().decode(encoded_packet) or 0)
            if self.packet_type == packet.EVENT and names_server_event(self.data):
                self.data = [RESERVED_NAME, *self.data[1:]]
            return attachments
        # Only the namespace is read: a refused header's JSON is never parsed.
        self.packet_type = packet.EVENT
        self.namespace = namespace_of(encoded_packet)
        self.id = None
        self.data = [BINARY_REFUSED]
        return 0


def names_server_event(data: Any) -> bool:
    """Whether an event's data (any JSON a client sent) names a server event."""
    if not isinstance(data, list) or not data:
        return False
    name = data[0]
    return isinstance(name, str) and name in SERVER_EVENTS


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
