"""Casework events of ``/counselor``: ``case``, ``note``, ``tag``, ``risk``, ``summary`` and
``transfer``. None of them ever reaches the visitor."""

from __future__ import annotations

from typing import Any

from service import access
from service.actions import casework
from service.domain.casework import case_payload, check_tags, normalise_note, normalise_summary
from service.errors import AppError, ErrorCode
from service.protocol import (
    ConversationRequest,
    NoteRequest,
    RiskRequest,
    SummaryRequest,
    TagRequest,
    TransferRequest,
    decode,
)
from service.realtime.staff import StaffNamespace


class CaseworkHandlers(StaffNamespace):
    async def case(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        conv = await access.conversation_to_read(
            self.ctx.store, await self._user(sid), req.conversation_id
        )
        found = await self.ctx.store.get_case(conv.id)
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND)
        return {"case": case_payload(found)}

    async def note(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, NoteRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_work(self.ctx.store, user, req.conversation_id)
        await casework.add_note(self.ctx, user, conv, normalise_note(req.body))
        return {}

    async def tag(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, TagRequest)
        conv = await access.conversation_to_work(
            self.ctx.store, await self._user(sid), req.conversation_id
        )
        enabled = [t.key for t in await self.ctx.store.list_topic_tags() if t.enabled]
        tags = check_tags(req.tags, enabled)
        await casework.set_tags(self.ctx, conv, tags)
        return {"tags": tags}

    async def risk(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, RiskRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_work(self.ctx.store, user, req.conversation_id)
        await casework.set_risk(self.ctx, user, conv, req.level)
        return {"level": req.level}

    async def summary(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, SummaryRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_work(self.ctx.store, user, req.conversation_id)
        revision = await casework.set_summary(
            self.ctx, user, conv, normalise_summary(req.summary), req.base
        )
        return {"summary_at": revision}

    async def transfer(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, TransferRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_work(self.ctx.store, user, req.conversation_id)
        to_user, desk_id = await access.transfer_target(
            self.ctx.store, self.ctx.catalog.desks, conv, to_user=req.to_user, to_desk=req.to_desk
        )
        note = normalise_note(req.note) if req.note and req.note.strip() else None
        await casework.transfer(
            self.ctx, user, conv, to_user=to_user, to_desk_id=desk_id, note=note
        )
        return {}
