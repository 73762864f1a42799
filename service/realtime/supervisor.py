"""Supervisors' events of ``/counselor``: ``monitor`` and ``unmonitor`` (a read-only live view
of any chat on their desks) and ``supervisor_note`` (a private note to the counselor holding it).
A counselor sending any of them is answered ``forbidden`` before this code runs."""

from __future__ import annotations

from typing import Any

from service import access
from service.actions import casework
from service.domain.casework import case_payload, normalise_note
from service.errors import AppError, ErrorCode
from service.protocol import ConversationRequest, NoteRequest, decode
from service.realtime.rooms import conversation_room
from service.realtime.staff import StaffNamespace


class SupervisorHandlers(StaffNamespace):
    async def monitor(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_watch(self.ctx.store, user, req.conversation_id)
        room = conversation_room(conv.id)
        # Joining the room brings live messages, typing, status and case events; the watching
        # set keeps this socket from typing or writing as if it held the conversation.
        if conv.counselor_id != user.id:
            (await self._watching(sid)).add(conv.id)
        await self.enter_room(sid, room)
        found = await self.ctx.store.get_case(conv.id)
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND)
        return {
            "conversation": {
                "id": conv.id,
                "status": conv.status,
                "counselor": conv.counselor_name,
            },
            "case": case_payload(found),
        }

    async def unmonitor(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        watching = await self._watching(sid)
        if req.conversation_id in watching:
            watching.discard(req.conversation_id)
            await self.leave_room(sid, conversation_room(req.conversation_id))
        return {}

    async def supervisor_note(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, NoteRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_advise(self.ctx.store, user, req.conversation_id)
        await casework.send_supervisor_note(self.ctx, user, conv, normalise_note(req.body))
        return {}
