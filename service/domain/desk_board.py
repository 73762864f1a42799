"""The supervisors' live board: per desk, who is online and how busy, who waits and for how
long, and what the day has brought so far. Pure: the caller passes who is online, who is away,
the accounts, the open conversations, the day's activity and "now".

A desk's counselors are the online, active staff accounts that work it (as
``domain/staffing.py`` counts them, but away ones included, marked away). Their load is every
chat they hold, on any desk, against the most one may hold at once. The day is the Japan day
(``domain/jst.py``): from midnight in Tokyo.

Every count of the day goes through :func:`tally`, so a kind of conversation that must not
count (a training desk's) is left out there, once, for every figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.domain.accounts import User
from service.domain.casework import works_inbox
from service.domain.conversations import Conversation
from service.domain.directory import Desk
from service.domain.jst import in_tokyo


@dataclass(frozen=True, slots=True)
class Activity:
    """When one conversation touched by the day started, was claimed and closed (UTC ISO
    times, None for what has not happened)."""

    desk_id: int
    created_at: str
    claimed_at: str | None
    closed_at: str | None


@dataclass(frozen=True, slots=True)
class DayCounts:
    started: int = 0
    claimed: int = 0
    closed: int = 0

    def wire(self) -> dict[str, int]:
        return {"started": self.started, "claimed": self.claimed, "closed": self.closed}


@dataclass(frozen=True, slots=True)
class CounselorLoad:
    user_id: int
    name: str
    away: bool
    load: int
    max_chats: int

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "name": self.name,
            "state": "away" if self.away else "available",
            "load": self.load,
            "max_chats": self.max_chats,
        }


@dataclass(frozen=True, slots=True)
class DeskRow:
    desk_id: int
    desk_key: str
    counselors: tuple[CounselorLoad, ...] = ()
    waiting: int = 0
    oldest_waiting_since: str | None = None
    """When the longest-waiting visitor started (the client shows the wait as it grows)."""
    today: DayCounts = field(default_factory=DayCounts)

    def wire(self) -> dict[str, Any]:
        return {
            "desk": self.desk_key,
            "counselors": [c.wire() for c in self.counselors],
            "waiting": self.waiting,
            "oldest_waiting_since": self.oldest_waiting_since,
            "today": self.today.wire(),
        }


def day_start(now: datetime) -> datetime:
    """Midnight in Tokyo of ``now``'s Tokyo date, as a UTC time."""
    tokyo = in_tokyo(now)
    return tokyo.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def tally(activity: Iterable[Activity], since: str) -> dict[int, DayCounts]:
    """Per desk: how many conversations started, were claimed and closed at or after
    ``since`` (a UTC ISO time, compared as stored)."""
    started: Counter[int] = Counter()
    claimed: Counter[int] = Counter()
    closed: Counter[int] = Counter()
    for row in activity:
        if row.created_at >= since:
            started[row.desk_id] += 1
        if row.claimed_at is not None and row.claimed_at >= since:
            claimed[row.desk_id] += 1
        if row.closed_at is not None and row.closed_at >= since:
            closed[row.desk_id] += 1
    desks = started.keys() | claimed.keys() | closed.keys()
    return {d: DayCounts(started[d], claimed[d], closed[d]) for d in desks}


def desk_rows(
    desks: Sequence[Desk],
    accounts: Mapping[int, User],
    online: Collection[int],
    away: Collection[int],
    open_conversations: Iterable[Conversation],
    today: Mapping[int, DayCounts],
    max_chats: int,
) -> list[DeskRow]:
    """One row per desk of ``desks``, in their order. ``open_conversations`` must be every
    open conversation (of every desk), so that a counselor's load counts all they hold."""
    conversations = list(open_conversations)
    held = Counter(c.counselor_id for c in conversations if c.status == "active" and c.counselor_id)
    staff = sorted(
        (
            user
            for user_id in set(online)
            if (user := accounts.get(user_id)) is not None
            and user.active
            and works_inbox(user.role)
        ),
        key=lambda u: (u.display_name, u.id),
    )
    rows = []
    for desk in desks:
        waiting = sorted(
            c.created_at for c in conversations if c.desk_id == desk.id and c.status == "waiting"
        )
        rows.append(
            DeskRow(
                desk_id=desk.id,
                desk_key=desk.key,
                counselors=tuple(
                    CounselorLoad(u.id, u.display_name, u.id in away, held[u.id], max_chats)
                    for u in staff
                    if u.works_desk(desk.id)
                ),
                waiting=len(waiting),
                oldest_waiting_since=waiting[0] if waiting else None,
                today=today.get(desk.id, DayCounts()),
            )
        )
    return rows
