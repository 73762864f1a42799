"""What every handler of the ``/counselor`` namespace shares: the context and the logged-in user.

The namespace is split by area (``counselor.py``: the chat itself; ``casework.py``: notes, tags,
risk, transfers, summaries; ``supervisor.py``: watching and supervisors' notes); each handler
asks ``access`` for the conversation, so the one gate decides everywhere.
"""

from __future__ import annotations

from typing import Any

from service.context import Context
from service.domain.accounts import User
from service.realtime.acks import DispatchingNamespace


class StaffNamespace(DispatchingNamespace):
    ctx: Context

    async def _user(self, sid: str) -> User:
        """The account as it was when this socket connected: a change of its role, desks or
        active flag drops the socket (``actions/accounts.drop_outdated_sockets``)."""
        user: User = (await self.get_session(sid))["user"]
        return user

    async def _watching(self, sid: str) -> set[str]:
        """The conversations this socket watches read-only (a supervisor's ``monitor``)."""
        session: dict[str, Any] = await self.get_session(sid)
        watching: set[str] = session.setdefault("watching", set())
        return watching
