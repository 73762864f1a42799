"""Account changes that must also reach live sockets: a deactivated account or a reset
password ends the sessions in the database (``db/admin_staff.py``) and, here, the open inbox
sockets."""

from __future__ import annotations

from service import access
from service.context import Context
from service.realtime.rooms import COUNSELOR, user_room
from service.storage import sha256


async def disconnect_user(ctx: Context, user_id: int) -> None:
    """Drop every ``/counselor`` socket of the account; reconnecting needs a new login."""
    for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(user_id))):
        await ctx.sio.disconnect(sid, namespace=COUNSELOR)


async def drop_outdated_sockets(ctx: Context) -> None:
    """After the catalog reloads: every ``/counselor`` socket whose account's role, desks or
    active flag are no longer those it connected with is dropped, so that it reconnects with
    its current rights (a deactivated account's sessions ended with it: its reconnect is
    refused). The other sockets join the rooms of desks added since (an all-desks account)."""
    desks = list(ctx.catalog.desks.values())
    # Accounts are never deleted, so every socket is in the room of one the catalog knows.
    for account in list(ctx.catalog.accounts.values()):
        for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(account.id))):
            try:
                connected_as = (await ctx.sio.get_session(sid, namespace=COUNSELOR)).get("user")
            except KeyError:  # gone while this loop ran
                continue
            if connected_as is None or not access.same_rights(connected_as, account):
                await ctx.sio.disconnect(sid, namespace=COUNSELOR)
                continue
            joined = set(ctx.sio.rooms(sid, namespace=COUNSELOR))
            for room in access.staff_rooms(connected_as, desks) - joined:
                await ctx.sio.enter_room(sid, room, namespace=COUNSELOR)


async def log_out(ctx: Context, session_id: str) -> None:
    """End one login: its session row and the inbox sockets opened with it (an open socket
    must not outlive the login that opened it)."""
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
