"""A Socket.IO server that takes no binary packets: no event of the contract carries bytes.

python-socketio keeps a binary packet's header until all its attachments have arrived, and a
header may announce billions of them (CVE-2026-48804 was that memory growing). Refusing the
header closes the connection before anything is kept; python-socketio has no option for it.
"""

from __future__ import annotations

from typing import Any

import socketio
from socketio import packet

#: The first character of a binary event's or binary ack's header packet.
BINARY_HEADERS = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))


class TextOnlyServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, bytes) or str(data).startswith(BINARY_HEADERS):
            # A protocol violation, not a call to answer: close the whole connection.
            await self.eio.disconnect(eio_sid)
            return
        await super()._handle_eio_message(eio_sid, data)
