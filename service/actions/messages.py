"""Posting messages and typing notices."""

from __future__ import annotations

from service.context import Context
from service.db.store import StoredMessage
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
) -> StoredMessage:
    stored = await ctx.store.insert_message(conversation_id, author, user_id, client_id, body)
    # A resend of a stored message is answered but not delivered again.
    if stored.created:
        await deliver(ctx, stored.message, sender_sid=sender_sid)
    return stored


async def deliver(ctx: Context, message: Message, *, sender_sid: str | None) -> None:
    """Send a committed message to both sides of its conversation.

    The client_id goes only to the author's own side (their other tabs use it to de-duplicate);
    the sending socket has its ack and is skipped.
    """
    room = conversation_room(message.conversation_id)
    for namespace, side in ((VISITOR, "visitor"), (COUNSELOR, "counselor")):
        own = message.author == side
        if own and not _others_in(ctx, namespace, room, sender_sid):
            continue  # usually the sender is alone on its side: skip an emit to nobody
        await ctx.sio.emit(
            "message",
            message_payload(message, with_client_id=own),
            room=room,
            namespace=namespace,
            skip_sid=sender_sid if own else None,
        )


def _others_in(ctx: Context, namespace: str, room: str, sender_sid: str | None) -> bool:
    return any(sid != sender_sid for sid, _ in ctx.sio.manager.get_participants(namespace, room))


async def send_typing(ctx: Context, conversation_id: str, *, to_side: Author) -> None:
    namespace = VISITOR if to_side == "visitor" else COUNSELOR
    payload = {} if to_side == "visitor" else {"conversation_id": conversation_id}
    await ctx.sio.emit(
        "typing", payload, room=conversation_room(conversation_id), namespace=namespace
    )
