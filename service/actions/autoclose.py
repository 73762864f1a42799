"""Closing conversations whose visitor has gone: no visitor socket in the conversation for
``MADOGUCHI_VISITOR_GONE_MINUTES`` closes it as "visitor left": a chat left
open invites someone else at the device to read or write in it.

A background task started in the application's lifespan looks every few seconds; with several
processes, one of them runs it (``cluster/jobs.py``) and asks where visitors are connected across
all of them (``cluster/presence.py``). Absence is timed from when the task first saw the
conversation without a visitor, in the memory of the task: after a restart, or when the task
moves to another process, every visitor gets the full time to reconnect again. Closing late is
safe; closing early is not.

A scripted practice chat has no visitor to lose: it closes as "no reply" when nothing has been
written in it for the same time, the trainee having left it (or the script having ended).
"""

from __future__ import annotations

import asyncio
import logging
import time

from service.actions.conversations import close_conversation
from service.actions.queue import connected
from service.actions.training import scripted_chats
from service.context import Context
from service.domain.casework import autoclose_interval, gone_too_long
from service.domain.training import IDLE_OUTCOME, idle_key
from service.errors import AppError, ErrorCode

log = logging.getLogger(__name__)


async def close_gone_conversations(
    ctx: Context, missing_since: dict[str, float], now: float
) -> int:
    """One look: remember who is missing since when, close those gone too long. Returns how
    many closed."""
    minutes = ctx.settings.visitor_gone_minutes
    open_conversations = await ctx.store.list_open_conversations(None)
    # A scripted practice chat's visitor is the server, never gone, but its trainee may be:
    # its silence is timed instead, under a key that each new message in it changes.
    scripted = await scripted_chats(ctx, open_conversations)
    keys = {
        c.id: idle_key(c.id, c.last_seq) if c.id in scripted else c.id for c in open_conversations
    }
    for forgotten in set(missing_since) - set(keys.values()):
        del missing_since[forgotten]
    present = await connected(ctx, open_conversations) - scripted
    closed = 0
    for conv in open_conversations:
        key = keys[conv.id]
        if conv.id in present:
            missing_since.pop(key, None)
            continue
        since = missing_since.setdefault(key, now)
        if not gone_too_long(since, now, minutes):
            continue
        del missing_since[key]
        outcome = IDLE_OUTCOME if conv.id in scripted else "visitor_left"
        try:
            await close_conversation(ctx, conv, outcome=outcome, by=None, system=True)
            closed += 1
        except AppError as exc:  # closed by someone else meanwhile
            if exc.code != ErrorCode.CONVERSATION_CLOSED:
                raise
    return closed


async def watch_gone_visitors(ctx: Context) -> None:
    """Runs until cancelled; a fault in one round is logged and the next round goes on."""
    minutes = ctx.settings.visitor_gone_minutes
    if minutes <= 0:
        return
    missing_since: dict[str, float] = {}
    while True:
        await asyncio.sleep(autoclose_interval(minutes))
        try:
            await close_gone_conversations(ctx, missing_since, time.monotonic())
        except Exception:
            log.exception("closing conversations of visitors who left failed")
