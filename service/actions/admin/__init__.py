"""Admin operations, one ``do_*`` function each: the admin pages, the admin API and the command
line all call these, so a setting means the same and is refused the same way everywhere.

Each function checks its input (``domain/checks.py``), writes the change with its audit entry in
one transaction (``db/admin*.py``), then reloads what depends on it through :class:`Admin`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from service.domain.audit import Actor
from service.errors import AppError, ErrorCode
from service.storage import Store

S = TypeVar("S", bound=msgspec.Struct)


async def _nothing() -> None:
    return None


async def _no_sockets(_: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Admin:
    """Who makes a change, and what must follow it. The server reloads its catalog and drops
    an account's inbox sockets; the command line has neither, and a running server picks its
    changes up from the database within about a second."""

    store: Store
    actor: Actor
    reload_catalog: Callable[[], Awaitable[None]] = _nothing
    drop_sockets: Callable[[int], Awaitable[None]] = _no_sockets


def given(data: msgspec.Struct, but: str = "") -> dict[str, Any]:
    """A Struct's fields as keyword arguments of its ``check_*`` function, whose parameters the
    Structs name one for one (the key or code aside)."""
    return {name: getattr(data, name) for name in data.__struct_fields__ if name != but}


def changes(fields: dict[str, Any]) -> dict[str, Any]:
    """Checked fields of an update; an update that changes nothing is refused (and not audited)."""
    if not fields:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "nothing to change")
    return fields


def read_input(kind: type[S], values: dict[str, Any]) -> S:
    """Input from a form or the command line, decoded as the admin API decodes its request
    bodies (same types, same limits, same defaults): a value of None is left out."""
    try:
        return msgspec.convert({k: v for k, v in values.items() if v is not None}, kind)
    except msgspec.ValidationError as exc:
        raise AppError(ErrorCode.INVALID_PAYLOAD, str(exc)) from None
