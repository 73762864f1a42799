"""A claim is decided inside its own transaction against the account as it is then: a change of
the account's desks or active flag that commits first wins, whatever the caller checked before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.crypto import Sealer, new_key, parse_keys
from service.db.store import SqliteStore
from service.domain.audit import Actor
from service.errors import AppError, ErrorCode

ADMIN = Actor("admin")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "madoguchi.sqlite3", Sealer(parse_keys(new_key())))
    await opened.ensure_defaults("24/7")
    await opened.insert_desk(ADMIN, "youth", {"name": "若者窓口"})
    yield opened
    await opened.close()


async def waiting_on(store: SqliteStore, desk_key: str, conversation_id: str) -> None:
    desk = next(d for d in await store.list_desks() if d.key == desk_key)
    await store.insert_conversation(
        conversation_id, f"t-{conversation_id}", desk.id, None, None, "ja", None
    )


async def test_a_counselor_whose_desk_was_taken_away_cannot_claim_its_chat(
    store: SqliteStore,
) -> None:
    user_id = await store.insert_user("kai", "カイ", "counselor", "x", ["general"])
    await waiting_on(store, "youth", "c-youth")
    await waiting_on(store, "general", "c-general")

    with pytest.raises(AppError) as refused:
        await store.claim_conversation("c-youth", user_id)
    assert refused.value.code == ErrorCode.NOT_FOUND
    assert (await store.get_conversation("c-youth")).status == "waiting"  # type: ignore[union-attr]

    await store.claim_conversation("c-general", user_id)
    assert (await store.get_conversation("c-general")).counselor_id == user_id  # type: ignore[union-attr]


async def test_a_deactivated_account_cannot_claim(store: SqliteStore) -> None:
    user_id = await store.insert_user("sora", "ソラ", "counselor", "x", None)
    await waiting_on(store, "general", "c1")
    await store.update_user(ADMIN, "sora", {"active": False})

    with pytest.raises(AppError) as refused:
        await store.claim_conversation("c1", user_id)
    assert refused.value.code == ErrorCode.NOT_FOUND


async def test_a_chat_taken_already_still_says_so(store: SqliteStore) -> None:
    first = await store.insert_user("hana", "ハナ", "counselor", "x", None)
    second = await store.insert_user("kai", "カイ", "counselor", "x", None)
    await waiting_on(store, "general", "c1")
    await store.claim_conversation("c1", first)

    with pytest.raises(AppError) as refused:
        await store.claim_conversation("c1", second)
    assert refused.value.code == ErrorCode.ALREADY_CLAIMED
