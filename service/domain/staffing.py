"""Which desks have someone online to answer: pure, given who is online and the accounts.

A desk is staffed while at least one account that works it is connected to the inbox and
available: an active account of a staff role (counselor, supervisor or admin) whose desks
include it, or that works every desk, and that has not set itself away (離席中). Accounts are
taken as they are now (the catalog's), not as they were when their sockets connected, so a
deactivated account never counts. Away is per account, whatever its sockets; a new login
makes it available again (``actions/availability.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from service.domain.accounts import User
from service.domain.casework import works_inbox


def answering(online: Collection[int], away: Collection[int]) -> frozenset[int]:
    """Of the accounts online, those a visitor may count on: every one not away."""
    return frozenset(online) - frozenset(away)


def staffed_desks(
    online: Collection[int],
    accounts: Mapping[int, User],
    desk_ids: Iterable[int],
    *,
    away: Collection[int] = frozenset(),
) -> frozenset[int]:
    """Those of ``desk_ids`` that an online, available account (by id, in ``accounts``)
    works."""
    staff = [
        user
        for user_id in answering(online, away)
        if (user := accounts.get(user_id)) is not None and user.active and works_inbox(user.role)
    ]
    return frozenset(d for d in desk_ids if any(user.works_desk(d) for user in staff))


def staffing_changed(
    before: Collection[int],
    after: Collection[int],
    accounts: Mapping[int, User],
    desk_ids: Iterable[int],
    *,
    then: Mapping[int, User] | None = None,
) -> frozenset[int]:
    """The desks that became staffed or unstaffed when who answers (online and available, as
    :func:`answering` gives it) went from ``before`` to ``after``; ``then`` are the accounts as
    ``before`` was counted with, when they differ from ``accounts`` (a socket dropped because
    its account lost its rights)."""
    desks = list(desk_ids)
    counted = accounts if then is None else then
    return staffed_desks(before, counted, desks) ^ staffed_desks(after, accounts, desks)
