"""The authorization gate: who may touch which conversation, and what an account's rights let
its sockets hear.

A conversation that does not exist and one the caller may not touch give the same
``not_found``, so ids cannot be probed. Writes check the holder again inside their transaction
(``service/db/``), so a close or transfer cannot slip in between.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from service.domain.accounts import User
from service.domain.casework import is_supervisor, may_send, works_inbox
from service.domain.conversations import Conversation
from service.domain.directory import Desk
from service.domain.visitors import normalise_code_word
from service.errors import AppError, ErrorCode
from service.realtime.rooms import conversation_room, desk_room, supervisors_room, user_room
from service.storage import Store

# -- visitors -----------------------------------------------------------------------------------


def conversation_id_of_visitor(session: Mapping[str, Any]) -> str:
    """A visitor's socket reaches only the conversation its token (or its ``start``) opened."""
    conversation_id = session.get("conversation_id")
    if conversation_id is None:
        raise AppError(ErrorCode.NO_CONVERSATION, "start a conversation first")
    return str(conversation_id)


async def conversation_of_visitor(store: Store, session: Mapping[str, Any]) -> Conversation | None:
    conversation_id = session.get("conversation_id")
    return None if conversation_id is None else await store.get_conversation(conversation_id)


# -- staff accounts -----------------------------------------------------------------------------


def check_event(user: User, event: str) -> None:
    """An event the user's role may never send is ``forbidden``, whatever its payload."""
    if not may_send(user.role, event):
        raise AppError(ErrorCode.FORBIDDEN, "your role may not do this")


def may_work_inbox(user: User) -> bool:
    """An active account of a role that answers chats."""
    return user.active and works_inbox(user.role)


def same_rights(then: User, now: User | None) -> bool:
    """Whether an account still has the rights a socket was given: its role, desks and active
    flag. Anything else (a display name) may change under an open socket."""
    return (
        now is not None
        and now.active == then.active
        and now.role == then.role
        and now.desk_ids == then.desk_ids
    )


def desks_worked(user: User, desks: Iterable[Desk]) -> list[Desk]:
    """The desks whose chats, canned responses and records the user works with."""
    return [d for d in desks if user.works_desk(d.id)]


def staff_rooms(user: User, desks: Iterable[Desk]) -> set[str]:
    """The rooms a staff socket joins for its account: its own, the queue of each desk it
    works, and the urgent alerts of those desks for supervisors. A conversation's room is joined
    by holding or watching it."""
    rooms = {user_room(user.id)}
    for desk in desks_worked(user, desks):
        rooms.add(desk_room(desk.id))
        if is_supervisor(user.role):
            rooms.add(supervisors_room(desk.id))
    return rooms


def sees_in_queue(user: User, conv: Conversation) -> bool:
    """An open conversation appears in the queue of whoever works its desk."""
    return user.works_desk(conv.desk_id)


def may_take(user: User, desk_id: int) -> bool:
    """Whether a conversation at ``desk_id`` may be handed to ``user``: an active staff account
    that works that desk (the transfer's transaction checks it again)."""
    return may_work_inbox(user) and user.works_desk(desk_id)


def may_practise(user: User, desk: Desk) -> bool:
    """Whether the user may play a visitor at ``desk``: a practice desk they work."""
    return desk.practice and may_work_inbox(user) and user.works_desk(desk.id)


def colleagues(user: User, accounts: Iterable[User]) -> list[User]:
    """Whom the user may offer a chat to: other active staff (the transfer checks the desk,
    :func:`may_take`)."""
    return [a for a in accounts if a.id != user.id and may_work_inbox(a)]


def sees_canned(user: User, desk_id: int | None) -> bool:
    """Canned responses for every desk (None), and those of the desks the user works."""
    return desk_id is None or user.works_desk(desk_id)


def may_edit_canned(user: User, desk_id: int | None) -> bool:
    """A supervisor edits the canned responses of the desks they work; those for every desk
    only if they work every desk."""
    return user.desk_ids is None if desk_id is None else user.works_desk(desk_id)


# -- live conversations -------------------------------------------------------------------------


async def conversation_to_claim(
    store: Store, user: User, conversation_id: str
) -> tuple[Conversation, User]:
    """A conversation on one of the desks the counselor works now, with their account as it is
    now: the account is read again, as its desks may have changed since the socket connected."""
    account = await store.get_user(user.username)
    conv = await store.get_conversation(conversation_id)
    if conv is None or account is None or not may_take(account, conv.desk_id):
        raise AppError(ErrorCode.NOT_FOUND)
    return conv, account


