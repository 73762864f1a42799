"""Erasing what people wrote once the retention period after a conversation's close has passed:
``madoguchi purge``, and in the service once at start and then daily (see ``db/retention.py``)."""

from __future__ import annotations

import asyncio
import logging

from service.clock import utcnow
from service.context import Context
from service.domain.audit import Actor
from service.domain.retention import PURGE_BATCH, PURGE_INTERVAL_SECONDS, purge_cutoff
from service.storage import Store

log = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor("system")


async def purge_expired_content(
    store: Store, days: int, actor: Actor, vacuum: bool, practice_days: int | None = None
) -> int:
    """Erase the content of every conversation closed more than ``days`` days ago, and of
    practice desks' conversations closed more than ``practice_days`` days ago; returns how
    many conversations were purged. The storage then drops what it still keeps of the erased
    content in its logs (compacting the whole database first if ``vacuum``)."""
    now, total = utcnow(), 0
    if practice_days is not None:
        practice_cutoff = purge_cutoff(now, practice_days)
        while purged := await store.purge_closed_before(
            actor, practice_cutoff, PURGE_BATCH, practice_only=True
        ):
            total += purged
    cutoff = purge_cutoff(now, days)
    while purged := await store.purge_closed_before(actor, cutoff, PURGE_BATCH):
        total += purged
    if (total or vacuum) and not await store.forget_erased(compact=vacuum):
        log.warning("a reader kept the log in use: erased content leaves it at the next purge")
    return total


async def purge_daily(ctx: Context) -> None:
    """Runs until cancelled; a fault in one round is logged and the next round goes on. With
    several processes, one of them runs it (``cluster/jobs.py``)."""
    while True:
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
        await purge_logged(ctx)


async def purge_logged(ctx: Context) -> None:
    try:
        purged = await purge_expired_content(
            ctx.store,
            ctx.settings.retention_days,
            SYSTEM_ACTOR,
            vacuum=False,
            practice_days=ctx.settings.practice_retention_days,
        )
    except Exception:
        log.exception("erasing expired content failed")
        return
    if purged:
        log.info("erased the content of %d conversations", purged)
