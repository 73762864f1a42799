"""Keeping counselors' queues and waiting visitors' places in line current."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service import access
from service.context import Context
from service.domain.accounts import User
from service.domain.conversations import Conversation, queue_order, queue_positions
from service.realtime.rooms import COUNSELOR, VISITOR, conversation_room, desk_room
from service.wire import queue_item


def queue_payload(ctx: Context, user: User, open_conversations: Sequence[Conversation]) -> Any:
    items = []
    for conv in queue_order(c for c in open_conversations if access.sees_in_queue(user, c)):
        desk = ctx.catalog.desk_by_id(conv.desk_id)
        partner = ctx.catalog.partner_by_id(conv.partner_id)
        items.append(
            queue_item(
                conv,
                desk_key=desk.key if desk else "",
                partner_key=partner.key if partner and not partner.is_default else None,
                counselor=conv.counselor_name,
                mine=conv.counselor_id == user.id,
            )
        )
    return {"conversations": items}


async def send_queue(ctx: Context, sid: str, user: User) -> None:
    open_conversations = await ctx.store.list_open_conversations(user.desk_ids)
    payload = queue_payload(ctx, user, open_conversations)
    await ctx.sio.emit("queue", payload, to=sid, namespace=COUNSELOR)


async def queue_changed(ctx: Context, desk_id: int) -> None:
    """Tell every counselor working ``desk_id`` their new queue, and every visitor waiting at it
    their new place in line."""
    open_conversations = await ctx.store.list_open_conversations(None)
    for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, desk_room(desk_id))):
        user = (await ctx.sio.get_session(sid, namespace=COUNSELOR)).get("user")
        if user is not None:
            payload = queue_payload(ctx, user, open_conversations)
            await ctx.sio.emit("queue", payload, to=sid, namespace=COUNSELOR)
    at_desk = [c for c in open_conversations if c.desk_id == desk_id]
    for conversation_id, position in queue_positions(at_desk).items():
        await ctx.sio.emit(
            "status",
            {"status": "waiting", "queue_position": position},
            room=conversation_room(conversation_id),
            namespace=VISITOR,
        )
