"""Casework, closed conversations, retention and key rotation answer the same on both stores:
every test runs on SQLite and on PostgreSQL (``tests/stores.py``), through the ``Store`` calls
the service makes, and looks underneath at the raw rows where content must be sealed or gone."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from service.crypto import Sealer, SealError, new_key, parse_keys
from service.domain.accounts import Role, User
from service.domain.audit import CLI_ACTOR, Actor
from service.domain.casework import ClosedFilter
from service.domain.visitors import Survey
from service.errors import AppError, ErrorCode
from service.storage import Store
from tests import stores
from tests.backends import Postgres
from tests.stores import Backend, open_backend

# Every test here runs on both backends, but for the last two, PostgreSQL's own.
backend = stores.backend
store = stores.store

TOKYO = ZoneInfo("Asia/Tokyo")
SUPERVISOR = Actor("mori", 4)
ALL_TIME = "2999-01-01T00:00:00.000Z"
LONG_AGO = "2020-01-01T00:00:00.000Z"


@dataclass
class Centre:
    """Two desks and their staff: hana and ren work every desk, kai the legal desk only."""

    store: Store
    general: int
    legal: int
    hana: User
    ren: User
    kai: User
    mori: User


async def staffed(store: Store) -> Centre:
    await store.ensure_defaults("24/7")
    await store.insert_desk(CLI_ACTOR, "legal", {"name": "法律相談"})
    desks = {d.key: d.id for d in await store.list_desks()}
    people: dict[str, tuple[str, Role, list[str] | None]] = {
        "hana": ("花子", "counselor", None),
        "ren": ("蓮", "counselor", None),
        "kai": ("海", "counselor", ["legal"]),
        "mori": ("森", "supervisor", None),
    }
    users = {}
    for username, (name, role, desk_keys) in people.items():
        await store.insert_user(username, name, role, "hash", desk_keys)
        found = await store.get_user(username)
        assert found is not None
        users[username] = found
    return Centre(store, desks["general"], desks["legal"], **users)


@pytest.fixture
async def centre(store: Store) -> Centre:
    return await staffed(store)


async def waiting(centre: Centre, desk_id: int | None = None) -> str:
    cid = secrets.token_hex(8)
    await centre.store.insert_conversation(
        cid, secrets.token_hex(16), desk_id or centre.general, None, None, "ja", None
    )
    return cid


async def held(centre: Centre, user: User, desk_id: int | None = None) -> str:
    cid = await waiting(centre, desk_id)
    await centre.store.claim_conversation(cid, user.id)
    return cid


async def said(centre: Centre, cid: str, *bodies: str) -> None:
    for body in bodies:
        await centre.store.append_message(cid, "visitor", None, secrets.token_hex(8), body)


@contextlib.contextmanager
def refused(code: ErrorCode) -> Iterator[None]:
    with pytest.raises(AppError) as refusal:
        yield
    assert refusal.value.code == code, refusal.value


async def test_notes_tags_risk_and_summary_are_kept_sealed(
    centre: Centre, backend: Backend
) -> None:
    store, hana, mori = centre.store, centre.hana, centre.mori
    cid = await held(centre, hana)
    await store.set_code_word(cid, "さくら")
    await store.insert_note(cid, hana.id, "内部メモ：子どもが同居")
    await store.insert_note(cid, mori.id, "SVより：判断は私が", "supervisor", hana.id)
    await store.set_tags(cid, ["family", "domestic_violence"])
    assert await store.set_risk(cid, "concern") == "none"
    assert await store.set_risk(cid, "urgent") == "concern"
    revision = await store.set_summary(cid, hana.id, "要約：電話相談を案内")

    case = await store.get_case(cid)
    assert case is not None
    assert (case.status, case.risk, case.code_word) == ("active", "urgent", "さくら")
    assert case.tags == ("family", "domestic_violence")  # the poster's order, not the key's
    assert case.summary == "要約：電話相談を案内"
    assert [(n.kind, n.author, n.body, n.to) for n in case.notes] == [
        ("note", "花子", "内部メモ：子どもが同居", None),
        ("supervisor", "森", "SVより：判断は私が", "花子"),
    ]

    # An unknown tag changes nothing; a summary set to None is gone.
    with refused(ErrorCode.INVALID_PAYLOAD):
        await store.set_tags(cid, ["family", "no-such-tag"])
    await store.set_summary(cid, hana.id, None, revision)
    case = await store.get_case(cid)
    assert case is not None and case.tags == ("family", "domestic_violence")
    assert case.summary is None

    # Underneath, every note is ciphertext.
    bodies = [r[0] for r in await backend.rows("SELECT body FROM note")]
    assert len(bodies) == 2
    for body in bodies:
        assert isinstance(body, bytes) and "メモ".encode() not in body and b"SV" not in body

    assert await store.get_case("no-such-conversation") is None
    for write in (
        store.insert_note("no-such-conversation", hana.id, "x"),
        store.set_tags("no-such-conversation", []),
        store.set_risk("no-such-conversation", "none"),
        store.set_summary("no-such-conversation", hana.id, "x"),
    ):
        with refused(ErrorCode.NOT_FOUND):
            await write
    await store.close_conversation(cid, "resolved", "counselor", hana.id)
    with refused(ErrorCode.CONVERSATION_CLOSED):
        await store.set_risk(cid, "none")
    # A note may still be added once closed, as on SQLite.
    await store.insert_note(cid, hana.id, "事後メモ")


async def test_a_transfer_hands_a_chat_to_a_counselor_or_back_to_a_desk(centre: Centre) -> None:
    store, hana, ren, kai = centre.store, centre.hana, centre.ren, centre.kai
    cid = await held(centre, hana)

    moved = await store.transfer_conversation(
        cid, hana.id, hana.id, ren, centre.general, "引き継ぎ：法律相談の希望", 3
    )
    assert (moved.author, moved.body) == ("system", "counselor_changed")
    conversation = await store.get_conversation(cid)
    assert conversation is not None
    assert (conversation.status, conversation.counselor_id) == ("active", ren.id)
    assert await store.was_held_by(cid, hana.id) and not await store.was_held_by(cid, ren.id)
    case = await store.get_case(cid)
    assert case is not None
    assert [(n.kind, n.author, n.body) for n in case.notes] == [
        ("transfer", "花子", "引き継ぎ：法律相談の希望")
    ]

    # The holder changed: hana's stale transfer finds nothing.
    with refused(ErrorCode.NOT_FOUND):
        await store.transfer_conversation(cid, hana.id, hana.id, kai, centre.legal, None, 3)
    # Nobody takes it who holds it already or does not work the desk.
    with refused(ErrorCode.UNKNOWN_USER):
        await store.transfer_conversation(cid, ren.id, ren.id, ren, centre.general, None, 3)
    with refused(ErrorCode.UNKNOWN_USER):
        await store.transfer_conversation(cid, ren.id, ren.id, kai, centre.general, None, 3)

    # Back to the legal desk's queue, then not again to the same desk.
    await store.transfer_conversation(cid, ren.id, ren.id, None, centre.legal, None, 3)
    conversation = await store.get_conversation(cid)
    assert conversation is not None
    assert (conversation.status, conversation.counselor_id, conversation.desk_id) == (
        "waiting",
        None,
        centre.legal,
    )
    with refused(ErrorCode.INVALID_PAYLOAD):
        await store.transfer_conversation(cid, ren.id, None, None, centre.legal, None, 3)

    # kai holds one chat already: a limit of one refuses, two lets it through.
    await held(centre, kai, centre.legal)
    with refused(ErrorCode.CHAT_LIMIT):
        await store.transfer_conversation(cid, ren.id, None, kai, centre.legal, None, 1)
    await store.transfer_conversation(cid, ren.id, None, kai, centre.legal, "", 2)
    conversation = await store.get_conversation(cid)
    assert conversation is not None and conversation.counselor_id == kai.id
    case = await store.get_case(cid)
    assert case is not None and len(case.notes) == 1  # an empty note adds none

    await store.close_conversation(cid, "resolved", "counselor", kai.id)
    with refused(ErrorCode.CONVERSATION_CLOSED):
        await store.transfer_conversation(cid, kai.id, kai.id, hana, centre.legal, None, 3)
    with refused(ErrorCode.NOT_FOUND):
        await store.transfer_conversation("nope", kai.id, kai.id, hana, centre.legal, None, 3)


def local_day(created_at: str) -> datetime:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(TOKYO)


async def test_closed_lists_narrow_by_desk_holder_date_outcome_tag_and_code_word(
    centre: Centre,
) -> None:
    store, hana, ren, kai = centre.store, centre.hana, centre.ren, centre.kai
    handed = await held(centre, hana)
    await store.set_code_word(handed, "さくら")
    await store.set_tags(handed, ["family"])
    await store.set_summary(handed, hana.id, "要約")
    await store.transfer_conversation(handed, hana.id, hana.id, ren, centre.general, None, 3)
    await store.close_conversation(handed, "referred_phone", "counselor", ren.id)
    legal = await held(centre, kai, centre.legal)
    await store.close_conversation(legal, "resolved", "counselor", kai.id, quick_exit=True)
    mine = await held(centre, hana)
    await store.close_conversation(mine, "resolved", "visitor")
    await waiting(centre)  # open: never listed

    def ids(items: list[Any]) -> set[str]:
        return {item.id for item in items}

    everything = await store.list_closed(None, None, ClosedFilter())
    assert ids(everything) == {handed, legal, mine}
    assert [i.created_at for i in everything] == sorted(
        (i.created_at for i in everything), reverse=True
    )
    item = next(i for i in everything if i.id == handed)
    assert (item.counselor, item.tags, item.has_summary, item.outcome, item.quick_exit) == (
        "蓮",
        ("family",),
        True,
        "referred_phone",
        False,
    )
    assert next(i for i in everything if i.id == legal).quick_exit

    async def listed(desks: list[int] | None, holder: int | None, **where: Any) -> set[str]:
        return ids(await store.list_closed(desks, holder, ClosedFilter(**where)))

    assert await listed([centre.general], None) == {handed, mine}
    assert await listed([], None) == set()
    assert await listed(None, hana.id) == {handed, mine}  # handed: held before the transfer
    assert await listed(None, kai.id) == {legal}
    # The exact code word widens a counselor's list to any conversation of their desks.
    assert await listed([centre.general], kai.id, code_word="さくら") == {handed}
    assert await listed(None, None, code_word="さくらX") == set()
    assert await listed(None, None, desk_id=centre.legal) == {legal}
    assert await listed(None, None, outcome="resolved") == {legal, mine}
    assert await listed(None, None, tag="family") == {handed}
    day = local_day(item.created_at).date()
    assert await listed(None, None, date_from=day, date_to=day) == {handed, legal, mine}
    assert await listed(None, None, date_from=day.replace(year=day.year + 1)) == set()
    assert await listed(None, None, date_to=day.replace(year=day.year - 1)) == set()


async def test_staff_read_which_counselor_wrote_each_line_after_a_transfer(
    centre: Centre,
) -> None:
    store, hana, ren = centre.store, centre.hana, centre.ren
    cid = await held(centre, hana)
    await said(centre, cid, "相談です")
    await store.append_message(cid, "counselor", hana.id, "hana-1", "花子です")
    await store.transfer_conversation(cid, hana.id, hana.id, ren, centre.general, None, 3)
    await store.append_message(cid, "counselor", ren.id, "ren-1", "蓮が引き継ぎました")
    expected = [
        ("system", None, None),
        ("visitor", None, None),
        ("counselor", hana.id, "花子"),
        ("system", None, None),
        ("counselor", ren.id, "蓮"),
    ]

    messages, _ = await store.list_messages(cid, 0, 50)
    assert [(m.author, m.user_id, m.writer) for m in messages] == expected
    found = await store.get_history(cid, 2, 50)
    assert found is not None
    assert [(m.author, m.user_id, m.writer) for m in found[1]] == expected[2:]

    await store.close_conversation(cid, "resolved", "counselor", ren.id)
    _, closed = await store.open_closed(SUPERVISOR, cid, "supervision", True)
    assert [(m.author, m.user_id, m.writer) for m in closed[:-1]] == expected


async def test_a_summary_save_based_on_an_old_revision_is_refused_and_keeps_the_text(
    centre: Centre,
) -> None:
    store, hana, ren, mori = centre.store, centre.hana, centre.ren, centre.mori
    cid = await held(centre, hana)
    first = await store.set_summary(cid, hana.id, "花子の要約", None)
    case = await store.get_case(cid)
    assert case is not None
    assert (case.summary, case.summary_at, case.summary_by) == ("花子の要約", first, "花子")

    # The supervisor, who read it before hana saved, would overwrite it unseen: refused.
    with refused(ErrorCode.SUMMARY_CONFLICT):
        await store.set_summary(cid, mori.id, "森の要約", None)
    case = await store.get_case(cid)
    assert case is not None and (case.summary, case.summary_at) == ("花子の要約", first)

    # Read again, it saves, with a new revision even within the same millisecond.
    second = await store.set_summary(cid, mori.id, "森の要約", first)
    assert second > first
    with refused(ErrorCode.SUMMARY_CONFLICT):
        await store.set_summary(cid, hana.id, "花子の追記", first)
    # The same text as stored loses nothing, whatever it was based on.
    third = await store.set_summary(cid, hana.id, "森の要約", first)
    assert third > second

    # After a transfer, the new holder's save on the revision they saw goes through.
    await store.transfer_conversation(cid, hana.id, hana.id, ren, centre.general, None, 3)
    await store.set_summary(cid, ren.id, "蓮の要約", third)
    case = await store.get_case(cid)
    assert case is not None and (case.summary, case.summary_by) == ("蓮の要約", "蓮")
    with refused(ErrorCode.NOT_FOUND):
        await store.set_summary("no-such-conversation", ren.id, "x", None)


async def test_each_opening_of_a_closed_conversation_is_audited(
    centre: Centre, backend: Backend
) -> None:
    store, hana = centre.store, centre.hana
    cid = await held(centre, hana)
    await said(centre, cid, "相談です", "ありがとう")
    with refused(ErrorCode.NOT_FOUND):
        await store.open_closed(SUPERVISOR, cid, "supervision", True)  # still open
    await store.insert_note(cid, hana.id, "メモ")
    await store.close_conversation(cid, "resolved", "counselor", hana.id)

    case, messages = await store.open_closed(SUPERVISOR, cid, "supervision", True)
    assert case.status == "closed" and [n.body for n in case.notes] == ["メモ"]
    assert [(m.seq, m.author, m.body) for m in messages] == [
        (1, "system", "counselor_joined"),
        (2, "visitor", "相談です"),
        (3, "visitor", "ありがとう"),
        (4, "system", "conversation_closed"),
    ]
    case, messages = await store.open_closed(SUPERVISOR, cid, "handoff", False)
    assert messages == []
    with refused(ErrorCode.NOT_FOUND):
        await store.open_closed(SUPERVISOR, "no-such-conversation", "handoff", False)

    rows = await backend.rows(
        "SELECT actor, actor_id, target, detail FROM audit_log "
        "WHERE action = 'conversation.open' ORDER BY id"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [("mori", 4, f"conversation:{cid}")] * 2
    assert [r[3] for r in rows] == [
        '{"purpose": "supervision", "transcript": true}',
        '{"purpose": "handoff", "transcript": false}',
    ]


async def test_a_survey_comes_once_after_the_chat_and_reads_back(centre: Centre) -> None:
    store = centre.store
    cid = await held(centre, centre.hana)
    assert await store.get_survey(cid) is None
    with refused(ErrorCode.CONVERSATION_OPEN):
        await store.insert_survey(cid, Survey(4, True, "感想"))
    await store.close_conversation(cid, "resolved", "visitor")
    await store.insert_survey(cid, Survey(4, True, "感想"))
    assert await store.get_survey(cid) == {"rating": 4, "helpful": True, "comment": "感想"}
    with refused(ErrorCode.ALREADY_ANSWERED):
        await store.insert_survey(cid, Survey(5, False, None))
    other = await held(centre, centre.ren)
    await store.close_conversation(other, "resolved", "visitor")
    await store.insert_survey(other, Survey(None, None, None))
    assert await store.get_survey(other) == {"rating": None, "helpful": None, "comment": None}


async def consulted(centre: Centre) -> str:
    """A closed conversation with every kind of content."""
    store, hana = centre.store, centre.hana
    cid = await held(centre, hana)
    await store.set_code_word(cid, f"合言葉{cid[:4]}")
    await said(centre, cid, "相談の本文")
    await store.append_message(cid, "counselor", hana.id, secrets.token_hex(8), "返信の本文")
    await store.insert_note(cid, hana.id, "内部メモ")
    await store.set_tags(cid, ["work"])
    await store.set_summary(cid, hana.id, "引継ぎ")
    await store.close_conversation(cid, "resolved", "visitor")
    await store.insert_survey(cid, Survey(4, None, "感想"))
    return cid


async def raw(backend: Backend, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows read past the store; ``sql`` numbers its placeholders $1, $2 (SQLite: ?1, ?2)."""
    if backend.name == "sqlite":
        sql = re.sub(r"\$(\d)", r"?\1", sql)
    return await backend.rows(sql, *params)


