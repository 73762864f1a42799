"""Counselor training in the real inbox: practice chats played from a scenario's script, the
record of who role-plays which scenario, and reviews.

A scripted chat is an ordinary conversation on a practice desk, held by the trainee from the
start; the server plays its visitor, appending the scenario's lines as visitor messages through
the store and delivering them as every message is delivered, so the trainee's inbox shows them
in the same thread. Nothing here ever applies to a conversation outside a practice desk.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence

from service import access
from service.actions.conversations import claim_conversation, close_conversation
from service.actions.messages import deliver
from service.auth import user_of_session
from service.context import Context
from service.domain.accounts import User
from service.domain.conversations import Conversation
from service.domain.directory import Desk
from service.domain.training import Scenario
from service.errors import AppError, ErrorCode

log = logging.getLogger(__name__)
_turns: set[asyncio.Task[None]] = set()
"""Script turns under way (a task is kept referenced until it ends)."""
_scripted: dict[str, bool] = {}
"""Whether each chat a counselor wrote in lately is scripted (see :func:`is_scripted`)."""
_SCRIPTED_MEMORY = 10_000


async def scenario_of(ctx: Context, scenario_id: int, *, live: bool = True) -> Scenario:
    """The scenario ``scenario_id`` (not archived, if ``live``); NOT_FOUND otherwise."""
    found = next((s for s in await ctx.store.list_scenarios() if s.id == scenario_id), None)
    if found is None or (live and found.archived):
        raise AppError(ErrorCode.NOT_FOUND, "no such scenario")
    return found


async def start_scripted(ctx: Context, user: User, desk: Desk, scenario: Scenario) -> str:
    """Open a practice chat at ``desk`` held by ``user`` whose visitor the server plays from
    ``scenario``; its first line is sent at once. Returns the conversation's id."""
    if not access.may_practise(user, desk):
        raise AppError(ErrorCode.NOT_FOUND, "no such practice desk")
    topics = {t.key for t in await ctx.store.list_topic_tags() if t.enabled}
    topic = scenario.topic if scenario.topic in topics else None
    # Nobody holds the visitor's token: the script is the only visitor this chat has.
    conv = await ctx.store.insert_conversation(
        secrets.token_urlsafe(16), secrets.token_urlsafe(32), desk.id, None, None, "ja", topic
    )
    await ctx.store.insert_practice_session(conv.id, scenario.id, "scripted", None)
    _scripted[conv.id] = True
    if topic is not None:
        await ctx.store.set_tags(conv.id, [topic])
    await claim_conversation(ctx, user, conv)
    await play_turn(ctx, conv.id)
    return conv.id


async def play_turn(ctx: Context, conversation_id: str) -> None:
    """The scripted visitor's turn, if one is due: its next line, or the note that the script
    ended; a scenario that ends by quick exit then closes the chat as a visitor's quick exit
    would."""
    step = await ctx.store.advance_script(conversation_id)
    if step is None:
        return
    for message in step.messages:
        await deliver(ctx, message, sender_sid=None)
    if step.leave:
        conv = await ctx.store.get_conversation(conversation_id)
        if conv is not None and conv.status != "closed":
            await close_conversation(ctx, conv, outcome="visitor_left", by=None, quick_exit=True)


def after_reply(ctx: Context, conversation_id: str) -> None:
    """A counselor's message was stored: if its chat is scripted, the visitor's next turn
    follows, in a task of its own so that the counselor's ack does not wait for it. Without
    any practice desk this costs nothing; a chat already known not to be scripted neither."""
    if not any(d.practice for d in ctx.catalog.desks.values()):
        return
    if _scripted.get(conversation_id) is False:
        return
    task = asyncio.create_task(_turn_if_scripted(ctx, conversation_id))
    _turns.add(task)
    task.add_done_callback(_turns.discard)


async def _turn_if_scripted(ctx: Context, conversation_id: str) -> None:
    try:
        if await is_scripted(ctx, conversation_id):
            await play_turn(ctx, conversation_id)
    except Exception:
        # The trainee's message is safe; only the script's next line is late (their next
        # reply brings it).
        log.exception("a practice script's turn failed")


async def is_scripted(ctx: Context, conversation_id: str) -> bool:
    """Whether the server plays this chat's visitor: asked of the store once per chat and
    process, then remembered. The answer never changes once a counselor can write in the chat
    (its practice record comes before anyone holds it), so it holds on every process and
    after a restart, when it is simply asked again."""
    known = _scripted.get(conversation_id)
    if known is None:
        known = bool(await ctx.store.scripted_among([conversation_id]))
        if len(_scripted) >= _SCRIPTED_MEMORY:
            _scripted.clear()  # forgetting only costs a read
        _scripted[conversation_id] = known
    return known


async def scripted_chats(ctx: Context, conversations: Sequence[Conversation]) -> set[str]:
    """Those of ``conversations`` whose visitor the server plays (asked only of practice
    desks' chats)."""
    practice = [c.id for c in conversations if ctx.catalog.is_practice(c.desk_id)]
    return await ctx.store.scripted_among(practice) if practice else set()


async def record_roleplay(ctx: Context, conv: Conversation, session_id: str | None) -> None:
    """A staff member started a chat at a practice desk, playing its visitor: record it as a
    role-played practice chat, with the scenario they chose for that desk (or none)."""
    if not ctx.catalog.is_practice(conv.desk_id) or not session_id:
        return
    player = await user_of_session(ctx.store, ctx.settings, session_id)
    if player is None:
        return
    scenario_id = await ctx.store.chosen_scenario(player.id, conv.desk_id)
    await ctx.store.insert_practice_session(conv.id, scenario_id, "roleplay", player.id)
    _scripted[conv.id] = False
