"""Practice desks in storage, on SQLite and PostgreSQL alike: the flag is stored when a desk is
made, reports never read a practice conversation, and the practice purge erases only those."""

from __future__ import annotations

import secrets

from service.domain.audit import CLI_ACTOR
from service.storage import Store
from tests import stores

backend = stores.backend
store = stores.store

ALL_TIME = "2999-01-01T00:00:00.000Z"
SINCE = "2000-01-01T00:00:00.000Z"


async def opened_and_closed(store: Store, desk_id: int, words: str) -> str:
    cid = secrets.token_hex(8)
    await store.insert_conversation(cid, secrets.token_hex(16), desk_id, None, None, "ja", None)
    await store.append_message(cid, "visitor", None, secrets.token_hex(8), words)
    await store.close_conversation(cid, "resolved", "visitor")
    return cid


async def desks_by_key(store: Store) -> dict[str, int]:
    return {d.key: d.id for d in await store.list_desks()}


async def test_a_desk_made_as_practice_says_so_and_others_do_not(store: Store) -> None:
    await store.ensure_defaults("24/7")
    made = await store.insert_desk(CLI_ACTOR, "practice", {"name": "練習", "practice": True})
    plain = await store.insert_desk(CLI_ACTOR, "legal", {"name": "法律相談"})
    assert made.practice and not plain.practice
    listed = {d.key: d.practice for d in await store.list_desks()}
    assert listed == {"general": False, "practice": True, "legal": False}
    # A change of other fields keeps the flag as it is.
    renamed = await store.update_desk(CLI_ACTOR, "practice", {"name": "練習用"})
    assert renamed.practice and renamed.name == "練習用"


async def test_reports_never_read_a_practice_conversation(store: Store) -> None:
    await store.ensure_defaults("24/7")
    await store.insert_desk(CLI_ACTOR, "practice", {"name": "練習", "practice": True})
    desks = await desks_by_key(store)
    await opened_and_closed(store, desks["general"], "本当の相談")
    await opened_and_closed(store, desks["practice"], "練習の相談")
    for scope in (None, [desks["general"], desks["practice"]], [desks["practice"]]):
        found = await store.list_consultations(SINCE, ALL_TIME, scope)
        assert [c.desk for c in found] == ([] if scope == [desks["practice"]] else ["general"])


async def test_the_practice_purge_erases_practice_conversations_only(store: Store) -> None:
    await store.ensure_defaults("24/7")
    await store.insert_desk(CLI_ACTOR, "practice", {"name": "練習", "practice": True})
    desks = await desks_by_key(store)
    real = await opened_and_closed(store, desks["general"], "本当の相談")
    practice = await opened_and_closed(store, desks["practice"], "練習の相談")

    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 10, practice_only=True) == 1
    assert await store.purge_closed_before(CLI_ACTOR, ALL_TIME, 10, practice_only=True) == 0
    real_words, _ = await store.list_messages(real, 0, 10)
    practice_words, _ = await store.list_messages(practice, 0, 10)
    assert [m.body for m in real_words if m.author == "visitor"] == ["本当の相談"]
    assert [m.body for m in practice_words if m.author == "visitor"] == [""]
    [entry, *_] = await store.list_audit()
    assert (entry.action, entry.detail["count"], entry.detail["practice"]) == (
        "retention.purge",
        1,
        True,
    )
