"""The supervisors' live board: read, and told to those watching it when something on it changed.

A supervisor's board page asks for the board (``board`` on ``/counselor``): it gets the rows of
the desks it works, and its socket joins each desk's board room. From then on, whatever changes
a row (a staff socket connecting or going, an account setting itself away or available, a chat
started, claimed, closed, flagged or moved) marks the board changed; the board is read again at
most once every ``interval`` seconds (at once after a quiet spell) and each desk whose row
differs from the one last sent here goes to its room as ``board_desk``. Python-socketio's
manager carries a room's events to every process, so the process that saw the change tells
every board, and a process that notices another one died (``cluster/presence.py``'s listeners)
tells them too.

The longest wait is sent as when that visitor started, and the page counts it on: the board
needs no event while nothing happens, but for one at midnight in Tokyo, when the day's counts
start again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from service import access
from service.clock import iso, utcnow
from service.domain.accounts import User
from service.domain.desk_board import DeskRow, day_start, desk_rows, tally
from service.realtime.board_watchers import BoardWatchers
from service.realtime.rooms import COUNSELOR, board_room

if TYPE_CHECKING:  # the context holds this object
    from service.context import Context

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0


async def read_board(ctx: Context) -> list[DeskRow]:
    """Every real desk's row, as it is now. Practice desks and their chats count nowhere here:
    the board's figures are the real ones (a counselor's load included)."""
    staff = ctx.shared.staff
    since = iso(day_start(utcnow()))
    real = [d for d in ctx.catalog.desks.values() if not d.practice]
    real_ids = {d.id for d in real}
    return desk_rows(
        real,
        ctx.catalog.accounts,
        await staff.online(),
        await staff.away(),
        [c for c in await ctx.store.list_open_conversations(None) if c.desk_id in real_ids],
        tally(await ctx.store.day_activity(since), since),
        ctx.settings.max_concurrent_chats,
    )


async def board_for(ctx: Context, sid: str, user: User) -> dict[str, Any]:
    """The rows of the desks ``user`` works; ``sid`` hears of their changes from now on."""
    shown = {d.id for d in access.desks_worked(user, ctx.catalog.desks.values())}
    for desk_id in sorted(shown):
        await ctx.sio.enter_room(sid, board_room(desk_id), namespace=COUNSELOR)
    # Counted once in its rooms, and only while still connected: a socket that left meanwhile
    # (its disconnect forgets it) is in no room, its own included.
    if shown and ctx.sio.rooms(sid, namespace=COUNSELOR):
        ctx.board.watchers.opened(sid)
    rows = [row for row in await read_board(ctx) if row.desk_id in shown]
    return {"desks": [row.wire() for row in rows]}


class BoardTeller:
    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.due: asyncio.Task[None] | None = None
        self.last_told = -interval
        self.sent: dict[int, dict[str, Any]] = {}
        """Per desk: the row last sent from this process."""
        self.midnight: asyncio.TimerHandle | None = None
        """Tells the boards again when a new day begins (its counts start from zero)."""
        self.watchers = BoardWatchers()
        """The sockets of this process with a board open."""

    def changed(self, ctx: Context) -> None:
        """Something a board shows changed: the boards watching hear of it soon, once for
        every change until then."""
        if self.due is not None:
            return  # the telling already due reads the board after this change
        wait = max(self.last_told + self.interval - time.monotonic(), 0.0)
        self.due = asyncio.create_task(self._tell_after(ctx, wait), name="madoguchi-board")

    async def close(self) -> None:
        if self.midnight is not None:
            self.midnight.cancel()
        if self.due is not None:
            self.due.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.due

    async def _tell_after(self, ctx: Context, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            # Before the read: a change made while it runs schedules the next telling.
            self.due = None
        self.last_told = time.monotonic()
        self._tell_at_midnight(ctx)
        try:
            await self._tell(ctx)
        except Exception:  # the next change tells again; a reloaded page reads it afresh
            log.warning("telling the supervisors' board failed", exc_info=True)

    def _tell_at_midnight(self, ctx: Context) -> None:
        if self.midnight is not None:
            return
        now = utcnow()
        # Tokyo keeps no summer time: the next day begins 24 hours after this one did.
        wait = (day_start(now) + timedelta(days=1) - now).total_seconds()
        self.midnight = asyncio.get_running_loop().call_later(wait + 1.0, self._new_day, ctx)

    def _new_day(self, ctx: Context) -> None:
        self.midnight = None
        self.changed(ctx)

    async def _tell(self, ctx: Context) -> None:
        # On one process, nobody watching means nobody to tell; with several, a board on
        # another process may be watching.
        if ctx.shared.redis is None and not self.watchers.any():
            log.debug("nobody watches the board here: not read")
            self.sent.clear()
            return
        for row in await read_board(ctx):
            wire = row.wire()
            if self.sent.get(row.desk_id) == wire:
                continue
            self.sent[row.desk_id] = wire
            await ctx.sio.emit(
                "board_desk", wire, room=board_room(row.desk_id), namespace=COUNSELOR
            )
