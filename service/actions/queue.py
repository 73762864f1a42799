"""Keeping counselors' queues and waiting visitors' places in line current.

A counselor gets the whole queue once, on connect (``queue``), then one ``queue_update`` per
conversation that changes: the cost of a start, claim or close does not grow with the queue.
Waiting visitors learn their new places coalesced per desk (``positions.py``). With several
processes, each tells the counselors connected to it (``cluster/broadcast.py``).

An item also says whether the visitor is connected (``present``, from ``cluster/presence.py``;
the process that saw the change decides it and publishes it with the order) and, to those who
work the desk, the first words of the visitor's first message while the chat waits
(``preview``). The preview is sealed content: it is read through the store on each process,
never published to Redis, never logged; a process keeps the previews of waiting chats in
memory until the chat is claimed or closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from service import access
from service.cluster.broadcast import Order
from service.context import Context
from service.domain.accounts import User
from service.domain.conversations import Conversation, queue_order
from service.realtime.rooms import COUNSELOR, desk_room
from service.wire import queue_item

QUEUE = "queue"
PREVIEW_CHARS = 40
"""How much of the visitor's first message a queue item shows."""
PREVIEW_SCAN = 10
"""How many of a conversation's first messages are read to find the visitor's first."""
PREVIEWS_KEPT = 5000
"""At most this many previews in a process's memory (all are forgotten past it)."""


KNOWN: dict[str, str] = {}
"""The previews of waiting chats this process has read, by conversation id (random, so one
table serves every context of a process)."""


def shorten(body: str) -> str:
    """The first ``PREVIEW_CHARS`` characters on one line, with an ellipsis if cut."""
    line = " ".join(body.split())
    return line if len(line) <= PREVIEW_CHARS else line[:PREVIEW_CHARS] + "…"


async def preview(ctx: Context, conv: Conversation) -> str | None:
    """The start of the visitor's first message, while the conversation waits."""
    if conv.status != "waiting":
        KNOWN.pop(conv.id, None)
        return None
    known = KNOWN
    if conv.id in known:
        return known[conv.id]
    messages, _ = await ctx.store.list_messages(conv.id, 0, PREVIEW_SCAN)
    first = next((m.body for m in messages if m.author == "visitor"), None)
    if first is None:  # nothing written yet: read again when the first message comes
        return None
    if len(known) >= PREVIEWS_KEPT:
        known.clear()
    known[conv.id] = shorten(first)
    return known[conv.id]


@dataclass(frozen=True)
class Details:
    """What a queue item shows beyond the conversation itself, read once for all counselors."""

    present: frozenset[str] = frozenset()
    """The conversations whose visitor is connected."""
    previews: dict[str, str] = field(default_factory=dict)


async def connected(ctx: Context, conversations: Sequence[Conversation]) -> set[str]:
    """Those of ``conversations`` whose visitor is there: connected, or the server itself
    playing a scripted practice chat (which no counselor should see marked as gone)."""
    present = set(await ctx.shared.presence.present([c.id for c in conversations]))
    practice = [c.id for c in conversations if ctx.catalog.is_practice(c.desk_id)]
    if practice:
        present |= await ctx.store.scripted_among(practice)
    return present


async def details(ctx: Context, conversations: Sequence[Conversation]) -> Details:
    present = await connected(ctx, conversations)
    previews: dict[str, str] = {}
    for conv in conversations:
        if (text := await preview(ctx, conv)) is not None:
            previews[conv.id] = text
    return Details(frozenset(present), previews)


