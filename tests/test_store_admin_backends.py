"""What admins set up, and the reports, behave the same on SQLite and PostgreSQL: every
AdminStore and ReportStore method, run against both backends, stores the same, answers the
same, refuses the same input with the same code, and writes its audit row in the same
transaction (a refused change leaves neither row nor record behind)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.db.admin import DEFAULT_DESK_NAME
from service.domain.audit import Actor
from service.domain.directory import EmergencyContact
from service.domain.replies import POSTER_TOPICS
from service.domain.reports import Consultation, Month, build_report
from service.errors import AppError, ErrorCode
from service.http.reports import csv_body
from service.storage import Store
from tests import stores
from tests.backends import Postgres
from tests.stores import Backend, open_backend

# Every test taking ``store`` runs on both backends.
backend = stores.backend
store = stores.store

ADMIN = Actor("aiko", 1)
HOURS = "mon-fri 09:00-17:00"
ROUNDS = 10
"""Races run this many times: each is decided by whichever write takes its lock first."""
ARGON = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


async def refused(code: ErrorCode, call: Any) -> AppError:
    with pytest.raises(AppError) as caught:
        await call
    assert caught.value.code == code
    return caught.value


async def actions(store: Store) -> list[tuple[str, str]]:
    return [(e.action, e.target) for e in await store.list_audit()]


# -- desks, partners, campaigns, emergency contacts -------------------------------------------


async def test_the_defaults_are_made_once(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    await store.ensure_defaults("24/7")
    [desk] = await store.list_desks()
    assert (desk.key, desk.name, desk.is_default, desk.hours) == (
        "general",
        DEFAULT_DESK_NAME,
        True,
        HOURS,
    )
    partners = await store.list_partners()
    assert [(p.key, p.is_default, p.enabled, p.origins) for p in partners] == [
        ("ward", True, True, ()),
        ("demo", False, True, ()),
    ]


async def test_a_desk_is_created_updated_and_audited(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    before = await store.settings_version()
    fields = {"name": "法律相談", "phones": ["03-0000-0000"], "hours": "24/7", "closures": ""}
    desk = await store.insert_desk(ADMIN, "legal", fields)
    assert (desk.key, desk.name, desk.phones, desk.hours, desk.closures, desk.is_default) == (
        "legal",
        "法律相談",
        ("03-0000-0000",),
        "24/7",
        "",
        False,
    )
    changed = await store.update_desk(ADMIN, "legal", {"description": "弁護士", "phones": []})
    assert (changed.id, changed.description, changed.phones) == (desk.id, "弁護士", ())
    assert [d.key for d in await store.list_desks()] == ["general", "legal"]
    assert (await store.list_desks())[1] == changed
    assert await store.settings_version() > before
    [update, create, *_] = await store.list_audit()
    assert (create.action, create.target, create.actor) == ("desk.create", "desk:legal", "aiko")
    assert create.detail == fields
    assert (update.action, update.detail) == (
        "desk.update",
        {"description": "弁護士", "phones": []},
    )
    assert update.id > create.id


async def test_desk_keys_are_unique_and_unknown_desks_are_not_found(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    await refused(ErrorCode.ALREADY_EXISTS, store.insert_desk(ADMIN, "general", {"name": "x"}))
    await refused(ErrorCode.NOT_FOUND, store.update_desk(ADMIN, "nowhere", {"name": "x"}))
    assert len(await store.list_desks()) == 1
    assert await store.list_audit() == []


async def test_a_partner_with_an_unknown_desk_is_refused_whole(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    fields = {"name": "図書館", "desk": "nowhere", "origins": ["https://lib.example"]}
    await refused(ErrorCode.UNKNOWN_DESK, store.insert_partner(ADMIN, "library", fields))
    assert [p.key for p in await store.list_partners()] == ["ward", "demo"]
    assert await store.list_audit() == []


async def test_a_partner_is_created_updated_and_the_default_stays_enabled(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    general = (await store.list_desks())[0]
    fields = {
        "name": "図書館",
        "origins": ["https://lib.example"],
        "exit_url": "https://lib.example/",
        "desk": "general",
        "lang": "en",
    }
    partner = await store.insert_partner(ADMIN, "library", fields)
    assert (partner.origins, partner.exit_url, partner.desk_id, partner.lang, partner.enabled) == (
        ("https://lib.example",),
        "https://lib.example/",
        general.id,
        "en",
        True,
    )
    changed = await store.update_partner(ADMIN, "library", {"enabled": False, "desk": None})
    assert (changed.enabled, changed.desk_id) == (False, None)
    await refused(ErrorCode.ALREADY_EXISTS, store.insert_partner(ADMIN, "demo", {"name": "x"}))
    await refused(
        ErrorCode.INVALID_PAYLOAD, store.update_partner(ADMIN, "ward", {"enabled": False})
    )
    await refused(ErrorCode.UNKNOWN_DESK, store.update_partner(ADMIN, "demo", {"desk": "no"}))
    await refused(ErrorCode.NOT_FOUND, store.update_partner(ADMIN, "none", {"name": "x"}))
    assert [p.enabled for p in await store.list_partners()] == [True, True, False]
    assert await actions(store) == [
        ("partner.update", "partner:library"),
        ("partner.create", "partner:library"),
    ]


async def test_a_campaign_is_created_updated_and_checked(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    general = (await store.list_desks())[0]
    demo = (await store.list_partners())[1]
    fields = {"name": "駅のポスター", "desk": "general", "partner": "demo"}
    campaign = await store.insert_campaign(ADMIN, "station", fields)
    assert (campaign.code, campaign.desk_id, campaign.partner_id, campaign.enabled) == (
        "station",
        general.id,
        demo.id,
        True,
    )
    changed = await store.update_campaign(ADMIN, "station", {"desk": None, "enabled": False})
    assert (changed.desk_id, changed.partner_id, changed.enabled) == (None, demo.id, False)
    await refused(ErrorCode.ALREADY_EXISTS, store.insert_campaign(ADMIN, "station", fields))
    await refused(
        ErrorCode.UNKNOWN_PARTNER,
        store.insert_campaign(ADMIN, "bus", {"name": "バス", "partner": "nobody"}),
    )
    await refused(
        ErrorCode.UNKNOWN_DESK, store.insert_campaign(ADMIN, "bus", {"name": "バス", "desk": "no"})
    )
    await refused(
        ErrorCode.UNKNOWN_PARTNER, store.update_campaign(ADMIN, "station", {"partner": "x"})
    )
    await refused(ErrorCode.NOT_FOUND, store.update_campaign(ADMIN, "bus", {"name": "x"}))
    assert await store.list_campaigns() == [changed]
    assert await actions(store) == [
        ("campaign.update", "campaign:station"),
        ("campaign.create", "campaign:station"),
    ]


async def test_emergency_contacts_are_replaced_in_their_order(store: Store) -> None:
    seeded = await store.list_emergency_contacts()
    assert [c.number for c in seeded] == ["110", "0120-279-889", "#8008", "#8891", "0120-279-338"]
    before = await store.settings_version()
    contacts = [EmergencyContact("消防", "119", "火事", "Fire"), EmergencyContact("警察", "110")]
    await store.replace_emergency_contacts(ADMIN, contacts)
    assert await store.list_emergency_contacts() == contacts
    assert await store.settings_version() > before
    [entry] = await store.list_audit()
    assert (entry.action, entry.detail) == (
        "emergency_contacts.replace",
        {"contacts": ["消防 119", "警察 110"]},
    )
    await store.replace_emergency_contacts(ADMIN, [])
    assert await store.list_emergency_contacts() == []


# -- accounts ---------------------------------------------------------------------------------


async def with_desks(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    await store.insert_desk(ADMIN, "legal", {"name": "法律相談"})


async def test_users_are_listed_by_name_with_all_desks_or_a_list(store: Store) -> None:
    await with_desks(store)
    desks = {d.key: d.id for d in await store.list_desks()}
    before = await store.settings_version()
    # Byte order, as SQLite sorts: upper case before lower case, kana after both.
    for name in ("ゆき", "ren", "Zoe"):
        await store.create_user(ADMIN, name, name.title(), "counselor", ARGON, None)
    hana = await store.create_user(ADMIN, "hana", "花子", "supervisor", ARGON, ["legal", "legal"])
    assert await store.settings_version() > before
    users = await store.list_users()
    assert [u.username for u in users] == ["Zoe", "hana", "ren", "ゆき"]
    [hana_user] = [u for u in users if u.username == "hana"]
    assert (hana_user.id, hana_user.role, hana_user.desk_ids) == (
        hana,
        "supervisor",
        frozenset({desks["legal"]}),
    )
    assert all(u.desk_ids is None for u in users if u.username != "hana")
    [entry, *_] = await store.list_audit()
    assert (entry.action, entry.target, entry.detail) == (
        "user.create",
        "user:hana",
        {"display_name": "花子", "role": "supervisor", "desks": ["legal", "legal"]},
    )
    assert await store.count_users() == 4


async def test_a_duplicate_or_deskless_user_is_refused_whole(store: Store) -> None:
    await with_desks(store)
    await store.create_user(ADMIN, "hana", "花子", "counselor", ARGON, None)
    await refused(
        ErrorCode.ALREADY_EXISTS, store.create_user(ADMIN, "hana", "x", "counselor", ARGON, None)
    )
    await refused(
        ErrorCode.UNKNOWN_DESK, store.create_user(ADMIN, "ren", "蓮", "counselor", ARGON, ["no"])
    )
    assert [u.username for u in await store.list_users()] == ["hana"]
    assert await actions(store) == [("user.create", "user:hana"), ("desk.create", "desk:legal")]


async def test_a_user_is_updated_and_deactivating_ends_its_sessions(store: Store) -> None:
    await with_desks(store)
    desks = {d.key: d.id for d in await store.list_desks()}
    await store.create_user(ADMIN, "aiko", "愛子", "admin", ARGON, None)
    await store.create_user(ADMIN, "hana", "花子", "counselor", ARGON, None)
    hana = next(u for u in await store.list_users() if u.username == "hana")
    await store.insert_session("hana-session", hana)
    assert await store.get_session_user("hana-session", "2000-01-01T00:00:00.000Z") == hana

    fields = {"display_name": "ハナ", "role": "supervisor", "desks": ["general", "legal"]}
    changed = await store.update_user(ADMIN, "hana", fields)
    assert (changed.display_name, changed.role, changed.desk_ids, changed.active) == (
        "ハナ",
        "supervisor",
        frozenset(desks.values()),
        True,
    )
    assert await store.get_session_user("hana-session", "2000-01-01T00:00:00.000Z") is not None
    back = await store.update_user(ADMIN, "hana", {"desks": None, "active": False})
    assert (back.desk_ids, back.active) == (None, False)
    assert await store.get_session_user("hana-session", "2000-01-01T00:00:00.000Z") is None
    [entry, *_] = await store.list_audit()
    assert (entry.action, entry.target, entry.detail) == (
        "user.update",
        "user:hana",
        {"desks": None, "active": False},
    )
    await refused(ErrorCode.NOT_FOUND, store.update_user(ADMIN, "nobody", {"role": "admin"}))
    await refused(ErrorCode.UNKNOWN_DESK, store.update_user(ADMIN, "hana", {"desks": ["no"]}))
    assert next(u for u in await store.list_users() if u.username == "hana") == back


async def test_the_last_active_admin_stays(store: Store) -> None:
    await with_desks(store)
    # Without any admin (set up from the command line), accounts stay editable.
    await store.create_user(ADMIN, "hana", "花子", "counselor", ARGON, None)
    await store.update_user(ADMIN, "hana", {"active": False})
    await store.create_user(ADMIN, "aiko", "愛子", "admin", ARGON, None)
    await store.create_user(ADMIN, "sora", "空", "admin", ARGON, None)
    await store.update_user(ADMIN, "sora", {"role": "counselor"})
    await refused(ErrorCode.LAST_ADMIN, store.update_user(ADMIN, "aiko", {"active": False}))
    await refused(ErrorCode.LAST_ADMIN, store.update_user(ADMIN, "aiko", {"role": "supervisor"}))
    users = {u.username: u for u in await store.list_users()}
    assert (users["aiko"].role, users["aiko"].active) == ("admin", True)
    assert [a for a in await actions(store) if a[0] == "user.update"] == [
        ("user.update", "user:sora"),
        ("user.update", "user:hana"),
    ]


async def test_a_new_password_ends_sessions_and_unlocks_logins(store: Store) -> None:
    await with_desks(store)
    await store.create_user(ADMIN, "hana", "花子", "counselor", ARGON, None)
    hana = next(u for u in await store.list_users() if u.username == "hana")
    await store.insert_session("hana-session", hana)
    last, _ = await store.login_unlocks_since(0)
    version = await store.settings_version()

    await store.set_password(ADMIN, "hana", ARGON + "2")
    credentials = await store.get_credentials("hana")
    assert credentials is not None
    assert credentials.password_hash == ARGON + "2"
    assert await store.get_session_user("hana-session", "2000-01-01T00:00:00.000Z") is None
    assert await store.settings_version() > version
    assert (await store.login_unlocks_since(last))[1] == ["hana"]

    last, _ = await store.login_unlocks_since(0)
    version = await store.settings_version()
    await store.unlock_logins(ADMIN, "hana")
    assert await store.settings_version() > version
    assert (await store.login_unlocks_since(last))[1] == ["hana"]
    assert (await actions(store))[:2] == [
        ("user.unlock", "user:hana"),
        ("user.password_reset", "user:hana"),
    ]
    await refused(ErrorCode.NOT_FOUND, store.set_password(ADMIN, "nobody", ARGON))
    await refused(ErrorCode.NOT_FOUND, store.unlock_logins(ADMIN, "nobody"))


# -- canned responses and topic tags ----------------------------------------------------------


async def test_canned_responses_are_created_changed_and_deleted(store: Store) -> None:
    await with_desks(store)
    legal = next(d.id for d in await store.list_desks() if d.key == "legal")
    seeded = await store.list_canned_responses()
    assert [c.title for c in seeded] == sorted(c.title for c in seeded)
    version = await store.settings_version()

    first = await store.insert_canned_response(ADMIN, "legal", "A", "本文")
    second = await store.insert_canned_response(ADMIN, None, "A", "もう一つ")
    assert (first.desk_id, first.title, first.body) == (legal, "A", "本文")
    assert [c.id for c in await store.list_canned_responses()][:2] == [first.id, second.id]
    changed = await store.update_canned_response(
        ADMIN, first.id, {"title": "B", "body": "新しい本文", "desk": None}
    )
    assert (changed.id, changed.desk_id, changed.title, changed.body) == (
        first.id,
        None,
        "B",
        "新しい本文",
    )
    await store.delete_canned_response(ADMIN, second.id)
    assert second.id not in [c.id for c in await store.list_canned_responses()]
    # Canned responses are read when used, not kept in memory: no reload needed.
    assert await store.settings_version() == version

    await refused(ErrorCode.UNKNOWN_DESK, store.insert_canned_response(ADMIN, "no", "t", "b"))
    await refused(
        ErrorCode.UNKNOWN_DESK, store.update_canned_response(ADMIN, first.id, {"desk": "no"})
    )
    await refused(ErrorCode.NOT_FOUND, store.update_canned_response(ADMIN, 9999, {"title": "t"}))
    await refused(ErrorCode.NOT_FOUND, store.delete_canned_response(ADMIN, second.id))
    audit = await store.list_audit()
    assert [(e.action, e.target, e.detail) for e in audit[:3]] == [
        ("canned.delete", f"canned:{second.id}", {"title": "A"}),
        ("canned.update", f"canned:{first.id}", {"title": "B", "body": "(changed)", "desk": None}),
        ("canned.create", f"canned:{second.id}", {"title": "A", "desk": None}),
    ]


async def test_topic_tags_are_created_changed_and_unique(store: Store) -> None:
    # In the poster's order, the order the visitor chooses from, with その他 last.
    seeded = [t.key for t in await store.list_topic_tags()]
    assert seeded == list(POSTER_TOPICS)
    tag = await store.insert_topic_tag(ADMIN, "money", "お金", "Money")
    assert [t.key for t in await store.list_topic_tags()][-2:] == ["money", "other"]
    assert (tag.key, tag.label_ja, tag.label_en, tag.enabled) == ("money", "お金", "Money", True)
    changed = await store.update_topic_tag(ADMIN, "money", {"enabled": False, "label_en": "Cash"})
    assert (changed.id, changed.label_en, changed.enabled) == (tag.id, "Cash", False)
    assert changed in await store.list_topic_tags()
    await refused(ErrorCode.ALREADY_EXISTS, store.insert_topic_tag(ADMIN, "work", "仕事", "Work"))
    await refused(ErrorCode.NOT_FOUND, store.update_topic_tag(ADMIN, "none", {"enabled": True}))
    assert [(e.action, e.detail) for e in await store.list_audit()] == [
        ("topic_tag.update", {"enabled": False, "label_en": "Cash"}),
        ("topic_tag.create", {"label_ja": "お金"}),
    ]


# -- the audit log and reports ----------------------------------------------------------------


async def test_the_audit_log_lists_the_newest_first_up_to_a_limit(store: Store) -> None:
    for n in range(5):
        await store.insert_report_export(ADMIN, f"report:{n}", {"from": "2026-04", "n": n})
    entries = await store.list_audit(limit=3)
    assert [e.target for e in entries] == ["report:4", "report:3", "report:2"]
    assert entries[0].detail == {"from": "2026-04", "n": 4}
    assert (entries[0].action, entries[0].actor) == ("report.export", "aiko")
    assert entries[0].at.endswith("Z")
    assert len(await store.list_audit()) == 5


# The same facts stored in both databases, with fixed times, then read back by each store.
TAGS = [("conv-b", "work"), ("conv-b", "family"), ("conv-e", "other")]
# id, desk, partner, campaign, lang, status, created, claimed, closed, closed_by, outcome, exit
CONVERSATIONS = [
    ("conv-b", "general", "ward", None, "ja", "closed", "2026-01-10T01:00:00.000Z",
     "2026-01-10T01:01:00.000Z", "2026-01-10T01:10:00.000Z", "counselor", "referred_phone", 0),
    # The same instant as conv-b: ties are ordered by id on both backends.
    ("conv-a", "legal", "library", "poster", "en", "waiting", "2026-01-10T01:00:00.000Z",
     None, None, None, None, 0),
    ("conv-c", "general", "demo", None, "ja", "closed", "2026-01-31T15:00:00.000Z",
     None, "2026-01-31T15:00:30.000Z", "visitor", None, 1),
    ("conv-d", "general", "ward", None, "ja", "closed", "2025-12-31T23:59:59.999Z",
     None, "2026-01-01T00:00:30.000Z", "visitor", None, 0),
    ("conv-e", "legal", None, None, "ja", "closed", "2026-01-01T00:00:00.000Z",
     "2026-01-01T00:02:00.000Z", "2026-01-01T00:30:00.000Z", "system", "no_reply", 0),
    ("conv-f", "general", "ward", None, "ja", "active", "2026-03-01T00:00:00.000Z",
     "2026-03-01T00:00:05.000Z", None, None, None, 0),
]  # fmt: skip
MESSAGES = [
    ("conv-b", 1, "visitor", "2026-01-10T01:00:10.000Z"),
    ("conv-b", 2, "counselor", "2026-01-10T01:02:00.000Z"),
    ("conv-b", 3, "counselor", "2026-01-10T01:01:30.000Z"),
    ("conv-e", 1, "visitor", "2026-01-01T00:00:10.000Z"),
]
SURVEYS = [("conv-b", 5, 1), ("conv-c", None, 0), ("conv-e", 3, None)]
SINCE, UNTIL = "2026-01-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"

SQL = {
    "conversation": "INSERT INTO conversation (id, token_hash, desk_id, partner_id, campaign,"
    " lang, status, created_at, claimed_at, closed_at, closed_by, outcome, quick_exit)"
    " VALUES (?, ?, (SELECT id FROM desk WHERE key = ?), (SELECT id FROM partner WHERE key = ?),"
    " ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "message": "INSERT INTO message (conversation_id, seq, author, body, created_at)"
    " VALUES (?, ?, ?, ?, ?)",
    "tag": "INSERT INTO conversation_tag (conversation_id, tag_id)"
    " VALUES (?, (SELECT id FROM topic_tag WHERE key = ?))",
    "survey": "INSERT INTO survey (conversation_id, rating, helpful, created_at)"
    " VALUES (?, ?, ?, '2026-01-10T02:00:00.000Z')",
}


def facts() -> list[tuple[str, tuple[Any, ...]]]:
    """Each statement with its values; a sealed body the report never reads."""
    rows: list[tuple[str, tuple[Any, ...]]] = [
        ("conversation", (c[0], f"token-{c[0]}", *c[1:])) for c in CONVERSATIONS
    ]
    rows += [("message", (*m[:3], b"sealed", m[3])) for m in MESSAGES]
    rows += [("tag", t) for t in TAGS]
    rows += [("survey", s) for s in SURVEYS]
    return rows


def numbered(sql: str) -> str:
    """SQLite's ``?`` placeholders as PostgreSQL's ``$1``, ``$2``…"""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], start=1)) + parts[-1]


async def set_up_directory(store: Store) -> None:
    await store.ensure_defaults(HOURS)
    await store.insert_desk(ADMIN, "legal", {"name": "法律相談"})
    await store.insert_partner(ADMIN, "library", {"name": "図書館"})


async def add_facts(opened: Backend) -> None:
    """Store the consultations past the store, as each backend's own client writes them."""
    if opened.path is not None:
        with contextlib.closing(sqlite3.connect(opened.path)) as lite, lite:
            for table, values in facts():
                lite.execute(SQL[table], values)
        return
    conn = await asyncpg.connect(opened.url)
    try:
        for table, values in facts():
            await conn.execute(numbered(SQL[table]), *values)
    finally:
        await conn.close()


