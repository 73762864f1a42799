"""Available (対応可能) or away (離席中): an account's own, live state.

It is the account's, so every socket of it agrees: a change goes to the account's room, on every
process. An away account is online but answers nobody new: waiting visitors of a desk it alone
worked hear that nobody is online (``domain/staffing.py``), and its inbox plays no new-chat
alert. A login makes the account available again, so that nobody stays away by a forgotten
click of a day before.
"""

from __future__ import annotations

from typing import Literal

from service.context import Context
from service.realtime.rooms import COUNSELOR, user_room

State = Literal["available", "away"]


def state_of(away: bool) -> State:
    return "away" if away else "available"


async def set_availability(ctx: Context, user_id: int, state: State) -> None:
    """Sets the account's state; its sockets, the visitors waiting at its desks and the
    supervisors' boards hear of a change."""
    staff = ctx.shared.staff
    before = await staff.answering()
    if not await staff.set_away(user_id, state == "away"):
        return
    await ctx.sio.emit(
        "availability", {"state": state}, room=user_room(user_id), namespace=COUNSELOR
    )
    ctx.positions.staff_changed(ctx, before, await staff.answering())
    ctx.board.changed(ctx)


async def tell_availability(ctx: Context, sid: str, user_id: int) -> None:
    """A socket that just connected learns its account's state."""
    away = user_id in await ctx.shared.staff.away()
    await ctx.sio.emit("availability", {"state": state_of(away)}, to=sid, namespace=COUNSELOR)
