"""The sockets of this process that have a supervisors' board open.

A socket is counted once it has joined its desks' board rooms (``board`` on ``/counselor``) and
forgotten when it disconnects, whatever else its disconnect does. The board is read only while
some socket here watches it, or always when several processes share Redis (a board on another
process may be watching). Our own count rather than python-socketio's room tables, which its
manager does not document.
"""

from __future__ import annotations


class BoardWatchers:
    def __init__(self) -> None:
        self.sids: set[str] = set()

    def opened(self, sid: str) -> None:
        self.sids.add(sid)

    def closed(self, sid: str) -> None:
        self.sids.discard(sid)

    def any(self) -> bool:
        return bool(self.sids)