@pytest.fixture
async def both(tmp_path: Path, postgres: Postgres) -> AsyncIterator[dict[str, Store]]:
    """A SQLite and a PostgreSQL store holding the same consultations."""
    opened = [
        await open_backend("sqlite", tmp_path, None),
        await open_backend("postgres", tmp_path, postgres),
    ]
    try:
        for each_backend in opened:
            await set_up_directory(each_backend.store)
            await add_facts(each_backend)
        yield {b.name: b.store for b in opened}
    finally:
        for each_backend in opened:
            await each_backend.close()


async def each(stores: dict[str, Store], read: Callable[[Store], Any]) -> list[Any]:
    return [await read(s) for s in stores.values()]


async def test_both_backends_list_the_same_consultations(both: dict[str, Store]) -> None:
    lite, pg = await each(both, lambda s: s.list_consultations(SINCE, UNTIL, None))
    assert lite == pg
    assert [c.created_at for c in lite] == [
        "2026-01-01T00:00:00.000Z",
        "2026-01-10T01:00:00.000Z",
        "2026-01-10T01:00:00.000Z",
        "2026-01-31T15:00:00.000Z",
    ]
    assert lite[1:3] == [
        Consultation(
            "2026-01-10T01:00:00.000Z",
            "waiting",
            "legal",
            "en",
            partner="library",
            campaign="poster",
        ),
        Consultation(
            "2026-01-10T01:00:00.000Z",
            "closed",
            "general",
            "ja",
            claimed_at="2026-01-10T01:01:00.000Z",
            first_reply_at="2026-01-10T01:01:30.000Z",
            closed_at="2026-01-10T01:10:00.000Z",
            closed_by="counselor",
            outcome="referred_phone",
            topics=("family", "work"),
            surveyed=True,
            rating=5,
            helpful=True,
        ),
    ]
    quick, system = lite[3], lite[0]
    # The demo partner is not the default one: its key shows (the ward's would not).
    assert (quick.partner, quick.quick_exit, quick.surveyed, quick.rating, quick.helpful) == (
        "demo",
        True,
        True,
        None,
        False,
    )
    assert (system.first_reply_at, system.topics, system.rating, system.helpful) == (
        None,
        ("other",),
        3,
        None,
    )


