"""Posting messages and typing notices."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from service.context import Context
from service.domain.conversations import Author, Message
from service.realtime.rooms import COUNSELOR, VISITOR, conversation_room
from service.wire import message_payload


async def post_message(
    ctx: Context,
    conversation_id: str,
    *,
    author: Author,
    user_id: int | None,
    client_id: str,
    body: str,
    sender_sid: str,
    writer: str | None = None,
) -> dict[str, Any]:
    """Store a message; once it is durable, deliver it to both sides of the conversation and
    return the fields of the sender's ack.

    The write is queued before the first real await, so one connection's messages are stored in
    the order they were sent (realtime/acks.py). A retry of a stored message (``created`` is
    False) stores nothing and is delivered again: its first try may have been committed and
    never delivered (a crash between the two), and clients ignore a ``seq`` they already have.
    ``writer`` is the counselor's display name, which their colleagues see on the message.
    """
    stored = await ctx.store.append_message(conversation_id, author, user_id, client_id, body)
    message = replace(stored.message, user_id=user_id, writer=writer)
    await deliver(ctx, message, sender_sid=sender_sid)
    return {"seq": stored.message.seq, "created_at": stored.message.created_at}


async def deliver(ctx: Context, message: Message, *, sender_sid: str | None) -> None:
    """Send a committed message to both sides of its conversation.

    The client_id goes only to the author's own side (their other tabs use it to de-duplicate);
    the sending socket has its ack and is skipped. Only staff learn which counselor wrote it.
    """
    room = conversation_room(message.conversation_id)
    for namespace, side in ((VISITOR, "visitor"), (COUNSELOR, "counselor")):
        own = message.author == side
        await ctx.sio.emit(
            "message",
            message_payload(message, with_client_id=own, for_staff=namespace == COUNSELOR),
            room=room,
            namespace=namespace,
            skip_sid=sender_sid if own else None,
        )


async def send_typing(ctx: Context, conversation_id: str, *, to_side: Author) -> None:
    namespace = VISITOR if to_side == "visitor" else COUNSELOR
    payload = {} if to_side == "visitor" else {"conversation_id": conversation_id}
    await ctx.sio.emit(
        "typing", payload, room=conversation_room(conversation_id), namespace=namespace
    )