def item_for(
    ctx: Context, user: User, conv: Conversation, found: Details | None = None
) -> dict[str, Any]:
    found = found or Details()
    desk = ctx.catalog.desk_by_id(conv.desk_id)
    partner = ctx.catalog.partner_by_id(conv.partner_id)
    item = queue_item(
        conv,
        desk_key=desk.key if desk else "",
        partner_key=partner.key if partner and not partner.is_default else None,
        counselor=conv.counselor_name,
        mine=conv.counselor_id == user.id,
    )
    item["topic"] = conv.topic  # the topic tag the visitor chose at start, or None
    item["present"] = conv.id in found.present
    # A practice chat, played by staff for training: the inbox badges it 練習.
    item["practice"] = bool(desk and desk.practice)
    if item["practice"]:
        item["source"] = "practice"  # played by staff: it came from no page of the public's
    # Sealed words: only to those who work the conversation's desk.
    if user.works_desk(conv.desk_id) and conv.id in found.previews:
        item["preview"] = found.previews[conv.id]
    return item


async def queue_payload(
    ctx: Context, user: User, open_conversations: Sequence[Conversation]
) -> Any:
    ordered = queue_order(c for c in open_conversations if access.sees_in_queue(user, c))
    found = await details(ctx, ordered)
    return {"conversations": [item_for(ctx, user, conv, found) for conv in ordered]}


async def send_queue(ctx: Context, sid: str, user: User) -> None:
    open_conversations = await ctx.store.list_open_conversations(user.desk_ids)
    payload = await queue_payload(ctx, user, open_conversations)
    await ctx.sio.emit("queue", payload, to=sid, namespace=COUNSELOR)


async def queue_changed(ctx: Context, conversation_id: str, *desk_ids: int) -> None:
    """One conversation was started, claimed, closed, flagged or moved: every counselor working
    its desk (or ``desk_ids``, the desk it left) gets it as it is now, or its removal; the
    visitors waiting there hear of their places soon, and the supervisors' boards of it."""
    conv = await ctx.store.get_conversation(conversation_id)
    desks = await tell_everywhere(ctx, conversation_id, conv, desk_ids)
    for desk_id in desks:
        ctx.positions.desk_changed(ctx, desk_id)
    ctx.board.changed(ctx)


async def item_changed(ctx: Context, conversation_id: str) -> None:
    """Something only the queue shows changed (the visitor came or went, or wrote their first
    message): the counselors hear of it; the places in line did not move."""
    conv = await ctx.store.get_conversation(conversation_id)
    if conv is not None and conv.status != "closed":
        await tell_everywhere(ctx, conversation_id, conv, ())


async def tell_everywhere(
    ctx: Context, conversation_id: str, conv: Conversation | None, desk_ids: Sequence[int]
) -> list[int]:
    desks = sorted({*desk_ids, *([conv.desk_id] if conv else [])})
    present = conv is not None and conv.id in await connected(ctx, [conv])
    await tell_counselors_here(ctx, conversation_id, conv, desks, present=present)
    order = {"conversation_id": conversation_id, "desks": desks, "present": present}
    await ctx.shared.orders.publish(QUEUE, order)
    return desks


async def queue_order_heard(ctx: Context, order: Order) -> None:
    """Another process's queue change: this process tells its own counselors."""
    conversation_id: str = order["conversation_id"]
    conv = await ctx.store.get_conversation(conversation_id)
    present = bool(order.get("present", False))
    await tell_counselors_here(ctx, conversation_id, conv, order["desks"], present=present)


async def tell_counselors_here(
    ctx: Context,
    conversation_id: str,
    conv: Conversation | None,
    desks: list[int],
    *,
    present: bool,
) -> None:
    """The counselors on this process working ``desks`` get the conversation as their rights
    show it, or its removal. ``present``: whether its visitor is connected, as the process
    that saw the change found it."""
    found = Details()
    if conv is not None and conv.status != "closed":
        text = await preview(ctx, conv)
        found = Details(
            frozenset([conv.id] if present else []), {conv.id: text} if text is not None else {}
        )
    else:
        KNOWN.pop(conversation_id, None)
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
                "conversation": item_for(ctx, user, conv, found) if shown and conv else None,
            }
            await ctx.sio.emit("queue_update", update, to=sid, namespace=COUNSELOR)
