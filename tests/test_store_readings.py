"""Desks' and emergency lines' English names and readings in kana, on both backends: the
defaults the first start and the migrations give, and what an admin sets, kept and audited."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from service.actions.admin import Admin
from service.actions.admin.directory import (
    ContactIn,
    ContactsReplace,
    DeskCreate,
    DeskUpdate,
    do_add_desk,
    do_replace_contacts,
    do_update_desk,
)
from service.db.admin import DEFAULT_DESK_NAME_EN, DEFAULT_DESK_NAME_KANA
from service.domain.audit import Actor
from service.domain.directory import EmergencyContact
from service.errors import AppError, ErrorCode
from service.storage import Store
from tests import stores

backend, store = stores.backend, stores.store  # fixtures

ADMIN = Actor("aiko", 1)


def admin(store: Store) -> Admin:
    return Admin(store=store, actor=ADMIN)


async def test_the_default_desk_and_the_built_in_lines_have_names_and_readings(
    store: Store,
) -> None:
    await store.ensure_defaults("24/7")
    desks = await store.list_desks()
    general = next(d for d in desks if d.key == "general")
    assert (general.name_en, general.name_kana) == (DEFAULT_DESK_NAME_EN, DEFAULT_DESK_NAME_KANA)
    lines = {c.number: c for c in await store.list_emergency_contacts()}
    assert (lines["110"].name_en, lines["110"].name_kana) == ("Police", "けいさつ")
    assert lines["110"].note_en == "If you are in danger now"
    assert all(c.name_en for c in lines.values())
    assert all(c.name_kana for c in lines.values())


async def test_a_desks_names_are_set_changed_and_audited(store: Store) -> None:
    made = await do_add_desk(
        admin(store),
        DeskCreate(key="night", name="夜間相談", name_en="Night desk", name_kana="やかん そうだん"),
    )
    assert (made.name_en, made.name_kana) == ("Night desk", "やかん そうだん")
    changed = await do_update_desk(admin(store), "night", DeskUpdate(name_en="Evening desk"))
    assert (changed.name_en, changed.name_kana) == ("Evening desk", "やかん そうだん")
    cleared = await do_update_desk(admin(store), "night", DeskUpdate(name_kana=""))
    assert cleared.name_kana == ""
    stored = next(d for d in await store.list_desks() if d.key == "night")
    assert (stored.name_en, stored.name_kana) == ("Evening desk", "")
    details = [e.detail for e in await store.list_audit(10) if e.target == "desk:night"]
    assert {"name_kana": ""} in details and {"name_en": "Evening desk"} in details


async def test_a_reading_in_kanji_is_refused_and_nothing_is_written(store: Store) -> None:
    await store.ensure_defaults("24/7")
    with pytest.raises(AppError) as refused:
        await do_update_desk(admin(store), "general", DeskUpdate(name_kana="一般"))
    assert refused.value.code == ErrorCode.INVALID_PAYLOAD
    general = next(d for d in await store.list_desks() if d.key == "general")
    assert general.name_kana == DEFAULT_DESK_NAME_KANA


async def test_the_lines_keep_their_names_and_readings(store: Store) -> None:
    given = ContactsReplace(
        contacts=[
            ContactIn(
                name="警察", number="110", note_en="Now", name_en="Police", name_kana="けいさつ"
            ),
            ContactIn(name="区の窓口", number="03-0000-0000"),
        ]
    )
    await do_replace_contacts(admin(store), given)
    assert await store.list_emergency_contacts() == [
        EmergencyContact("警察", "110", "", "Now", "Police", "けいさつ"),
        EmergencyContact("区の窓口", "03-0000-0000", "", "", "", ""),
    ]


async def test_the_built_in_lines_bring_their_easy_notes(store: Store) -> None:
    await store.ensure_defaults("24/7")
    notes = {c.number: c.note_easy for c in await store.list_emergency_contacts()}
    assert notes == {
        "110": "いま すぐ あぶない とき",
        "0120-279-889": "24じかん・おかねは かかりません",
        "#8008": "ちかくの そうだん まどぐちに つながります",
        "#8891": "ちかくの センターに つながります",
        "0120-279-338": "24じかん・おかねは かかりません",
    }


async def test_a_lines_easy_note_is_kept_and_one_in_kanji_refused(store: Store) -> None:
    line = ContactIn(name="区の窓口", number="03-0000-0000", note_ja="平日のみ")
    await do_replace_contacts(
        admin(store), ContactsReplace(contacts=[replace(line, note_easy="へいじつ だけ")])
    )
    [stored] = await store.list_emergency_contacts()
    assert (stored.note_ja, stored.note_easy) == ("平日のみ", "へいじつ だけ")
    with pytest.raises(AppError) as refused:
        await do_replace_contacts(
            admin(store), ContactsReplace(contacts=[replace(line, note_easy="平日 だけ")])
        )
    assert refused.value.code == ErrorCode.INVALID_PAYLOAD
    assert await store.list_emergency_contacts() == [stored]