# Every sealed value of conversation $1.
SEALED = (
    "SELECT body FROM message WHERE conversation_id = $1 "
    "UNION ALL SELECT body FROM note WHERE conversation_id = $1 "
    "UNION ALL SELECT summary FROM conversation WHERE id = $1 "
    "UNION ALL SELECT code_word FROM conversation WHERE id = $1 "
    "UNION ALL SELECT comment FROM survey WHERE conversation_id = $1"
)
# The sealed values a purge erases: all but the system messages' codes.
ERASABLE = SEALED.replace("$1 UNION", "$1 AND author != 'system' UNION", 1)
# What reports count, which a purge keeps.
FACTS = (
    "SELECT c.outcome, c.closed_at, c.desk_id, s.rating, "
    "(SELECT COUNT(*) FROM message AS m WHERE m.conversation_id = c.id), "
    "(SELECT COUNT(*) FROM conversation_tag AS t WHERE t.conversation_id = c.id) "
    "FROM conversation AS c JOIN survey AS s ON s.conversation_id = c.id WHERE c.id = $1"
)


async def test_a_purge_erases_content_and_keeps_what_reports_count(
    centre: Centre, backend: Backend
) -> None:
    store = centre.store
    old, older = await consulted(centre), await consulted(centre)
    open_one = await held(centre, centre.ren)
    await said(centre, open_one, "まだ開いている")
    facts = {cid: await raw(backend, FACTS, cid) for cid in (old, older)}
    untouched = await raw(backend, SEALED, open_one)

    assert await store.purge_closed_before(CLI_ACTOR, LONG_AGO, 10) == 0
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 1) == 1
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 10) == 1
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 10) == 0

    for cid in (old, older):
        assert await raw(backend, FACTS, cid) == facts[cid]
        bodies = await raw(
            backend, "SELECT author, body FROM message WHERE conversation_id = $1 ORDER BY seq", cid
        )
        assert [r[1] for r in bodies if r[0] != "system"] == [b"", b""]
        assert all(len(r[1]) > 16 for r in bodies if r[0] == "system")  # codes, still sealed
        left = await raw(
            backend,
            "SELECT COUNT(*) FROM note WHERE conversation_id = $1 "
            "UNION ALL SELECT COUNT(*) FROM conversation WHERE id = $1 AND (summary IS NOT NULL "
            "OR code_word IS NOT NULL OR code_word_mac IS NOT NULL) "
            "UNION ALL SELECT COUNT(*) FROM survey WHERE conversation_id = $1 "
            "AND comment IS NOT NULL",
            cid,
        )
        assert left == [(0,), (0,), (0,)]
        case = await store.get_case(cid)
        assert case is not None and case.notes == () and case.tags == ("work",)
    assert await raw(backend, SEALED, open_one) == untouched
    audit = await backend.rows(
        "SELECT actor, detail FROM audit_log WHERE action = 'retention.purge' ORDER BY id"
    )
    assert [a[0] for a in audit] == ["cli", "cli"] and all('"count": 1' in a[1] for a in audit)

    assert await store.forget_erased(compact=False)
    assert await store.forget_erased(compact=True)