async def conversation_to_read(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation whose messages and case the user may read: an open one they hold or held
    before a transfer, any on a supervisor's desks; a closed one as :func:`may_open_closed`."""
    conv = await _found(store, conversation_id)
    if conv.status == "closed":
        allowed = may_open_closed(user, conv)
    else:
        allowed = (
            _holds(user, conv)
            or _supervises(user, conv)
            or await store.was_held_by(conv.id, user.id)
        )
    if not allowed:
        raise AppError(ErrorCode.NOT_FOUND)
    return conv


async def conversation_to_work(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation the user may add casework to: the one a counselor holds (or held last,
    once closed), any on a supervisor's desks."""
    conv = await _found(store, conversation_id)
    if _holds(user, conv) or _supervises(user, conv):
        return conv
    raise AppError(ErrorCode.NOT_FOUND)


async def conversation_to_close(
    store: Store, user: User, conversation_id: str
) -> tuple[Conversation, int | None]:
    """An open conversation the user may close, and the holder it must still have when the
    close commits: a counselor closes only the chat they hold; a supervisor any chat of their
    desks, waiting ones too."""
    conv = await conversation_to_work(store, user, conversation_id)
    if conv.status == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    if _supervises(user, conv):
        return conv, conv.counselor_id
    if conv.status == "waiting":
        raise AppError(ErrorCode.NOT_FOUND)
    return conv, user.id


async def conversation_to_watch(store: Store, user: User, conversation_id: str) -> Conversation:
    """Any conversation on a supervisor's desks (the role itself is checked before)."""
    conv = await store.get_conversation(conversation_id)
    if conv is None or not _supervises(user, conv):
        raise AppError(ErrorCode.NOT_FOUND)
    return conv


async def conversation_to_advise(store: Store, user: User, conversation_id: str) -> Conversation:
    """A conversation on a supervisor's desks that someone holds: a supervisor's note goes to
    its holder."""
    conv = await conversation_to_watch(store, user, conversation_id)
    if conv.status != "active" or conv.counselor_id is None:
        raise AppError(ErrorCode.NOT_FOUND, "nobody holds this conversation")
    return conv


def check_typing(conversation_id: str, rooms: Collection[str], watching: Collection[str]) -> None:
    """Typing goes to the visitor only from a socket that holds the conversation: holding put
    it in the room; a supervisor watching is in the room too, but only to read."""
    if conversation_room(conversation_id) not in rooms or conversation_id in watching:
        raise AppError(ErrorCode.NOT_FOUND)


async def transfer_target(
    store: Store,
    desks: Mapping[str, Desk],
    conv: Conversation,
    *,
    to_user: str | None,
    to_desk: str | None,
) -> tuple[User | None, int]:
    """Whom and which desk an open conversation may be handed to: a named desk (else its own),
    and a named colleague who may take chats of that desk (:func:`may_take`), not its holder."""
    if conv.status == "closed":
        raise AppError(ErrorCode.CONVERSATION_CLOSED)
    if to_user is None and to_desk is None:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "name a counselor, a desk, or both")
    desk_id = conv.desk_id
    if to_desk is not None:
        desk = desks.get(to_desk)
        if desk is None:
            raise AppError(ErrorCode.UNKNOWN_DESK, "no such desk")
        if desk.practice != is_practice(desks.values(), conv):
            # Training never mixes with real consultations, in either direction.
            raise AppError(ErrorCode.FORBIDDEN, "practice chats stay on practice desks")
        desk_id = desk.id
    if to_user is None:
        return None, desk_id
    taker = await store.get_user(to_user)
    if taker is None or taker.id == conv.counselor_id or not may_take(taker, desk_id):
        raise AppError(ErrorCode.UNKNOWN_USER, "nobody by that name can take it")
    return taker, desk_id


def is_practice(desks: Iterable[Desk], conv: Conversation) -> bool:
    """Whether a conversation is practice: its desk is (the flag never changes)."""
    return any(d.id == conv.desk_id and d.practice for d in desks)


# -- closed conversations -----------------------------------------------------------------------


def may_open_closed(user: User, conv: Conversation) -> bool:
    """A closed conversation's transcript and notes: for its last holder and the supervisors of
    its desk, while they work that desk."""
    return user.works_desk(conv.desk_id) and (_holds(user, conv) or is_supervisor(user.role))


def closed_list_scope(
    user: User, desks: Iterable[Desk], practice: bool = False
) -> tuple[list[int] | None, int | None]:
    """Which closed conversations the user may list: the desks they work (None: every desk)
    and, for a counselor, only those they held or handed on (the handoff by code word
    aside). Practice desks only if ``practice`` (one was chosen): the real view is real."""
    worked = desks_worked(user, desks)
    if practice or not any(d.practice for d in worked):
        desk_ids = None if user.desk_ids is None else [d.id for d in worked]
    else:
        desk_ids = [d.id for d in worked if not d.practice]
    return desk_ids, None if is_supervisor(user.role) else user.id


async def closed_record(
    store: Store, user: User, conversation_id: str, code_word: str
) -> tuple[Conversation, bool]:
    """A closed conversation of the user's desks to open, and whether in full
    (:func:`may_open_closed`). Anyone else working its desk gets the handoff only: a counselor
    who handed it on (it is in their list), or one who gives the code word the visitor told
    them."""
    conv = await store.get_conversation(conversation_id)
    if conv is None or conv.status != "closed" or not user.works_desk(conv.desk_id):
        raise AppError(ErrorCode.NOT_FOUND)
    if may_open_closed(user, conv):
        return conv, True
    if await store.was_held_by(conv.id, user.id):
        return conv, False
    try:
        word = normalise_code_word(code_word)
    except AppError:
        raise AppError(ErrorCode.NOT_FOUND) from None
    case = await store.get_case(conv.id)
    if case is None or case.code_word != word:
        raise AppError(ErrorCode.NOT_FOUND)
    return conv, False


def may_read_survey(user: User) -> bool:
    """A visitor's survey answers are for supervisors (the record is opened already)."""
    return is_supervisor(user.role)


async def _found(store: Store, conversation_id: str) -> Conversation:
    conv = await store.get_conversation(conversation_id)
    if conv is None:
        raise AppError(ErrorCode.NOT_FOUND)
    return conv


def _holds(user: User, conv: Conversation) -> bool:
    return conv.counselor_id == user.id


def _supervises(user: User, conv: Conversation) -> bool:
    return is_supervisor(user.role) and user.works_desk(conv.desk_id)
