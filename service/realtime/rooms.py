"""Room names. Rooms are joined only by the server, from authenticated state, never by name from
a client: a room a client could name is a room it could listen in on."""

from __future__ import annotations

VISITOR = "/visitor"
COUNSELOR = "/counselor"


def conversation_room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def desk_room(desk_id: int) -> str:
    return f"desk:{desk_id}"


def supervisors_room(desk_id: int) -> str:
    """The supervisors working a desk: urgent alerts reach all of them at once."""
    return f"supervisors:desk:{desk_id}"


def board_room(desk_id: int) -> str:
    """The supervisors' boards showing a desk (joined by asking for the board)."""
    return f"board:desk:{desk_id}"
