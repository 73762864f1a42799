"""Counselor training answers the same on both stores (``tests/stores.py``): the scenarios and
rubric the migration ships, editing them, the scripted visitor's turns, reviews and who reads
them, and that a practice chat's training goes with its content at the practice retention."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from service.actions.training import is_scripted
from service.catalog import Catalog
from service.config import Settings
from service.context import Context
from service.domain.accounts import Role, User
from service.domain.audit import CLI_ACTOR, Actor
from service.domain.replies import POSTER_TOPICS
from service.domain.training import SCRIPT_ENDED, ReviewInput
from service.errors import AppError, ErrorCode
from service.storage import Store
from tests import stores
from tests.stores import Backend

backend = stores.backend
store = stores.store

SUPERVISOR = Actor("mori", 4)
ALL_TIME = "2999-01-01T00:00:00.000Z"


@dataclass
class Centre:
    store: Store
    practice: int
    hana: User
    ren: User
    mori: User


@pytest.fixture
async def centre(store: Store) -> Centre:
    await store.ensure_defaults("24/7")
    await store.insert_desk(CLI_ACTOR, "drill", {"name": "練習窓口", "practice": True})
    desk = next(d for d in await store.list_desks() if d.key == "drill")
    people: dict[str, tuple[str, Role]] = {
        "hana": ("花子", "counselor"),
        "ren": ("蓮", "counselor"),
        "mori": ("森", "supervisor"),
    }
    users = {}
    for username, (name, role) in people.items():
        await store.insert_user(username, name, role, "hash", None)
        found = await store.get_user(username)
        assert found is not None
        users[username] = found
    return Centre(store, desk.id, **users)


@contextlib.contextmanager
def refused(code: ErrorCode) -> Iterator[None]:
    with pytest.raises(AppError) as refusal:
        yield
    assert refusal.value.code == code, refusal.value


async def practice_chat(centre: Centre, user: User, scenario_id: int | None, mode: str) -> str:
    cid = secrets.token_hex(8)
    await centre.store.insert_conversation(
        cid, secrets.token_hex(16), centre.practice, None, None, "ja", None
    )
    await centre.store.insert_practice_session(cid, scenario_id, mode, None)  # type: ignore[arg-type]
    await centre.store.claim_conversation(cid, user.id)
    return cid


async def reply(centre: Centre, cid: str, user: User, body: str) -> None:
    await centre.store.append_message(cid, "counselor", user.id, secrets.token_hex(8), body)


async def test_six_scenarios_one_per_topic_and_the_rubric_ship_with_the_schema(
    store: Store,
) -> None:
    scenarios = await store.list_scenarios()
    assert [s.topic for s in scenarios] == [t for t in POSTER_TOPICS if t != "other"]
    assert all(3 <= len(s.lines) <= 6 and not s.archived for s in scenarios)
    assert "大学" in scenarios[0].title
    assert [s.ends_with_exit for s in scenarios].count(True) == 1
    assert [(i.label_ja, i.label_en) for i in await store.list_rubric()] == [
        ("共感", "Empathy"),
        ("安全確認", "Safety check"),
        ("情報提供", "Information given"),
        ("つなぎ", "Handover"),
    ]


async def test_scenarios_and_rubric_items_are_added_edited_and_archived_with_audit(
    store: Store,
) -> None:
    made = await store.insert_scenario(
        SUPERVISOR,
        {
            "title": "はじめての電話",
            "topic": "other",
            "persona": "60代",
            "situation": "近所の人のこと",
            "lines": ("こんにちは", "相談してもいいですか"),
            "focus": "傾聴",
            "ends_with_exit": False,
        },
    )
    assert made.lines == ("こんにちは", "相談してもいいですか")
    archived = await store.update_scenario(
        SUPERVISOR, made.id, {"title": "はじめての電話（改）", "archived": True}
    )
    assert (archived.title, archived.archived, archived.persona) == (
        "はじめての電話（改）",
        True,
        "60代",
    )
    item = await store.insert_rubric_item(
        SUPERVISOR,
        {
            "label_ja": "守秘",
            "label_en": "Confidentiality",
            "hint": "",
            "position": 5,
            "active": True,
        },
    )
    retired = await store.update_rubric_item(SUPERVISOR, item.id, {"active": False})
    assert (retired.label_ja, retired.active) == ("守秘", False)
    with refused(ErrorCode.NOT_FOUND):
        await store.update_scenario(SUPERVISOR, 999_999, {"title": "x"})
    entries = [(e.action, e.target) for e in await store.list_audit()]
    assert entries.count(("training.scenario.update", f"scenario:{made.id}")) == 1
    assert entries.count(("training.rubric.create", f"rubric:{item.id}")) == 1


async def test_the_script_sends_a_line_per_answer_then_says_it_ended(centre: Centre) -> None:
    store, hana = centre.store, centre.hana
    scenario = (await store.list_scenarios())[1]  # four lines
    cid = await practice_chat(centre, hana, scenario.id, "scripted")

    first = await store.advance_script(cid)
    assert first is not None
    assert [(m.author, m.body) for m in first.messages] == [("visitor", scenario.lines[0])]
    # No second line before the trainee has answered the first.
    assert await store.advance_script(cid) is None
    for expected in scenario.lines[1:]:
        await reply(centre, cid, hana, "はい、お聞きします。")
        step = await store.advance_script(cid)
        assert step is not None
        assert [m.body for m in step.messages] == [expected]
        assert await store.advance_script(cid) is None
    await reply(centre, cid, hana, "お話しくださってありがとうございます。")
    ended = await store.advance_script(cid)
    assert ended is not None and not ended.leave
    assert [(m.author, m.body) for m in ended.messages] == [("system", SCRIPT_ENDED)]
    await reply(centre, cid, hana, "またいつでもどうぞ。")
    assert await store.advance_script(cid) is None
    messages, _ = await store.list_messages(cid, 0, 100)
    assert [m.body for m in messages if m.author == "visitor"] == list(scenario.lines)


async def test_the_exit_scenario_leaves_right_after_its_last_line(centre: Centre) -> None:
    store, hana = centre.store, centre.hana
    scenario = next(s for s in await store.list_scenarios() if s.ends_with_exit)
    cid = await practice_chat(centre, hana, scenario.id, "scripted")
    step = await store.advance_script(cid)
    for _ in scenario.lines[1:]:
        await reply(centre, cid, hana, "大丈夫ですか？")
        step = await store.advance_script(cid)
    assert step is not None and step.leave
    assert [m.body for m in step.messages] == [scenario.lines[-1], SCRIPT_ENDED]


async def test_no_script_plays_in_a_role_played_or_closed_chat(centre: Centre) -> None:
    store, hana = centre.store, centre.hana
    scenario = (await store.list_scenarios())[0]
    played = await practice_chat(centre, hana, scenario.id, "roleplay")
    assert await store.advance_script(played) is None
    scripted = await practice_chat(centre, hana, scenario.id, "scripted")
    await store.close_conversation(scripted, "resolved", "counselor", hana.id)
    assert await store.advance_script(scripted) is None
    assert await store.scripted_among([played, scripted, "nope"]) == {scripted}


async def test_no_script_plays_outside_a_practice_desk_whatever_its_rows_say(
    centre: Centre,
) -> None:
    store, hana = centre.store, centre.hana
    real = secrets.token_hex(8)
    await store.insert_conversation(real, secrets.token_hex(16), 1, None, None, "ja", None)
    await store.insert_practice_session(
        real, (await store.list_scenarios())[0].id, "scripted", None
    )
    await store.claim_conversation(real, hana.id)
    assert await store.advance_script(real) is None
    messages, _ = await store.list_messages(real, 0, 100)
    assert [m.author for m in messages] == ["system"]


async def test_a_review_is_for_a_closed_chat_and_only_its_trainee_is_told(
    centre: Centre,
) -> None:
    store, hana, mori = centre.store, centre.hana, centre.mori
    rubric = await store.list_rubric()
    cid = await practice_chat(centre, hana, (await store.list_scenarios())[0].id, "roleplay")
    await reply(centre, cid, hana, "はじめまして。")
    review = ReviewInput(
        "安全確認をもう少し早く。",
        tuple((i.id, 3, "よい" if n == 0 else "") for n, i in enumerate(rubric)),
        ((2, "ここで気持ちを受け止められています"),),
    )
    with refused(ErrorCode.CONVERSATION_OPEN):
        await store.save_review(cid, mori.id, review)
    await store.close_conversation(cid, "resolved", "counselor", hana.id)
    await store.save_review(cid, mori.id, review)

    assert await store.count_unread_feedback(hana.id) == 1
    assert await store.count_unread_feedback(centre.ren.id) == 0
    found = await store.get_review(cid)
    assert found is not None
    assert (found.trainee_id, found.reviewer, found.comment) == (
        hana.id,
        "森",
        "安全確認をもう少し早く。",
    )
    assert [(s.label_ja, s.score) for s in found.scores][:2] == [("共感", 3), ("安全確認", 3)]
    assert [(m.seq, m.comment) for m in found.marks] == [(2, "ここで気持ちを受け止められています")]
    sessions = await store.list_practice_sessions(hana.id)
    assert [(s.conversation_id, s.reviewed, s.feedback_read) for s in sessions] == [
        (cid, True, False)
    ]
    assert await store.list_practice_sessions(centre.ren.id) == []

    # Another reader's opening marks nothing; the trainee's does.
    await store.mark_review_read(cid, mori.id)
    assert await store.count_unread_feedback(hana.id) == 1
    await store.mark_review_read(cid, hana.id)
    assert await store.count_unread_feedback(hana.id) == 0
    # A second review replaces the first and is news again.
    await store.save_review(cid, mori.id, ReviewInput("追記", review.scores, ()))
    assert [r.comment for r in await store.list_reviews(hana.id)] == ["追記"]
    assert await store.count_unread_feedback(hana.id) == 1


async def test_a_chat_without_a_practice_session_or_an_answer_is_not_reviewed(
    centre: Centre,
) -> None:
    store, mori = centre.store, centre.mori
    cid = secrets.token_hex(8)
    await store.insert_conversation(cid, secrets.token_hex(16), 1, None, None, "ja", None)
    await store.close_conversation(cid, "no_reply", "system")
    with refused(ErrorCode.NOT_FOUND):
        await store.save_review(cid, mori.id, ReviewInput("", (), ()))


async def test_the_chosen_scenario_is_remembered_per_player_and_desk(centre: Centre) -> None:
    store, hana = centre.store, centre.hana
    assert await store.chosen_scenario(hana.id, centre.practice) is None
    first, second = (s.id for s in (await store.list_scenarios())[:2])
    await store.choose_scenario(hana.id, centre.practice, first)
    await store.choose_scenario(hana.id, centre.practice, second)
    assert await store.chosen_scenario(hana.id, centre.practice) == second
    await store.choose_scenario(hana.id, centre.practice, None)
    assert await store.chosen_scenario(hana.id, centre.practice) is None


async def test_practice_retention_erases_reviews_and_sessions_with_the_transcript(
    centre: Centre, backend: Backend
) -> None:
    store, hana, mori = centre.store, centre.hana, centre.mori
    cid = await practice_chat(centre, hana, (await store.list_scenarios())[0].id, "roleplay")
    await reply(centre, cid, hana, "はじめまして。")
    await store.close_conversation(cid, "resolved", "counselor", hana.id)
    rubric = await store.list_rubric()
    await store.save_review(
        cid, mori.id, ReviewInput("講評", tuple((i.id, 2, "") for i in rubric), ((2, "印"),))
    )
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 100, practice_only=True) == 1

    assert await store.get_review(cid) is None
    assert await store.list_practice_sessions(hana.id) == []
    assert await store.count_unread_feedback(hana.id) == 0
    p = "$1" if backend.name == "postgres" else "?"
    for table in ("practice_review", "practice_score", "practice_mark", "practice_session"):
        sql = f"SELECT * FROM {table} WHERE conversation_id = {p}"  # noqa: S608 (constants)
        assert await backend.rows(sql, cid) == []


async def test_a_practice_chat_without_words_loses_its_session_record_too(
    centre: Centre,
) -> None:
    store, hana = centre.store, centre.hana
    cid = await practice_chat(centre, hana, None, "roleplay")
    await store.close_conversation(cid, "visitor_left", "visitor")
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 100, practice_only=True) == 1
    assert await store.get_practice_session(cid) is None
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 100, practice_only=True) == 0


async def test_opening_a_practice_transcript_reads_it_and_audits_the_read(
    centre: Centre,
) -> None:
    cid = await practice_chat(centre, centre.hana, None, "roleplay")
    await reply(centre, cid, centre.hana, "お話しください")
    [session] = await centre.store.list_practice_sessions(centre.hana.id)
    assert session.desk_id == centre.practice
    messages = await centre.store.open_practice_transcript(SUPERVISOR, cid, "review", 10)
    assert [m.body for m in messages if m.author == "counselor"] == ["お話しください"]
    [entry] = [e for e in await centre.store.list_audit() if e.action.startswith("training.t")]
    assert (entry.actor, entry.action, entry.target) == (
        "mori",
        "training.transcript.open",
        f"conversation:{cid}",
    )
    assert entry.detail == {"purpose": "review"}
    # A chat that is no practice is neither read nor audited.
    real = secrets.token_hex(8)
    general = next(d for d in await centre.store.list_desks() if not d.practice)
    await centre.store.insert_conversation(
        real, secrets.token_hex(16), general.id, None, None, "ja", None
    )
    with refused(ErrorCode.NOT_FOUND):
        await centre.store.open_practice_transcript(SUPERVISOR, real, "review", 10)
    audited = [e for e in await centre.store.list_audit() if e.action.startswith("training.t")]
    assert len(audited) == 1


async def test_whether_a_chat_is_scripted_is_asked_once_then_remembered(centre: Centre) -> None:
    store, hana = centre.store, centre.hana
    ctx = Context(Settings(), sio=None)
    catalog = Catalog(store)
    await catalog.reload()
    ctx.attach(store, catalog)
    scenario = (await store.list_scenarios())[0]
    scripted = await practice_chat(centre, hana, scenario.id, "scripted")
    played = await practice_chat(centre, hana, scenario.id, "roleplay")
    assert await is_scripted(ctx, scripted) and not await is_scripted(ctx, played)
    # Their practice records erased with their words, the answers stand: not asked again.
    for cid in (scripted, played):
        await store.close_conversation(cid, "resolved", "counselor", hana.id)
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 100, practice_only=True) == 2
    assert await store.scripted_among([scripted]) == set()
    assert await is_scripted(ctx, scripted) and not await is_scripted(ctx, played)
