"""The ``/counselor`` namespace: logged-in staff, authenticated by the inbox session cookie."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service import access
from service.actions.conversations import claim_conversation, close_conversation
from service.actions.messages import post_message, send_typing
from service.actions.queue import send_queue
from service.auth import session_id_from_cookie_header, user_of_session
from service.context import Context
from service.db.store import sha256
from service.domain.accounts import User
from service.domain.messages import normalise_body
from service.errors import AppError, ErrorCode
from service.protocol import (
    CloseRequest,
    ConversationRequest,
    CounselorHistoryRequest,
    CounselorMessageRequest,
    decode,
)
from service.realtime.acks import DispatchingNamespace, Handler, refuse
from service.realtime.rooms import COUNSELOR, conversation_room, desk_room, user_room
from service.wire import message_payload


class CounselorNamespace(DispatchingNamespace):
    def __init__(self, ctx: Context) -> None:
        super().__init__(COUNSELOR)
        self.ctx = ctx
        rate, burst = ctx.settings.counselor_message_rate, ctx.settings.counselor_message_burst
        self.limits = {"message": (rate, burst), "typing": (4.0, 10), "history": (4.0, 20)}

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "claim": self.claim,
            "message": self.message,
            "history": self.history,
            "typing": self.typing,
            "close": self.close,
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # The cookie is SameSite=Strict, but a socket is not bound by CORS: check the Origin
        # too, so a page elsewhere cannot ride a counselor's login (CVE-2019-13611).
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin != self.ctx.settings.origin:
            raise refuse(ErrorCode.ORIGIN_NOT_ALLOWED)
        session_id = session_id_from_cookie_header(environ.get("HTTP_COOKIE"))
        user = await user_of_session(self.ctx.store, self.ctx.settings, session_id)
        if user is None:
            raise refuse(ErrorCode.UNAUTHORIZED, "please log in")
        # The login session is remembered so that logging out drops this socket too.
        await self.save_session(sid, {"user": user, "login": sha256(session_id or "")})
        await self.enter_room(sid, user_room(user.id))
        for desk in self.ctx.catalog.desks.values():
            if user.works_desk(desk.id):
                await self.enter_room(sid, desk_room(desk.id))
        for conv in await self.ctx.store.list_held_conversations(user.id):
            await self.enter_room(sid, conversation_room(conv.id))
        await send_queue(self.ctx, sid, user)

    async def _user(self, sid: str) -> User:
        user: User = (await self.get_session(sid))["user"]
        return user

    async def claim(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        user = await self._user(sid)
        conv = await access.conversation_to_claim(self.ctx.store, user, req.conversation_id)
        if conv.status == "closed":
            raise AppError(ErrorCode.CONVERSATION_CLOSED)
        if conv.status != "waiting":
            raise AppError(ErrorCode.ALREADY_CLAIMED, "another counselor took this conversation")
        await claim_conversation(self.ctx, user, conv)
        return {"conversation": {"id": conv.id, "status": "active"}}

    async def message(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, CounselorMessageRequest)
        user = await self._user(sid)
        stored = await post_message(
            self.ctx,
            req.conversation_id,
            author="counselor",
            user_id=user.id,
            client_id=req.client_id,
            body=normalise_body(req.body),
            sender_sid=sid,
        )
        return {"seq": stored.message.seq, "created_at": stored.message.created_at}

    async def history(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, CounselorHistoryRequest)
        user = await self._user(sid)
        await access.conversation_held_by(self.ctx.store, user, req.conversation_id)
        found = await self.ctx.store.get_history(req.conversation_id, req.after_seq, req.limit)
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND)
        conv, messages, more = found
        return {
            "conversation_id": conv.id,
            "status": conv.status,
            "messages": [
                message_payload(m, with_client_id=m.author == "counselor") for m in messages
            ],
            "more": more,
        }

    async def typing(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        # Holding a conversation is what put this socket in its room.
        if conversation_room(req.conversation_id) not in self.rooms(sid):
            raise AppError(ErrorCode.NOT_FOUND)
        await send_typing(self.ctx, req.conversation_id, to_side="visitor")
        return {}

    async def close(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, CloseRequest)
        user = await self._user(sid)
        conv = await access.conversation_held_by(self.ctx.store, user, req.conversation_id)
        await close_conversation(self.ctx, conv, outcome=req.outcome, by=user)
        return {}
