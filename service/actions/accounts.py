"""Account changes that must also reach live sockets, on every process of the service
(``cluster/broadcast.py``): a deactivated account or a reset password ends the sessions in the
database (``db/admin_staff.py``) and, here, the open inbox sockets; a claim or a transfer moves
the account's sockets into or out of the conversation's room."""

from __future__ import annotations

from typing import Any

from service import access
from service.cluster.broadcast import Order
from service.context import Context
from service.realtime.rooms import COUNSELOR, user_room
from service.storage import sha256

DROP = "drop"
ROOM = "room"


def sockets_of(ctx: Context, user_id: int) -> list[str]:
    """The account's ``/counselor`` sockets on this process."""
    return [sid for sid, _ in list(ctx.sio.manager.get_participants(COUNSELOR, user_room(user_id)))]


async def session_of(ctx: Context, sid: str) -> dict[str, Any] | None:
    try:
        session: dict[str, Any] = await ctx.sio.get_session(sid, namespace=COUNSELOR)
    except KeyError:  # gone meanwhile
        return None
    return session


async def drop_here(ctx: Context, order: Order) -> None:
    """Drop the account's sockets on this process: all of them, only those of one login
    (``only``), or all but those of one login (``keep``); logins are named by their hash."""
    for sid in sockets_of(ctx, order["user_id"]):
        session = await session_of(ctx, sid)
        if session is None:
            continue
        login, only, keep = session.get("login"), order.get("only"), order.get("keep")
        if (only is not None and login != only) or (keep is not None and login == keep):
            continue
        await ctx.sio.disconnect(sid, namespace=COUNSELOR)


async def room_here(ctx: Context, order: Order) -> None:
    """The account's sockets on this process enter (or leave) a conversation's room; one that
    enters holds the conversation, no longer only watches it."""
    for sid in sockets_of(ctx, order["user_id"]):
        if not order["enter"]:
            await ctx.sio.leave_room(sid, order["room"], namespace=COUNSELOR)
            continue
        await ctx.sio.enter_room(sid, order["room"], namespace=COUNSELOR)
        session = await session_of(ctx, sid)
        if session is not None:
            session.get("watching", set()).discard(order["conversation_id"])


async def move_account(
    ctx: Context, user_id: int, conversation_id: str, room: str, *, enter: bool
) -> None:
    order = {"user_id": user_id, "conversation_id": conversation_id, "room": room, "enter": enter}
    await ctx.shared.orders.send(ROOM, order)


async def disconnect_user(ctx: Context, user_id: int) -> None:
    """Drop every ``/counselor`` socket of the account; reconnecting needs a new login."""
    await ctx.shared.orders.send(DROP, {"user_id": user_id})


async def drop_outdated_sockets(ctx: Context) -> None:
    """After the catalog reloads (on every process, each for its own sockets): every
    ``/counselor`` socket whose account's role, desks or active flag are no longer those it
    connected with is dropped, so that it reconnects with its current rights (a deactivated
    account's sessions ended with it: its reconnect is refused). The other sockets join the
    rooms of desks added since (an all-desks account)."""
    desks = list(ctx.catalog.desks.values())
    # Accounts are never deleted, so every socket is in the room of one the catalog knows.
    for account in list(ctx.catalog.accounts.values()):
        for sid in sockets_of(ctx, account.id):
            session = await session_of(ctx, sid)
            if session is None:
                continue
            connected_as = session.get("user")
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
    await ctx.shared.orders.send(DROP, {"user_id": user.id, "only": sha256(session_id)})


async def drop_other_logins(ctx: Context, user_id: int, *, keep_session_id: str) -> None:
    """After a password change: the account's sockets of every other login go at once (their
    sessions ended in the same transaction as the change); this login's stay."""
    await ctx.shared.orders.send(DROP, {"user_id": user_id, "keep": sha256(keep_session_id)})