async def reseal_world(centre: Centre) -> tuple[str, int]:
    """A closed conversation with every sealed column; how many values are sealed in all."""
    cid = await consulted(centre)
    # 4 messages (2 system), a note, the summary, the code word, the survey's comment.
    return cid, 8


async def test_a_rotation_reseals_everything_with_the_new_key(
    centre: Centre, backend: Backend
) -> None:
    cid, count = await reseal_world(centre)
    old_key = backend.sealer
    _, (old_keys,) = old_key.__reduce__()  # the keys, as pickling hands them on
    new = parse_keys(new_key())
    rotated = Sealer([*new, *old_keys])
    assert await centre.store.reseal(rotated) == count
    assert await centre.store.reseal(rotated) == 0  # all current already

    blobs = [r[0] for r in await raw(backend, SEALED, cid)]
    assert len(blobs) == count
    assert all(rotated.is_current(bytes(b)) for b in blobs)
    assert await backend.rows("SELECT key_id FROM sealing_key") == [(rotated.key_id.hex(),)]

    fresh = await backend.open_another(Sealer(new))
    case = await fresh.get_case(cid)
    assert case is not None
    assert (case.summary, case.code_word, [n.body for n in case.notes]) == (
        "引継ぎ",
        f"合言葉{cid[:4]}",
        ["内部メモ"],
    )
    assert await fresh.get_survey(cid) == {"rating": 4, "helpful": None, "comment": "感想"}
    # The code word's lookup hash was made again with the new key.
    found = await fresh.list_closed(None, None, ClosedFilter(code_word=f"合言葉{cid[:4]}"))
    assert [i.id for i in found] == [cid]
    with pytest.raises(SealError):
        await backend.open_another(old_key)


