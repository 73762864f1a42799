"""The ``/counselor`` namespace: logged-in staff, authenticated by the inbox session cookie.

Counselors, supervisors and admins (who have a supervisor's rights here) connect.
Every event first passes the role check (``access.check_event``), then asks ``access`` for the
conversation. Casework and supervisors' events live in ``casework.py`` and ``supervisor.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from service import access
from service.actions.availability import tell_availability
from service.actions.casework import set_summary
from service.actions.conversations import claim_conversation, close_conversation
from service.actions.messages import post_message, send_typing
from service.actions.queue import send_queue
from service.actions.training import after_reply
from service.auth import session_id_from_cookie_header, user_of_session
from service.context import Context
from service.domain.casework import normalise_summary
from service.domain.messages import history_page, normalise_body
from service.errors import AppError, ErrorCode
from service.protocol import (
    CaseCloseRequest,
    ConversationRequest,
    CounselorHistoryRequest,
    CounselorMessageRequest,
    decode,
)
from service.realtime.acks import Handler, refuse
from service.realtime.availability import AvailabilityHandlers
from service.realtime.casework import CaseworkHandlers
from service.realtime.rooms import (
    COUNSELOR,
    conversation_room,
    user_room,
)
from service.realtime.supervisor import SupervisorHandlers
from service.storage import sha256
from service.wire import message_payload


class CounselorNamespace(CaseworkHandlers, SupervisorHandlers, AvailabilityHandlers):
    def __init__(self, ctx: Context) -> None:
        super().__init__(COUNSELOR)
        self.ctx = ctx
        rate, burst = ctx.settings.counselor_message_rate, ctx.settings.counselor_message_burst
        self.limits = {
            "message": (rate, burst),
            "typing": (4.0, 10),
            "history": (4.0, 20),
            "case": (4.0, 20),
            "note": (2.0, 10),
            "supervisor_note": (2.0, 10),
            "tag": (4.0, 10),
            "risk": (2.0, 10),
            "summary": (2.0, 10),
            "transfer": (1.0, 5),
            "monitor": (4.0, 20),
            "availability": (2.0, 10),
            "board": (2.0, 10),
        }
        # Who is online changed on another process (or one died): the visitors waiting at a
        # desk that became staffed or unstaffed hear of it. Changes here are told at once.
        self.staff = ctx.shared.staff
        self.staff.listeners.append(partial(ctx.positions.staff_changed, ctx))
        self.staff.listeners.append(lambda before, after: ctx.board.changed(ctx))

    def handlers(self) -> Mapping[str, Handler]:
        events: dict[str, Handler] = {
            "claim": self.claim,
            "history": self.history,
            "typing": self.typing,
            "close": self.close,
            "case": self.case,
            "note": self.note,
            "tag": self.tag,
            "risk": self.risk,
            "summary": self.summary,
            "transfer": self.transfer,
            "monitor": self.monitor,
            "unmonitor": self.unmonitor,
            "supervisor_note": self.supervisor_note,
            "availability": self.availability,
            "board": self.board,
        }
        checked = {event: self._for_role(event, handler) for event, handler in events.items()}
        return {"message": self.message, **checked}  # checks the role itself

    def _for_role(self, event: str, handler: Handler) -> Handler:
        async def checked(sid: str, data: Any) -> Mapping[str, Any]:
            access.check_event(await self._user(sid), event)
            return await handler(sid, data)

        return checked

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # The cookie is SameSite=Strict, but a socket is not bound by CORS: check the Origin
        # too, so a page elsewhere cannot ride a counselor's login.
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin != self.ctx.settings.origin:
            raise refuse(ErrorCode.ORIGIN_NOT_ALLOWED)
        session_id = session_id_from_cookie_header(environ.get("HTTP_COOKIE"))
        user = await user_of_session(self.ctx.store, self.ctx.settings, session_id)
        if user is None:
            raise refuse(ErrorCode.UNAUTHORIZED, "please log in")
        # The login session is remembered so that logging out drops this socket too.
        await self.save_session(sid, {"user": user, "login": sha256(session_id or "")})
        # Rights are decided once per socket: when the account's role, desks or active flag
        # change, the catalog's reload drops the sockets of that account (actions/accounts.py)
        # and the client reconnects with its current rights. Dropping, rather than reading the
        # account again per event, also takes the socket out of the desk and alert rooms its
        # old rights put it in. The account is read again once this socket is in the
        # account's room, so that a change from then on finds it there.
        await self.enter_room(sid, user_room(user.id))
        current = await self.ctx.store.get_user(user.username)
        if current is None or not access.same_rights(user, current):
            raise refuse(ErrorCode.UNAUTHORIZED, "please log in again")
        if not access.may_work_inbox(current):
            raise refuse(ErrorCode.FORBIDDEN, "this account may not work the inbox")
        await self.save_session(sid, {"user": current, "login": sha256(session_id or "")})
        for room in access.staff_rooms(current, self.ctx.catalog.desks.values()):
            await self.enter_room(sid, room)
        user = current
        for conv in await self.ctx.store.list_held_conversations(user.id):
            await self.enter_room(sid, conversation_room(conv.id))
        await send_queue(self.ctx, sid, user)
        await tell_availability(self.ctx, sid, user.id)
        # Online only now, with every check passed: waiting visitors of a desk nobody worked
        # until now hear that someone may answer (unless the account is away).
        before = await self.staff.answering()
        await self.staff.connected(sid, user.id)
        self.ctx.positions.staff_changed(self.ctx, before, await self.staff.answering())
        self.ctx.board.changed(self.ctx)

    async def on_disconnect(self, sid: str, reason: str = "") -> None:
        try:
            await self._gone(sid)
        finally:  # last, and whatever failed: a board it opened meanwhile is forgotten too
            self.ctx.board.watchers.closed(sid)

    async def _gone(self, sid: str) -> None:
        # Counted with the rights it connected with: a socket dropped because its account was
        # deactivated or moved to other desks leaves the desks it worked unstaffed too.
        try:
            gone = (await self.get_session(sid)).get("user")
        except KeyError:  # refused before its session was saved
            gone = None
        before = await self.staff.answering()
        await self.staff.leaving(sid)
        after = await self.staff.answering()
        self.ctx.positions.staff_changed(self.ctx, before, after, gone=gone)
        self.ctx.board.changed(self.ctx)

    async def claim(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        conv, account = await access.conversation_to_claim(
            self.ctx.store, await self._user(sid), req.conversation_id
        )
        if conv.status == "closed":
            raise AppError(ErrorCode.CONVERSATION_CLOSED)
        if conv.status != "waiting":
            raise AppError(ErrorCode.ALREADY_CLAIMED, "another counselor took this conversation")
        await claim_conversation(self.ctx, account, conv)
        return {"conversation": {"id": conv.id, "status": "active"}}

    async def message(self, sid: str, data: Any) -> dict[str, Any]:
        user = await self._user(sid)
        access.check_event(user, "message")
        req = decode(data, CounselorMessageRequest)
        ack = await post_message(
            self.ctx,
            req.conversation_id,
            author="counselor",
            user_id=user.id,
            client_id=req.client_id,
            body=normalise_body(req.body),
            sender_sid=sid,
            writer=user.display_name,
        )
        after_reply(self.ctx, req.conversation_id)  # a scripted practice visitor answers
        return ack

    async def history(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, CounselorHistoryRequest)
        user = await self._user(sid)
        await access.conversation_to_read(self.ctx.store, user, req.conversation_id)
        found = await self.ctx.store.get_history(req.conversation_id, req.after_seq, req.limit)
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND)
        conv, messages, more = found
        messages, more = history_page(messages, more)
        return {
            "conversation_id": conv.id,
            "status": conv.status,
            "messages": [
                message_payload(m, with_client_id=m.author == "counselor", for_staff=True)
                for m in messages
            ],
            "more": more,
        }

    async def typing(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, ConversationRequest)
        access.check_typing(req.conversation_id, self.rooms(sid), await self._watching(sid))
        await send_typing(self.ctx, req.conversation_id, to_side="visitor")
        return {}

    async def close(self, sid: str, data: Any) -> dict[str, Any]:
        req = decode(data, CaseCloseRequest)
        user = await self._user(sid)
        conv, holder = await access.conversation_to_close(self.ctx.store, user, req.conversation_id)
        # The summary first: if the visitor leaves at the same moment, it is kept all the same;
        # and if someone else saved one meanwhile, nothing closes (``summary_conflict``).
        if req.summary is not None:
            await set_summary(self.ctx, user, conv, normalise_summary(req.summary), req.base)
        await close_conversation(self.ctx, conv, outcome=req.outcome, by=user, holder_id=holder)
        return {}
