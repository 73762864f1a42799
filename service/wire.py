"""How domain objects look on the wire (server → client payloads). Pure functions."""

from __future__ import annotations

from typing import Any

from service.domain.conversations import Conversation, Message, source_of


def message_payload(
    message: Message, *, with_client_id: bool, for_staff: bool = False
) -> dict[str, Any]:
    """``for_staff`` adds who wrote a counselor's message (``user_id`` and ``writer``, the
    display name): visitors only ever see "counselor", never a counselor's name or id."""
    payload: dict[str, Any] = {
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "author": message.author,
        "body": message.body,
        "created_at": message.created_at,
    }
    if with_client_id and message.client_id is not None:
        payload["client_id"] = message.client_id
    if for_staff and message.author == "counselor" and message.user_id is not None:
        payload["user_id"] = message.user_id
        payload["writer"] = message.writer
    return payload


def queue_item(
    conv: Conversation,
    *,
    desk_key: str,
    partner_key: str | None,
    counselor: str | None,
    mine: bool,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": conv.id,
        "status": conv.status,
        "desk": desk_key,
        "lang": conv.lang,
        "source": source_of(partner_key, conv.campaign),
        "waiting_since": conv.created_at,
        "urgent": conv.urgent,
        "mine": mine,
        "risk": conv.risk,
        "claimed_at": conv.claimed_at,
    }
    if counselor is not None:
        item["counselor"] = counselor
    return item