# -- PostgreSQL only: no dead row version keeps erased ciphertext --------------------------------


@pytest.fixture
async def pg(postgres: Postgres, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = await open_backend("postgres", tmp_path, postgres)
    try:
        yield opened
    finally:
        await opened.close()


async def heap_bytes(admin_url: str, tables: tuple[str, ...]) -> bytes:
    """The data of every row version in ``tables``' pages, dead ones included (pageinspect)."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        found = []
        for table in tables:
            for relation in (table, await toast_of(conn, table)):
                if relation is None:
                    continue
                pages = await conn.fetchval(
                    "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int",
                    relation,
                )
                for page in range(pages):
                    rows = await conn.fetch(
                        "SELECT t_data FROM heap_page_items(get_raw_page($1, $2))",
                        relation,
                        page,
                    )
                    found += [bytes(r[0]) for r in rows if r[0] is not None]
        return b"\0".join(found)
    finally:
        await conn.close()


async def toast_of(conn: asyncpg.Connection, table: str) -> str | None:
    name = await conn.fetchval(
        "SELECT t.oid::regclass::text FROM pg_class AS c JOIN pg_class AS t "
        "ON t.oid = c.reltoastrelid WHERE c.oid = $1::regclass",
        table,
    )
    return str(name) if name else None


ERASED_TABLES = ("message", "note", "conversation", "survey")


@pytest.mark.parametrize("compact", [False, True], ids=["vacuum", "vacuum-full"])
async def test_postgres_forget_erased_leaves_no_dead_row_with_erased_content(
    pg: Backend, compact: bool
) -> None:
    centre = await staffed(pg.store)
    cid = await consulted(centre)
    erasable = [bytes(r[0]) for r in await raw(pg, ERASABLE, cid)]
    assert len(erasable) == 6
    assert await pg.store.purge_closed_before(CLI_ACTOR, ALL_TIME, 10) == 1

    before = await heap_bytes(pg.admin_url, ERASED_TABLES)
    assert all(blob in before for blob in erasable)  # dead versions hold them: the check sees

    assert await pg.store.forget_erased(compact)
    after = await heap_bytes(pg.admin_url, ERASED_TABLES)
    assert cid.encode() in after
    for blob in erasable:
        assert blob not in after
    if not compact:
        vacuumed = await pg.rows(
            "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL"
        )
        assert {r[0] for r in vacuumed} >= set(ERASED_TABLES)


async def test_postgres_forget_erased_says_when_an_old_snapshot_keeps_erased_rows(
    pg: Backend,
) -> None:
    centre = await staffed(pg.store)
    cid = await consulted(centre)
    reader = await asyncpg.connect(pg.url)
    try:
        # A transaction that has read before the purge keeps seeing the erased rows.
        snapshot = reader.transaction(isolation="repeatable_read")
        await snapshot.start()
        assert await reader.fetchval("SELECT COUNT(*) FROM note WHERE conversation_id = $1", cid)
        assert await pg.store.purge_closed_before(CLI_ACTOR, ALL_TIME, 10) == 1
        assert not await pg.store.forget_erased(compact=False)
        assert await reader.fetchval("SELECT COUNT(*) FROM note WHERE conversation_id = $1", cid)
        await snapshot.rollback()
    finally:
        await reader.close()
    assert await pg.store.forget_erased(compact=False)
