"""Practice desks (counselor training): who may play a visitor there.

A practice desk is offered only to staff who work it, known by their login cookie, which the
chat page and its socket receive as they are served from our own origin. To anyone else it is
exactly a desk that does not exist: asked only when a key names a practice desk, and with no
query at all without a cookie, so a stranger's request takes the path of an unknown key.
"""

from __future__ import annotations

from service import access
from service.auth import user_of_session
from service.context import Context
from service.domain.directory import Desk


async def practice_desk(ctx: Context, key: str | None, session_id: str | None) -> Desk | None:
    """The practice desk ``key``, if the holder of ``session_id`` may play a visitor there."""
    desk = ctx.catalog.desks.get(key) if key else None
    if desk is None or not desk.practice or not session_id:
        return None
    user = await user_of_session(ctx.store, ctx.settings, session_id)
    return desk if user is not None and access.may_practise(user, desk) else None
