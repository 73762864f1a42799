"""Staff events of ``/counselor`` about people rather than chats: ``availability`` (an account
sets itself available or away; only its own state, as the socket's session names the account)
and ``board`` (a supervisor's live board of the desks they work: a counselor asking is answered
``forbidden`` before this code runs)."""

from __future__ import annotations

from typing import Any

from service.actions.availability import set_availability
from service.actions.board import board_for
from service.protocol import AvailabilityRequest, EmptyRequest, decode
from service.realtime.staff import StaffNamespace


class AvailabilityHandlers(StaffNamespace):
    async def availability(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, AvailabilityRequest)
        user = await self._user(sid)
        await set_availability(self.ctx, user.id, req.state)
        return {"state": req.state}

    async def board(self, sid: str, data: Any) -> dict[str, Any]:
        decode(data, EmptyRequest)
        return await board_for(self.ctx, sid, await self._user(sid))
