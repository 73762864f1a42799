"""Casework that staff see live: notes, tags, risk (with the urgent alert), the handoff summary,
transfers and supervisors' notes. Nothing here is ever sent to the ``/visitor`` namespace but the
transfer's bare "another counselor" system message and status.
"""

from __future__ import annotations

from typing import Any

from service.actions.accounts import move_account
from service.actions.conversations import waiting_status
from service.actions.messages import deliver
from service.actions.queue import queue_changed
from service.clock import now_iso
from service.context import Context
from service.domain.accounts import User
from service.domain.casework import case_payload
from service.domain.conversations import Conversation
from service.errors import AppError, ErrorCode
from service.realtime.rooms import (
    COUNSELOR,
    VISITOR,
    conversation_room,
    supervisors_room,
    user_room,
)


async def send_case(ctx: Context, conversation_id: str, *, to: str | None = None) -> None:
    """The whole case to the staff in the conversation's room (its holder and the supervisors
    watching it), or to one socket."""
    case = await ctx.store.get_case(conversation_id)
    if case is None:
        return
    target: dict[str, Any] = {"to": to} if to else {"room": conversation_room(conversation_id)}
    await ctx.sio.emit("case", case_payload(case), namespace=COUNSELOR, **target)


async def add_note(ctx: Context, user: User, conv: Conversation, body: str) -> None:
    await ctx.store.insert_note(conv.id, user.id, body)
    await send_case(ctx, conv.id)


async def set_tags(ctx: Context, conv: Conversation, keys: list[str]) -> None:
    await ctx.store.set_tags(conv.id, keys)
    await send_case(ctx, conv.id)


async def set_summary(
    ctx: Context, user: User, conv: Conversation, summary: str | None, base: str | None
) -> str:
    """Save the handoff summary written on revision ``base``; returns the new revision. Refused
    with ``summary_conflict`` if someone saved another text since: never overwritten unseen."""
    revision = await ctx.store.set_summary(conv.id, user.id, summary, base)
    await send_case(ctx, conv.id)
    return revision


async def set_risk(ctx: Context, user: User, conv: Conversation, level: str) -> None:
    """A new risk level; ``urgent`` moves the conversation up the queue and alerts every
    online supervisor of its desk at once: a visitor in danger must not wait on one busy
    counselor."""
    before = await ctx.store.set_risk(conv.id, level)
    await send_case(ctx, conv.id)
    if before == level:
        return
    if level == "urgent":
        await alert_supervisors(ctx, conv, by=user.display_name)
    await queue_changed(ctx, conv.id, conv.desk_id)


async def mark_urgent_by_visitor(ctx: Context, conv: Conversation) -> None:
    """The visitor chose "in danger right now": first in the queue, the casework's risk level
    ``urgent`` by itself, and every online supervisor of the desk hears of it at once, as when
    a counselor flags a chat urgent. A counselor may lower the risk afterwards; a repeated
    choice does not raise it again."""
    if await ctx.store.mark_urgent(conv.id):
        try:
            await ctx.store.set_risk(conv.id, "urgent")
        except AppError as exc:  # closed in the meantime: nobody is left to alert
            if exc.code != ErrorCode.CONVERSATION_CLOSED:
                raise
            return
        await send_case(ctx, conv.id)
        await alert_supervisors(ctx, conv, by=None)
        await queue_changed(ctx, conv.id, conv.desk_id)


async def alert_supervisors(ctx: Context, conv: Conversation, *, by: str | None) -> None:
    """``by`` is the counselor's display name, or None when the visitor raised it."""
    desk = ctx.catalog.desk_by_id(conv.desk_id)
    alert = {
        "conversation_id": conv.id,
        "level": "urgent",
        "desk": desk.key if desk else "",
        "by": by,
        "at": now_iso(),
    }
    await ctx.sio.emit("alert", alert, room=supervisors_room(conv.desk_id), namespace=COUNSELOR)


async def send_supervisor_note(ctx: Context, user: User, conv: Conversation, body: str) -> None:
    """A supervisor's private note to the counselor holding the conversation
    (``access.conversation_to_advise``)."""
    await ctx.store.insert_note(conv.id, user.id, body, "supervisor", conv.counselor_id)
    await send_case(ctx, conv.id)


async def transfer(
    ctx: Context,
    user: User,
    conv: Conversation,
    *,
    to_user: User | None,
    to_desk_id: int,
    note: str | None,
) -> None:
    """Hand a conversation to a colleague or back to a desk's queue, with a note for staff.

    The visitor learns only that another counselor is taking over: a ``counselor_changed``
    system message and a status (the new holder's display name, or their place in line).
    """
    changed = await ctx.store.transfer_conversation(
        conv.id,
        user.id,
        conv.counselor_id,
        to_user,
        to_desk_id,
        note,
        ctx.settings.max_concurrent_chats,
    )
    room = conversation_room(conv.id)
    if conv.counselor_id is not None:
        await move_account(ctx, conv.counselor_id, conv.id, room, enter=False)
    if to_user is not None:
        await move_account(ctx, to_user.id, conv.id, room, enter=True)
    await deliver(ctx, changed, sender_sid=None)
    status: dict[str, Any] = {"status": "waiting"}
    if to_user is not None:
        status = {"status": "active", "counselor": to_user.display_name}
    await ctx.sio.emit(
        "status", {**status, "conversation_id": conv.id}, room=room, namespace=COUNSELOR
    )
    if to_user is None:
        # Back in a queue, maybe another desk's: its place comes with the next telling of
        # places; whether anyone there is online, and its phones, come now.
        status.update(await waiting_status(ctx, conv, to_desk_id))
    await ctx.sio.emit("status", status, room=room, namespace=VISITOR)
    if conv.counselor_id is not None:
        await ctx.sio.emit(
            "status",
            {"conversation_id": conv.id, "status": "transferred"},
            room=user_room(conv.counselor_id),
            namespace=COUNSELOR,
        )
    await send_case(ctx, conv.id)
    # The desk it left too: a move to another desk takes it out of that desk's queues.
    await queue_changed(ctx, conv.id, conv.desk_id, to_desk_id)
