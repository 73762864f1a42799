"""The expected wait told to a waiting visitor: an honest, rounded range from the desk's recent
first replies, "unknown" below a handful of them; and the store's reading of those replies,
the same on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3

import asyncpg

from service.db import waits as sqlite_waits
from service.domain.audit import Actor
from service.domain.waits import MIN_SAMPLES, ExpectedWait, expected_wait, waited_seconds
from service.pg import waits as pg_waits
from service.storage import Store
from tests import stores
from tests.stores import Backend

backend = stores.backend
store = stores.store

MINUTE = 60.0


def test_too_few_waits_are_unknown_rather_than_a_guess() -> None:
    assert expected_wait([]) is None
    assert expected_wait([3 * MINUTE] * (MIN_SAMPLES - 1)) is None
    assert expected_wait([3 * MINUTE] * MIN_SAMPLES) is not None


def test_short_waits_read_as_up_to_five_minutes() -> None:
    assert expected_wait([10.0, 40.0, 70.0, 2 * MINUTE, 3 * MINUTE]) == ExpectedWait(0, 5)


def test_the_middle_half_of_the_waits_widened_to_round_minutes() -> None:
    waits = [m * MINUTE for m in (4, 8, 12, 13, 14, 17, 22, 40)]
    # Quartiles 11 and 18.25 minutes: 10 to 20, never "11 to 18".
    assert expected_wait(waits) == ExpectedWait(10, 20)


def test_long_waits_are_rounded_more_coarsely() -> None:
    waits = [m * MINUTE for m in (50, 60, 70, 95, 130, 150, 160)]
    # Quartiles 65 and 140 minutes: 60 to 150.
    assert expected_wait(waits) == ExpectedWait(60, 150)


def test_one_unusual_wait_does_not_move_the_range() -> None:
    usual = [m * MINUTE for m in (5, 6, 7, 8, 9, 10)]
    assert expected_wait([*usual, 300 * MINUTE]) == expected_wait([*usual, 11 * MINUTE])


def test_a_range_is_never_empty() -> None:
    found = expected_wait([20 * MINUTE] * 6)
    assert found == ExpectedWait(20, 25)
    assert found.wire() == {"min": 20, "max": 25}


def test_a_wait_is_claimed_minus_created() -> None:
    assert waited_seconds("2026-11-26T10:00:00.000Z", "2026-11-26T10:12:30.500Z") == 750.5
    assert waited_seconds("2026-11-26T10:00:00.000Z", "2026-11-26T09:59:59.000Z") == 0.0


async def execute(backend: Backend, sql: str, *params: object) -> None:
    """A write past the store, as a test's own arrangement (``?`` placeholders)."""
    if backend.name == "postgres":
        numbered = sql
        for n in range(1, len(params) + 1):
            numbered = numbered.replace("?", f"${n}", 1)
        conn = await asyncpg.connect(backend.admin_url)
        try:
            await conn.execute(numbered, *params)
        finally:
            await conn.close()
        return
    assert backend.path is not None
    with contextlib.closing(sqlite3.connect(backend.path)) as conn, conn:
        conn.execute(sql, params)


async def test_recent_waits_are_the_desks_newest_claims_within_the_window(
    backend: Backend, store: Store
) -> None:
    await store.ensure_defaults("24/7")
    await store.insert_desk(Actor("admin"), "youth", {"name": "若者窓口"})
    desks = {d.key: d.id for d in await store.list_desks()}
    await store.insert_user("hana", "花子", "counselor", "x", None)
    credentials = await store.get_credentials("hana")
    assert credentials is not None
    hana = credentials.user

    times = {
        "old": ("2026-10-01T09:00:00.000Z", "2026-10-01T09:30:00.000Z"),
        "a": ("2026-11-20T09:00:00.000Z", "2026-11-20T09:05:00.000Z"),
        "b": ("2026-11-21T09:00:00.000Z", "2026-11-21T09:20:00.000Z"),
        "c": ("2026-11-22T09:00:00.000Z", "2026-11-22T09:01:00.000Z"),
        "youth": ("2026-11-22T10:00:00.000Z", "2026-11-22T10:02:00.000Z"),
    }
    for name, (created, claimed) in times.items():
        desk = desks["youth" if name == "youth" else "general"]
        await store.insert_conversation(name, f"t-{name}", desk, None, None, "ja", None)
        await store.claim_conversation(name, hana.id, 100)
        await execute(
            backend,
            "UPDATE conversation SET created_at = ?, claimed_at = ? WHERE id = ?",
            created,
            claimed,
            name,
        )
    # Still waiting: no first reply yet, so no wait to count.
    await store.insert_conversation(
        "waiting", "t-waiting", desks["general"], None, None, "ja", None
    )

    since = "2026-11-01T00:00:00.000Z"
    assert await store.recent_waits(desks["general"], since, 10) == [
        times["c"],
        times["b"],
        times["a"],
    ]
    assert await store.recent_waits(desks["general"], since, 2) == [times["c"], times["b"]]
    assert await store.recent_waits(desks["youth"], since, 10) == [times["youth"]]
    assert await store.recent_waits(desks["general"], "2026-12-01T00:00:00.000Z", 10) == []


async def plan_of(backend: Backend, sql: str, *params: object) -> str:
    """How the database would run ``sql``. PostgreSQL is told to avoid reading whole tables,
    as it would on a tiny one anyway; it still does where no index serves."""
    if backend.name == "postgres":
        conn = await asyncpg.connect(backend.admin_url)
        try:
            await conn.execute("SET enable_seqscan = off")
            return "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {sql}", *params))
        finally:
            await conn.close()
    assert backend.path is not None
    with contextlib.closing(sqlite3.connect(backend.path)) as conn:
        return "\n".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


async def test_the_boards_day_and_the_recent_waits_are_read_through_indexes(
    backend: Backend, store: Store
) -> None:
    """The board reads the day's activity up to once a second; the conversation table keeps
    every month of service, so neither read may go through all of it."""
    pg = backend.name == "postgres"
    waits = pg_waits if pg else sqlite_waits
    since = "2026-12-01T00:00:00.000Z"
    # PostgreSQL's statement names its one parameter three times; SQLite's asks for it thrice.
    day = await plan_of(backend, waits.DAY_ACTIVITY, *[since] * (1 if pg else 3))
    recent = await plan_of(backend, waits.RECENT_WAITS, 1, since, 10)
    for found in (day, recent):
        assert "Seq Scan" not in found and "SCAN conversation" not in found, found
