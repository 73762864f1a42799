"""What this process's Socket.IO manager knows of one socket, asked through documented rooms.

python-socketio puts every socket in a room named by its sid (the room an event for that one
client is sent to) from the moment it begins to connect until its disconnect is done, and the
manager's documented ``get_participants`` lists a room's sockets on this process with their
Engine.IO connections. That answers all the service asks of a single socket, without the
manager's undocumented bookkeeping of connection states.
"""

from __future__ import annotations

from typing import Any


def engine_id(manager: Any, namespace: str, sid: str) -> str | None:
    """The Engine.IO connection of a socket of this process; None for one it does not know
    (gone, or on another process)."""
    for member, eio_sid in manager.get_participants(namespace, sid):
        if member == sid:  # the room ``sid`` holds that socket only; checked all the same
            return str(eio_sid)
    return None


def is_here(manager: Any, namespace: str, sid: str) -> bool:
    """The socket ``sid`` is one of this process's, connecting, connected or disconnecting."""
    return engine_id(manager, namespace, sid) is not None
