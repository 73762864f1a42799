"""The authorization gate: who may touch which conversation.

As zulip's ``access_stream_common``: a conversation that does not exist and one the caller may
not touch give the same ``not_found``, so ids cannot be probed. Writes check the holder again
inside their transaction (``db.store``), so a close or transfer cannot slip in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.db.store import Store
from service.domain.accounts import User
from service.domain.casework import is_supervisor, may_send
from service.domain.conversations import Conversation
from service.errors import AppError, ErrorCode


def conversation_id_of_visitor(session: Mapping[str, Any]) -> str:
    """A visitor's socket reaches only the conversation its token (or its ``start``) opened."""
    conversation_id = session.get("conversation_id")
    if conversation_id is None:
        raise AppError(ErrorCode.NO_CONVERSATION, "start a conversation first")
    return str(conversation_id)


async def conversation_of_visitor(store: Store, session: Mapping[str, Any]) -> Conversation | None:
    conversation_id = session.get("conversation_id")
    return None if conversation_id is None else await store.get_conversation(conversation_id)


async def conversation_to_claim(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation on one of the counselor's desks."""
    conv = await store.get_conversation(conversation_id)
    if conv is None or not user.works_desk(conv.desk_id):
        raise AppError(ErrorCode.NOT_FOUND)
    return conv


async def conversation_held_by(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation the counselor holds or held."""
    conv = await store.get_conversation(conversation_id)
    if conv is None or conv.counselor_id != user.id:
        raise AppError(ErrorCode.NOT_FOUND)
    return conv


async def conversation_to_read(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation the user may read: a counselor's held or formerly held one, any on a
    supervisor's desks."""
    conv = await store.get_conversation(conversation_id)
    if conv is None:
        raise AppError(ErrorCode.NOT_FOUND)
    if _holds(user, conv) or (is_supervisor(user.role) and user.works_desk(conv.desk_id)):
        return conv
    if await store.was_held_by(conv.id, user.id):
        return conv
    raise AppError(ErrorCode.NOT_FOUND)


async def conversation_to_work(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation the user may add casework to: the one a counselor holds (or held last,
    once closed), any on a supervisor's desks."""
    conv = await store.get_conversation(conversation_id)
    if conv is None:
        raise AppError(ErrorCode.NOT_FOUND)
    if _holds(user, conv) or (is_supervisor(user.role) and user.works_desk(conv.desk_id)):
        return conv
    raise AppError(ErrorCode.NOT_FOUND)


async def conversation_to_watch(store: Store, user: User, conversation_id: str) -> Conversation:
    """Any conversation on a supervisor's desks (the role itself is checked before)."""
    conv = await store.get_conversation(conversation_id)
    if conv is None or not is_supervisor(user.role) or not user.works_desk(conv.desk_id):
        raise AppError(ErrorCode.NOT_FOUND)
    return conv


def check_event(user: User, event: str) -> None:
    """An event the user's role may never send is ``forbidden``, whatever its payload."""
    if not may_send(user.role, event):
        raise AppError(ErrorCode.FORBIDDEN, "your role may not do this")


def _holds(user: User, conv: Conversation) -> bool:
    return conv.counselor_id == user.id
