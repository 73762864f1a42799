"""Account changes that must also reach live sockets: a deactivated account or a reset
password ends the sessions in the database (``db/admin.py``) and, here, the open inbox sockets."""

from __future__ import annotations

from service.context import Context
from service.db.store import sha256
from service.realtime.rooms import COUNSELOR, user_room


async def disconnect_user(ctx: Context, user_id: int) -> None:
    """Drop every ``/counselor`` socket of the account; reconnecting needs a new login."""
    for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(user_id))):
        await ctx.sio.disconnect(sid, namespace=COUNSELOR)


async def log_out(ctx: Context, session_id: str) -> None:
    """End one login: its session row and the inbox sockets opened with it (security.md row 20)."""
    user = await ctx.store.get_session_user(session_id, idle_since="")
    await ctx.store.delete_session(session_id)
    if user is None:
        return
    login = sha256(session_id)
    for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(user.id))):
        session = await ctx.sio.get_session(sid, namespace=COUNSELOR)
        if session.get("login") == login:
            await ctx.sio.disconnect(sid, namespace=COUNSELOR)


async def drop_other_logins(ctx: Context, user_id: int, *, keep_session_id: str) -> None:
    """After a password change: the account's sockets of every other login go at once (their
    sessions ended in the same transaction as the change); this login's stay."""
    keep = sha256(keep_session_id)
    for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(user_id))):
        session = await ctx.sio.get_session(sid, namespace=COUNSELOR)
        if session.get("login") != keep:
            await ctx.sio.disconnect(sid, namespace=COUNSELOR)