async def test_both_backends_filter_desks_and_write_the_same_csv(both: dict[str, Store]) -> None:
    legal = await each(both, lambda s: _desk_id(s, "legal"))
    lite = await both["sqlite"].list_consultations(SINCE, UNTIL, [legal[0]])
    pg = await both["postgres"].list_consultations(SINCE, UNTIL, [legal[1]])
    assert lite == pg
    assert [c.desk for c in lite] == ["legal", "legal"]
    assert await each(both, lambda s: s.list_consultations(SINCE, UNTIL, [])) == [[], []]

    lite, pg = await each(both, lambda s: s.list_consultations(SINCE, UNTIL, None))
    first, last = Month(2026, 1), Month(2026, 2)
    lite_csv, pg_csv = (csv_body(build_report(items, first, last)) for items in (lite, pg))
    assert lite_csv == pg_csv
    # January in Tokyo: conv-e, conv-a and conv-b; one answered after 90 s; closed after
    # 28 min and 9 min from their claims; ratings 3 and 5; one found it helpful.
    assert b"2026-01,total,all,3,1,90,90,0,0,2,1110,1,2,0,0,1,0,1,1,0\r\n" in lite_csv
    assert b"2026-02,total,all,1,0,,,1,1,1,,0,1,0,0,0,0,0,0,1\r\n" in lite_csv


