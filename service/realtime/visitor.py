"""The ``/visitor`` namespace: anonymous visitors, identified only by their conversation token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service import access
from service.actions.casework import mark_urgent_by_visitor
from service.actions.conversations import (
    close_conversation,
    queue_position,
    send_status,
    start_consultation,
    waiting_status,
)
from service.actions.messages import post_message, send_typing
from service.actions.practice import practice_desk
from service.actions.queue import item_changed
from service.actions.training import record_roleplay
from service.auth import session_id_from_cookie_header
from service.clock import utcnow
from service.context import Context
from service.domain.directory import origin_allowed
from service.domain.messages import history_page, normalise_body
from service.domain.visitors import check_survey, normalise_code_word
from service.errors import AppError, ErrorCode
from service.protocol import (
    CodeWordRequest,
    EmptyRequest,
    LeaveRequest,
    StartRequest,
    SurveyRequest,
    VisitorAuth,
    VisitorHistoryRequest,
    VisitorMessageRequest,
    decode,
)
from service.realtime.acks import DispatchingNamespace, Handler, refuse
from service.realtime.addresses import client_address
from service.realtime.rooms import VISITOR, conversation_room
from service.wire import message_payload

DEFAULT_LANG = "ja"


class VisitorNamespace(DispatchingNamespace):
    def __init__(self, ctx: Context) -> None:
        super().__init__(VISITOR)
        self.ctx = ctx
        rate, burst = ctx.settings.visitor_message_rate, ctx.settings.visitor_message_burst
        self.limits = {
            "message": (rate, burst),
            "typing": (2.0, 5),
            "start": (1.0, 20),
            "history": (2.0, 10),
            "code_word": (1.0, 5),
            "survey": (0.5, 3),
        }
        self.addresses = ctx.shared.addresses
        self.presence = ctx.shared.presence

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "start": self.start,
            "message": self.message,
            "history": self.history,
            "typing": self.typing,
            "leave": self.leave,
            "code_word": self.code_word,
            "survey": self.survey,
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not await self.addresses.admit(sid, client_address(environ)):
            raise refuse(ErrorCode.RATE_LIMITED, "too many connections from your address")
        try:
            await self._connect(sid, environ, auth)
        except BaseException:
            await self.addresses.release(sid)
            raise

    async def on_disconnect(self, sid: str, reason: str = "") -> None:
        try:
            conversation_id = (await self.get_session(sid)).get("conversation_id")
        except KeyError:  # refused before its session was saved
            conversation_id = None
        # Out of the room and the address's count first: the counselors' queue must show the
        # visitor gone at once (the socket is in its other rooms until this handler returns),
        # and a visitor who connects again at once (a reload, a second tab) must find the
        # place this connection held.
        if conversation_id is not None:
            await self.leave_room(sid, conversation_room(conversation_id))
            await self.presence.left(conversation_id)
        await self.addresses.release(sid)
        if conversation_id is not None:
            await item_changed(self.ctx, conversation_id)

    async def _joined(self, sid: str, conversation_id: str) -> None:
        await self.enter_room(sid, conversation_room(conversation_id))
        # Marked at once, not at the next refresh: a visitor back on another process after
        # minutes away must count as present before the chat is closed as left.
        await self.presence.joined(conversation_id)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        try:
            creds = decode(auth, VisitorAuth)
        except AppError as exc:
            raise refuse(exc.code, exc.message) from None
        catalog = self.ctx.catalog
        partner = catalog.partners.get(creds.partner) if creds.partner else None
        if creds.partner is None:
            partner = catalog.default_partner()
        if partner is None or not partner.enabled:
            raise refuse(ErrorCode.UNKNOWN_PARTNER)
        if not origin_allowed(environ.get("HTTP_ORIGIN"), partner, self.ctx.settings.origin):
            raise refuse(ErrorCode.ORIGIN_NOT_ALLOWED)
        session: dict[str, Any] = {
            "partner": partner.key,
            # An unknown or ended campaign is recorded as none rather than refused.
            "campaign": campaign.code
            if (campaign := catalog.live_campaign(creds.campaign))
            else None,
            "lang": creds.lang or DEFAULT_LANG,
        }
        conv = None
        if creds.token is not None:
            conv = await self.ctx.store.get_conversation_by_token(creds.token)
            if conv is None:
                raise refuse(ErrorCode.INVALID_TOKEN, "unknown or expired token")
            session.update(conversation_id=conv.id, token=creds.token)
            await self._joined(sid, conv.id)
            await item_changed(self.ctx, conv.id)  # the queue shows the visitor back
        await self.save_session(sid, session)
        if conv is not None:
            await send_status(self.ctx, sid, conv)

    async def start(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, StartRequest)
        session = await self.get_session(sid)
        conv = await access.conversation_of_visitor(self.ctx.store, session)
        token = session.get("token")
        if conv is None or conv.status == "closed":
            if conv is not None:
                await self.leave_room(sid, conversation_room(conv.id))
            # The partner as the catalog has it now, not as it was when this socket connected:
            # a partner disabled since then takes no new chats from its open pages either.
            partner = self.ctx.catalog.partners.get(session["partner"])
            if partner is None or not partner.enabled:
                raise AppError(ErrorCode.UNKNOWN_PARTNER, "this site no longer offers the chat")
            # Only a new conversation costs: a retried start of an open one creates nothing.
            if not await self.addresses.may_start(sid):
                raise AppError(ErrorCode.RATE_LIMITED, "too many new chats from your address")
            desk = self.ctx.catalog.desk_to_start(
                req.desk,
                partner,
                session["campaign"],
                practice_allowed=await self._may_practise(sid, req.desk),
            )
            # Only new chats wait for opening hours; a chat running past closing time goes on.
            if not self.ctx.catalog.open_now(desk, utcnow()):
                raise AppError(ErrorCode.DESK_CLOSED, "this desk is closed now; see its hours")
            conv, token = await start_consultation(
                self.ctx,
                sid,
                desk=desk,
                partner=partner,
                campaign=session["campaign"],
                lang=session["lang"],
                topic=req.topic,
            )
            session.update(conversation_id=conv.id, token=token)
            await self.save_session(sid, session)
            await self.presence.joined(conv.id)
            if desk.practice:  # counselor training: who plays this visitor, and which scenario
                environ = self.server.get_environ(sid, namespace=self.namespace) or {}
                login = session_id_from_cookie_header(environ.get("HTTP_COOKIE"))
                await record_roleplay(self.ctx, conv, login)
        # Also on a repeated start (a retry whose first answer was lost): the visitor said so.
        if req.urgent:
            await mark_urgent_by_visitor(self.ctx, conv)
        answer: dict[str, Any] = {
            "id": conv.id,
            "token": token,
            "status": conv.status,
            "queue_position": await queue_position(self.ctx, conv),
        }
        if conv.status == "waiting":
            # Nobody online to answer (``staffed``): the widget then says so and shows the
            # phone lines of the desk it waits at.
            answer.update(await waiting_status(self.ctx, conv, conv.desk_id))
        return {"conversation": answer}

    async def _may_practise(self, sid: str, key: str | None) -> bool:
        """Whether this socket may start a chat at the practice desk ``key``: staff playing
        the visitor, known by the login cookie their browser sent with the socket."""
        environ = self.server.get_environ(sid, namespace=self.namespace) or {}
        session_id = session_id_from_cookie_header(environ.get("HTTP_COOKIE"))
        return await practice_desk(self.ctx, key, session_id) is not None

    async def message(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, VisitorMessageRequest)
        conversation_id = access.conversation_id_of_visitor(await self.get_session(sid))
        ack = await post_message(
            self.ctx,
            conversation_id,
            author="visitor",
            user_id=None,
            client_id=req.client_id,
            body=normalise_body(req.body),
            sender_sid=sid,
        )
        if ack["seq"] == 1:  # the first words: the waiting chat's queue item shows them
            await item_changed(self.ctx, conversation_id)
        return ack

    async def history(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, VisitorHistoryRequest)
        conversation_id = access.conversation_id_of_visitor(await self.get_session(sid))
        found = await self.ctx.store.get_history(conversation_id, req.after_seq, req.limit)
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND)
        conv, messages, more = found
        messages, more = history_page(messages, more)
        return {
            "status": conv.status,
            "messages": [
                message_payload(m, with_client_id=m.author == "visitor") for m in messages
            ],
            "more": more,
        }

    async def typing(self, sid: str, data: Any) -> dict[str, Any]:
        decode(data, EmptyRequest)
        conversation_id = access.conversation_id_of_visitor(await self.get_session(sid))
        await send_typing(self.ctx, conversation_id, to_side="counselor")
        return {}

    async def leave(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, LeaveRequest)
        session = await self.get_session(sid)
        conv = await access.conversation_of_visitor(self.ctx.store, session)
        if conv is None:
            raise AppError(ErrorCode.NO_CONVERSATION, "start a conversation first")
        if conv.status != "closed":
            try:
                await close_conversation(
                    self.ctx,
                    conv,
                    outcome="visitor_left",
                    by=None,
                    quick_exit=req.reason == "quick_exit",
                )
            except AppError as exc:
                # The counselor closed it in the meantime: the visitor is out all the same.
                if exc.code != ErrorCode.CONVERSATION_CLOSED:
                    raise
        return {}

    async def code_word(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, CodeWordRequest)
        conversation_id = access.conversation_id_of_visitor(await self.get_session(sid))
        # For the handoff summary; never logged, never sent to anyone but staff.
        await self.ctx.store.set_code_word(conversation_id, normalise_code_word(req.word))
        return {}

    async def survey(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, SurveyRequest)
        conversation_id = access.conversation_id_of_visitor(await self.get_session(sid))
        answer = check_survey(req.rating, req.helpful, req.comment)
        await self.ctx.store.insert_survey(conversation_id, answer)
        return {}
