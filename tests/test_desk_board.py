"""The supervisors' board, as a rule: per desk, the online staff who work it with their state and
load, the chats waiting and since when the longest has waited, and the Japan day's counts; and
the store's reading of the day's activity, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from service.domain.accounts import User
from service.domain.audit import Actor
from service.domain.conversations import Conversation, Status
from service.domain.desk_board import Activity, DayCounts, day_start, desk_rows, tally
from service.domain.directory import Desk
from service.storage import Store
from tests import stores
from tests.stores import Backend
from tests.test_waits import execute

backend = stores.backend
store = stores.store

GENERAL = Desk(1, "general", "総合相談", True)
LEGAL = Desk(2, "legal", "法律相談", False)


def account(
    user_id: int,
    name: str,
    role: str = "counselor",
    desks: frozenset[int] | None = None,
    active: bool = True,
) -> User:
    return User(user_id, f"u{user_id}", name, role, active, desks)  # type: ignore[arg-type]


def chat(
    cid: str, desk: Desk, status: Status, created: str, counselor: int | None = None
) -> Conversation:
    return Conversation(cid, desk.id, None, None, "ja", status, counselor, False, created, 0)


ACCOUNTS = {
    1: account(1, "花子", desks=frozenset({GENERAL.id})),
    2: account(2, "蓮", desks=frozenset({LEGAL.id})),
    3: account(3, "愛子", "supervisor"),  # every desk
    4: account(4, "空", desks=None, active=False),
}


def test_each_desk_shows_its_online_staff_with_their_state_and_load() -> None:
    chats = [
        chat("a", GENERAL, "active", "2026-12-03T01:00:00.000Z", counselor=1),
        chat("b", LEGAL, "active", "2026-12-03T01:05:00.000Z", counselor=1),
        chat("c", GENERAL, "active", "2026-12-03T01:06:00.000Z", counselor=3),
    ]
    general, legal = desk_rows([GENERAL, LEGAL], ACCOUNTS, {1, 3, 4}, {3}, chats, {}, max_chats=3)
    # In the order of their names; an offline (蓮) or deactivated (空) account is not there.
    assert [c.wire() for c in general.counselors] == [
        {"id": 3, "name": "愛子", "state": "away", "load": 1, "max_chats": 3},
        {"id": 1, "name": "花子", "state": "available", "load": 2, "max_chats": 3},
    ]
    # A load counts every chat held, whichever desk it is on.
    assert [(c.name, c.load) for c in legal.counselors] == [("愛子", 1)]


def test_a_desk_shows_how_many_wait_and_since_when_the_longest_has() -> None:
    chats = [
        chat("late", GENERAL, "waiting", "2026-12-03T01:10:00.000Z"),
        chat("early", GENERAL, "waiting", "2026-12-03T01:02:00.000Z"),
        chat("taken", GENERAL, "active", "2026-12-03T00:50:00.000Z", counselor=1),
    ]
    general, legal = desk_rows([GENERAL, LEGAL], ACCOUNTS, set(), set(), chats, {}, max_chats=3)
    assert (general.waiting, general.oldest_waiting_since) == (2, "2026-12-03T01:02:00.000Z")
    assert (legal.waiting, legal.oldest_waiting_since) == (0, None)
    assert legal.wire() == {
        "desk": "legal",
        "counselors": [],
        "waiting": 0,
        "oldest_waiting_since": None,
        "today": {"started": 0, "claimed": 0, "closed": 0},
    }


def test_the_day_begins_at_midnight_in_tokyo() -> None:
    # 08:59 on 3 December UTC is 17:59 in Tokyo: the day began at 15:00 UTC on the 2nd.
    assert day_start(datetime(2026, 12, 3, 8, 59, tzinfo=UTC)) == datetime(
        2026, 12, 2, 15, 0, tzinfo=UTC
    )
    # 15:00 UTC is midnight in Tokyo: a new day.
    assert day_start(datetime(2026, 12, 3, 15, 0, tzinfo=UTC)) == datetime(
        2026, 12, 3, 15, 0, tzinfo=UTC
    )


def test_the_days_counts_take_only_what_happened_since_it_began() -> None:
    since = "2026-12-02T15:00:00.000Z"
    yesterday, today = "2026-12-02T14:59:59.999Z", "2026-12-02T15:00:00.000Z"
    activity = [
        Activity(GENERAL.id, today, None, None),  # started, waits
        Activity(GENERAL.id, today, today, None),  # started and claimed
        Activity(GENERAL.id, yesterday, today, today),  # waited overnight, then answered
        Activity(LEGAL.id, yesterday, yesterday, today),  # only its close is today's
    ]
    assert tally(activity, since) == {
        GENERAL.id: DayCounts(started=2, claimed=2, closed=1),
        LEGAL.id: DayCounts(started=0, claimed=0, closed=1),
    }
    general, legal = desk_rows(
        [GENERAL, LEGAL], ACCOUNTS, set(), set(), [], tally(activity, since), max_chats=3
    )
    assert general.today.wire() == {"started": 2, "claimed": 2, "closed": 1}
    assert legal.today == DayCounts(0, 0, 1)


async def test_the_store_reads_every_conversation_touched_since_a_time(
    backend: Backend, store: Store
) -> None:
    await store.ensure_defaults("24/7")
    await store.insert_desk(Actor("admin"), "legal", {"name": "法律相談"})
    desks = {d.key: d.id for d in await store.list_desks()}
    await store.insert_user("hana", "花子", "counselor", "x", None)
    credentials = await store.get_credentials("hana")
    assert credentials is not None
    hana = credentials.user

    old, new = "2026-12-01T10:00:00.000Z", "2026-12-03T10:00:00.000Z"
    # (desk, created, claimed, closed): closed_at is kept only for a closed chat.
    plans = {
        "untouched": ("general", old, old, old),
        "started": ("general", new, None, None),
        "claimed": ("legal", old, new, None),
        "closed": ("legal", old, old, new),
    }
    for cid, (desk, created, claimed, closed) in plans.items():
        await store.insert_conversation(cid, f"t-{cid}", desks[desk], None, None, "ja", None)
        if claimed is not None:
            await store.claim_conversation(cid, hana.id, 100)
        if closed is not None:
            await store.close_conversation(cid, "resolved", "counselor", holder_id=hana.id)
        await execute(
            backend,
            "UPDATE conversation SET created_at = ?, claimed_at = ?, closed_at = ? WHERE id = ?",
            created,
            claimed,
            closed,
            cid,
        )

    found = await store.day_activity("2026-12-03T00:00:00.000Z")
    assert sorted(found, key=lambda a: (a.desk_id, a.created_at)) == [
        Activity(desks["general"], new, None, None),
        Activity(desks["legal"], old, new, None),
        Activity(desks["legal"], old, old, new),
    ]
