"""Starting, claiming and closing conversations."""

from __future__ import annotations

import secrets
from typing import Any

from service.actions.accounts import move_account
from service.actions.messages import deliver
from service.actions.queue import queue_changed
from service.actions.visitor_desk import visitor_desk
from service.context import Context
from service.domain.accounts import User
from service.domain.conversations import Conversation, queue_positions
from service.domain.directory import Desk, Partner
from service.realtime.rooms import COUNSELOR, VISITOR, conversation_room


def new_conversation_id() -> str:
    return secrets.token_urlsafe(16)  # 128 bits: ids are never guessable or sequential


def new_token() -> str:
    return secrets.token_urlsafe(32)  # the visitor's only key; we keep just its SHA-256


async def start_consultation(
    ctx: Context,
    sid: str,
    *,
    desk: Desk,
    partner: Partner,
    campaign: str | None,
    lang: str,
    topic: str | None,
) -> tuple[Conversation, str]:
    token, conversation_id = new_token(), new_conversation_id()
    # The visitor's "what is it about" becomes the chat's first topic tag. Only a tag admins
    # keep enabled counts; any other is recorded as none, as an unknown campaign is.
    if topic is not None and not any(
        t.key == topic and t.enabled for t in await ctx.store.list_topic_tags()
    ):
        topic = None
    # The room first: a telling of places (positions.py) that reads the new chat from the
    # database then reaches its visitor, never an empty room.
    room = conversation_room(conversation_id)
    await ctx.sio.enter_room(sid, room, namespace=VISITOR)
    try:
        conv = await ctx.store.insert_conversation(
            conversation_id, token, desk.id, partner.id, campaign, lang, topic
        )
    except BaseException:
        await ctx.sio.leave_room(sid, room, namespace=VISITOR)
        raise
    if topic is not None:
        await ctx.store.set_tags(conv.id, [topic])
    await queue_changed(ctx, conv.id, desk.id)
    return conv, token


async def queue_position(ctx: Context, conv: Conversation) -> int | None:
    if conv.status != "waiting":
        return None
    return queue_positions(await ctx.store.list_open_conversations([conv.desk_id])).get(conv.id)


async def waiting_status(ctx: Context, conv: Conversation, desk_id: int) -> dict[str, Any]:
    """What a visitor waiting at ``desk_id`` is told besides their place: the expected wait,
    whether anyone is online to answer, and the desk itself, whose phones the widget shows
    when nobody is (it may not be the desk the page opened with, after a transfer)."""
    status: dict[str, Any] = {
        "expected_wait": await ctx.positions.expected_wait(ctx, desk_id),
        "staffed": await ctx.positions.staffed(ctx, desk_id),
    }
    desk = visitor_desk(ctx, desk_id, conv.lang)
    if desk is not None:
        status["desk"] = desk
    return status


async def send_status(ctx: Context, sid: str, conv: Conversation) -> None:
    """Tell a visitor who (re)connects with their token where their conversation stands."""
    status: dict[str, Any] = {"status": conv.status}
    if conv.status == "waiting":
        status["queue_position"] = await queue_position(ctx, conv)
        status.update(await waiting_status(ctx, conv, conv.desk_id))
    elif conv.status == "active" and conv.counselor_name:
        status["counselor"] = conv.counselor_name
    await ctx.sio.emit("status", status, to=sid, namespace=VISITOR)


async def claim_conversation(ctx: Context, user: User, conv: Conversation) -> None:
    joined = await ctx.store.claim_conversation(conv.id, user.id, ctx.settings.max_concurrent_chats)
    ctx.positions.claimed(conv.desk_id)
    room = conversation_room(conv.id)
    await move_account(ctx, user.id, conv.id, room, enter=True)
    status = {"status": "active", "counselor": user.display_name}
    await ctx.sio.emit("status", status, room=room, namespace=VISITOR)
    await ctx.sio.emit(
        "status", {**status, "conversation_id": conv.id}, room=room, namespace=COUNSELOR
    )
    await deliver(ctx, joined, sender_sid=None)
    await queue_changed(ctx, conv.id, conv.desk_id)


async def close_conversation(
    ctx: Context,
    conv: Conversation,
    *,
    outcome: str,
    by: User | None,
    quick_exit: bool = False,
    holder_id: int | None = None,
    system: bool = False,
) -> None:
    """Close by a counselor (``by``), by the visitor (``by=None``, maybe by quick exit), or by
    the service when the visitor has been gone too long (``system``). Only a conversation that
    ``holder_id`` holds closes, when given."""
    closed = await ctx.store.close_conversation(
        conv.id,
        outcome,
        "system" if system else "counselor" if by else "visitor",
        holder_id=holder_id,
        quick_exit=quick_exit,
    )
    room = conversation_room(conv.id)
    status: dict[str, Any] = {"status": "closed"}
    await deliver(ctx, closed, sender_sid=None)
    await ctx.sio.emit("status", status, room=room, namespace=VISITOR)
    for_counselor = {**status, "conversation_id": conv.id, "outcome": outcome}
    if quick_exit:
        for_counselor["quick_exit"] = True
    await ctx.sio.emit(
        "status",
        for_counselor,
        room=room,
        namespace=COUNSELOR,
    )
    await queue_changed(ctx, conv.id, conv.desk_id)
