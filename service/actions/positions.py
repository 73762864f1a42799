"""Waiting visitors' places in line, told coalesced per desk.

Every start, claim, close or urgent flag can move every visitor waiting behind it. Telling each of
them per event made one event cost as much as the queue is long (a thousand waiting visitors, a
thousand sends per start). Instead, a change only marks its desk: the desk's queue is read once
at most every ``interval`` seconds (at once after a quiet spell) and only visitors whose place
differs from the one last told get a ``status``. A new chat at the end of the line moves nobody,
so it costs no send at all. What was told is kept in memory, or in Redis for several processes,
whose tellings of one desk then take turns (``cluster/places.py``).

A new chat's visitor joins its room before the chat is written (``start_consultation``), so a
telling never records a place as told that went to an empty room.

Each telling also carries the desk's expected wait (``domain/waits.py``), read from the
database at most once a minute per desk, and again after each claim this process makes there.

And it says whether anyone is online to answer (``staffed``: ``domain/staffing.py``, from
``cluster/presence.py``'s staff presence). The record of what was told keeps each place with
that answer (a place told while nobody was online is recorded negative), so when the last
counselor of a desk goes, or the first one comes, every visitor waiting there hears of it once,
though no place moved. A change of who is online only marks the desks whose staffing it
changed; the telling itself is the one above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from service.clock import iso, utcnow
from service.cluster.places import MemoryPlaces, ToldPlaces
from service.domain.accounts import User
from service.domain.conversations import queue_positions
from service.domain.staffing import staffed_desks, staffing_changed
from service.domain.waits import SAMPLES, WINDOW, expected_wait, waited_seconds
from service.realtime.rooms import VISITOR, conversation_room

if TYPE_CHECKING:  # the context holds this object
    from service.context import Context

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 2.0
WAIT_FRESH_SECONDS = 60.0


class QueuePositions:
    def __init__(self, interval: float = INTERVAL_SECONDS, told: ToldPlaces | None = None) -> None:
        self.interval = interval
        self.told = told if told is not None else MemoryPlaces()
        """Per desk: the place last told to each conversation waiting there."""
        self.due: dict[int, asyncio.Task[None]] = {}
        self.last_told: dict[int, float] = {}
        self.waits: dict[int, tuple[float, dict[str, int] | None]] = {}
        """Per desk: when its expected wait was read, and what it was."""

    async def expected_wait(self, ctx: Context, desk_id: int) -> dict[str, int] | None:
        """The desk's expected wait as sent to visitors, or None when unknown."""
        now = time.monotonic()
        cached = self.waits.get(desk_id)
        if cached is not None and now - cached[0] < WAIT_FRESH_SECONDS:
            return cached[1]
        rows = await ctx.store.recent_waits(desk_id, iso(utcnow() - WINDOW), SAMPLES)
        found = expected_wait([waited_seconds(created, claimed) for created, claimed in rows])
        wire = found.wire() if found else None
        self.waits[desk_id] = (now, wire)
        return wire

    async def staffed(self, ctx: Context, desk_id: int) -> bool:
        """Whether an account that works the desk is online and available, here or on another
        process."""
        staff = ctx.shared.staff
        return desk_id in staffed_desks(await staff.answering(), ctx.catalog.accounts, [desk_id])

    def staff_changed(
        self,
        ctx: Context,
        before: frozenset[int],
        after: frozenset[int],
        *,
        gone: User | None = None,
    ) -> None:
        """Who answers (online and available) went from ``before`` to ``after``: the visitors
        waiting at a desk that became staffed or unstaffed hear of it soon. ``gone`` is the
        account of a socket that left, with the rights it connected with: its account may have
        lost them since."""
        accounts = ctx.catalog.accounts
        then = None if gone is None else {**accounts, gone.id: gone}
        desks = [d.id for d in ctx.catalog.desks.values()]
        for desk_id in sorted(staffing_changed(before, after, accounts, desks, then=then)):
            self.desk_changed(ctx, desk_id)

    def claimed(self, desk_id: int) -> None:
        """A chat of ``desk_id`` was claimed: its expected wait is read afresh next time."""
        self.waits.pop(desk_id, None)

    def desk_changed(self, ctx: Context, desk_id: int) -> None:
        """The queue of ``desk_id`` changed: tell its waiting visitors soon, once for every
        change until then."""
        if desk_id in self.due:
            return  # the telling already due reads the queue after this change
        wait = self.last_told.get(desk_id, -self.interval) + self.interval - time.monotonic()
        self.due[desk_id] = asyncio.create_task(
            self._tell_after(ctx, desk_id, max(wait, 0.0)), name=f"madoguchi-positions-{desk_id}"
        )

    async def close(self) -> None:
        for task in list(self.due.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tell_after(self, ctx: Context, desk_id: int, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            # Before the read: a change made while it runs schedules the next telling.
            del self.due[desk_id]
        self.last_told[desk_id] = time.monotonic()
        try:
            await self._tell(ctx, desk_id)
        except Exception:  # the next change tells again; the visitor can also ask (start)
            log.warning("telling queue positions failed", exc_info=True)

    async def _tell(self, ctx: Context, desk_id: int) -> None:
        async with self.told.turn(desk_id):
            positions = queue_positions(await ctx.store.list_open_conversations([desk_id]))
            staffed = await self.staffed(ctx, desk_id) if positions else True
            heard = {c: place if staffed else -place for c, place in positions.items()}
            told = await self.told.swap(desk_id, heard)
            wait = await self.expected_wait(ctx, desk_id) if positions else None
            for conversation_id, position in positions.items():
                if told.get(conversation_id) == heard[conversation_id]:
                    continue
                await ctx.sio.emit(
                    "status",
                    {
                        "status": "waiting",
                        "queue_position": position,
                        "expected_wait": wait,
                        "staffed": staffed,
                    },
                    room=conversation_room(conversation_id),
                    namespace=VISITOR,
                )
