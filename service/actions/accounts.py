"""Account changes that must also reach live sockets: a deactivated account or a reset
password ends the sessions in the database (``db/admin.py``) and, here, the open inbox sockets."""

from __future__ import annotations

from service.context import Context
from service.realtime.rooms import COUNSELOR, user_room


async def disconnect_user(ctx: Context, user_id: int) -> None:
    """Drop every ``/counselor`` socket of the account; reconnecting needs a new login."""
    for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(user_id))):
        await ctx.sio.disconnect(sid, namespace=COUNSELOR)