async def _desk_id(store: Store, key: str) -> int:
    return next(d.id for d in await store.list_desks() if d.key == key)


# -- several nodes (or processes) changing the same settings at once ----------------------------


async def test_defaults_made_by_two_nodes_at_once_are_made_once(backend: Backend) -> None:
    other = await backend.open_another()
    await asyncio.gather(backend.store.ensure_defaults(HOURS), other.ensure_defaults(HOURS))
    assert [d.key for d in await other.list_desks()] == ["general"]
    assert [p.key for p in await backend.store.list_partners()] == ["ward", "demo"]


async def test_contacts_replaced_by_two_nodes_at_once_leave_one_list(backend: Backend) -> None:
    other = await backend.open_another()
    ours = [EmergencyContact("警察", "110")]
    theirs = [EmergencyContact("消防", "119"), EmergencyContact("救急", "#7119")]
    for _ in range(ROUNDS):
        await asyncio.gather(
            backend.store.replace_emergency_contacts(ADMIN, ours),
            other.replace_emergency_contacts(ADMIN, theirs),
        )
        assert await backend.store.list_emergency_contacts() in (ours, theirs)


async def test_two_nodes_cannot_demote_the_last_two_admins_at_once(backend: Backend) -> None:
    other = await backend.open_another()
    await with_desks(backend.store)
    survivor: str | None = None
    for round_ in range(ROUNDS):
        names = [f"a{round_}", f"b{round_}"]
        for name in names:
            await backend.store.create_user(ADMIN, name, name, "admin", ARGON, None)
        if survivor is not None:  # the last round's admin: the two new ones are the last two
            await backend.store.update_user(ADMIN, survivor, {"role": "counselor"})
        answers = await asyncio.gather(
            backend.store.update_user(ADMIN, names[0], {"role": "counselor"}),
            other.update_user(ADMIN, names[1], {"active": False}),
            return_exceptions=True,
        )
        assert [a.code for a in answers if isinstance(a, AppError)] == [ErrorCode.LAST_ADMIN]
        admins = [u.username for u in await other.list_users() if u.role == "admin" and u.active]
        assert len(admins) == 1
        survivor = admins[0]
