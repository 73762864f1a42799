"""Posting messages and typing notices."""

from __future__ import annotations

from service.context import Context
from service.domain.conversations import Author, Message
from service.realtime.acks import Reply, answer_of, ok
from service.realtime.rooms import COUNSELOR, VISITOR, conversation_room
from service.storage import StoredMessage
from service.wire import message_payload


def queue_message(
    ctx: Context,
    conversation_id: str,
    *,
    author: Author,
    user_id: int | None,
    client_id: str,
    body: str,
    sender_sid: str,
    reply: Reply,
) -> None:
    """Queue a message for the next commit; once it is durable, deliver it to both sides of
    the conversation and then acknowledge it to the sender with its ``seq``."""

    async def stored(outcome: tuple[bool, StoredMessage | Exception]) -> None:
        stored_ok, value = outcome
        if not stored_ok:
            assert isinstance(value, Exception)  # noqa: S101
            await reply(answer_of(value, f"{author} message"))
            return
        assert isinstance(value, StoredMessage)  # noqa: S101
        # A resend of a stored message is answered but not delivered again.
        if value.created:
            await deliver(ctx, value.message, sender_sid=sender_sid)
        await reply(ok(seq=value.message.seq, created_at=value.message.created_at))

    ctx.store.queue_message(conversation_id, author, user_id, client_id, body, stored)


async def deliver(ctx: Context, message: Message, *, sender_sid: str | None) -> None:
    """Send a committed message to both sides of its conversation.

    The client_id goes only to the author's own side (their other tabs use it to de-duplicate);
    the sending socket has its ack and is skipped.
    """
    room = conversation_room(message.conversation_id)
    for namespace, side in ((VISITOR, "visitor"), (COUNSELOR, "counselor")):
        own = message.author == side
        await ctx.sio.deliver(
            "message",
            message_payload(message, with_client_id=own),
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
