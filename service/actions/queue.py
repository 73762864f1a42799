"""Keeping counselors' queues and waiting visitors' places in line current.

A counselor gets the whole queue once, on connect (``queue``), then one ``queue_update`` per
conversation that changes: the cost of a start, claim or close does not grow with the queue.
Waiting visitors learn their new places coalesced per desk (``positions.py``). With several
processes, each tells the counselors connected to it (``cluster/broadcast.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service import access
from service.cluster.broadcast import Order
from service.context import Context
from service.domain.accounts import User
from service.domain.conversations import Conversation, queue_order
from service.realtime.rooms import COUNSELOR, desk_room
from service.wire import queue_item

QUEUE = "queue"


def item_for(ctx: Context, user: User, conv: Conversation) -> dict[str, Any]:
    desk = ctx.catalog.desk_by_id(conv.desk_id)
    partner = ctx.catalog.partner_by_id(conv.partner_id)
    return queue_item(
        conv,
        desk_key=desk.key if desk else "",
        partner_key=partner.key if partner and not partner.is_default else None,
        counselor=conv.counselor_name,
        mine=conv.counselor_id == user.id,
    )


def queue_payload(ctx: Context, user: User, open_conversations: Sequence[Conversation]) -> Any:
    ordered = queue_order(c for c in open_conversations if access.sees_in_queue(user, c))
    return {"conversations": [item_for(ctx, user, conv) for conv in ordered]}


async def send_queue(ctx: Context, sid: str, user: User) -> None:
    open_conversations = await ctx.store.list_open_conversations(user.desk_ids)
    payload = queue_payload(ctx, user, open_conversations)
    await ctx.sio.emit("queue", payload, to=sid, namespace=COUNSELOR)


async def queue_changed(ctx: Context, conversation_id: str, *desk_ids: int) -> None:
    """One conversation was started, claimed, closed, flagged or moved: every counselor working
    its desk (or ``desk_ids``, the desk it left) gets it as it is now, or its removal; the
    visitors waiting there hear of their places soon."""
    conv = await ctx.store.get_conversation(conversation_id)
    desks = sorted({*desk_ids, *([conv.desk_id] if conv else [])})
    await tell_counselors_here(ctx, conversation_id, conv, desks)
    await ctx.shared.orders.publish(QUEUE, {"conversation_id": conversation_id, "desks": desks})
    for desk_id in desks:
        ctx.positions.desk_changed(ctx, desk_id)


async def queue_order_heard(ctx: Context, order: Order) -> None:
    """Another process's queue change: this process tells its own counselors."""
    conversation_id: str = order["conversation_id"]
    conv = await ctx.store.get_conversation(conversation_id)
    await tell_counselors_here(ctx, conversation_id, conv, order["desks"])


async def tell_counselors_here(
    ctx: Context, conversation_id: str, conv: Conversation | None, desks: list[int]
) -> None:
    """The counselors on this process working ``desks`` get the conversation as their rights
    show it, or its removal."""
    told: set[str] = set()
    for desk_id in desks:
        for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, desk_room(desk_id))):
            if sid in told:  # a socket of several desks hears of it once
                continue
            told.add(sid)
            try:
                user = (await ctx.sio.get_session(sid, namespace=COUNSELOR)).get("user")
            except KeyError:  # gone while this loop ran
                continue
            if user is None:
                continue
            shown = (
                conv is not None and conv.status != "closed" and access.sees_in_queue(user, conv)
            )
            update = {
                "id": conversation_id,
                "conversation": item_for(ctx, user, conv) if shown and conv else None,
            }
            await ctx.sio.emit("queue_update", update, to=sid, namespace=COUNSELOR)
