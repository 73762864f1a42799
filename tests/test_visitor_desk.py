"""The desk a waiting visitor hears of is the one they wait at: after a counselor hands the chat
back to another desk's queue, the visitor's ``status`` names that desk, its phones and hours in
the visitor's language, and whether anyone who works *that* desk is online, so the note that
nobody is online shows the lines that can answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.support import Clients, Server, login_sync, running_seeded_server

GENERAL_PHONE = "03-5555-0101"
LEGAL_PHONE = "03-5555-0202"
SEED = [
    """UPDATE desk SET phones = '["03-5555-0101"]' WHERE key = 'general'""",
    "INSERT INTO desk (key, name, name_en, name_kana, is_default, hours, closures, phones, "
    "created_at) VALUES ('legal', '法律相談', 'Legal advice', 'ほうりつ そうだん', 0, '24/7', '', "
    """'["03-5555-0202"]', '2026-01-01T00:00:00.000Z')""",
]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # yui works the general desk only: while online, general is staffed and legal is not. Made
    # before the start, so the server counts her from her first connection.
    def add_yui(srv: Server) -> None:
        srv.add_user("yui", PASSWORD, display_name="結衣", desks=["general"])

    with running_seeded_server(SEED, prepare=add_yui) as srv:
        yield srv


@pytest.fixture(scope="module")
def yui_session(server: Server) -> str:
    return login_sync(server, "yui", PASSWORD)


def waiting(status: dict[str, Any]) -> bool:
    return bool(status["status"] == "waiting")


@pytest.mark.parametrize(
    ("lang", "name", "reading", "hours"),
    [
        ("ja", "法律相談", "", "24時間・年中無休"),
        ("en", "Legal advice", "", "24 hours, every day"),
        ("ja-easy", "法律相談", "ほうりつ そうだん", "24じかん・まいにち"),
    ],
)
async def test_after_a_transfer_the_visitor_hears_of_the_new_desk_and_its_phones(
    server: Server,
    clients: Clients,
    yui_session: str,
    lang: str,
    name: str,
    reading: str,
    hours: str,
) -> None:
    yui = await clients.counselor(yui_session)
    await yui.wait_for("queue")  # connected and counted online
    visitor = await clients.visitor(partner="demo", lang=lang)
    started = (await visitor.call("start", {}))["conversation"]
    # The general desk: yui is online there, and its phone is the one the visitor is shown.
    assert started["staffed"] is True
    assert started["desk"]["key"] == "general"
    assert started["desk"]["phones"] == [
        {"number": GENERAL_PHONE, "tel": "tel:" + GENERAL_PHONE.replace("-", "")}
    ]
    cid = started["id"]
    assert (await yui.call("claim", {"conversation_id": cid}))["ok"]
    await visitor.wait_for("status", lambda s: s["status"] == "active")

    assert (await yui.call("transfer", {"conversation_id": cid, "to_desk": "legal"}))["ok"]

    moved = await visitor.wait_for("status", lambda s: waiting(s) and "desk" in s)
    assert moved["desk"] == {
        "key": "legal",
        # Plain words, a reading standing for the kanji; and the parts to draw furigana with.
        "name": reading or name,
        "name_shown": {"text": name, "reading": reading, "lang": ""},
        "hours": hours,
        "phones": [{"number": LEGAL_PHONE, "tel": "tel:" + LEGAL_PHONE.replace("-", "")}],
    }
    # Nobody who works legal is online, though yui (general) still is.
    assert moved["staffed"] is False
    # Every later word on the wait is of the legal desk too: its telling of places.
    told = await visitor.wait_for("status", lambda s: waiting(s) and "queue_position" in s)
    assert told["staffed"] is False


async def test_a_visitor_who_reconnects_after_a_transfer_hears_of_the_new_desk(
    server: Server, clients: Clients, yui_session: str
) -> None:
    yui = await clients.counselor(yui_session)
    visitor = await clients.visitor(partner="demo", lang="ja")
    started = (await visitor.call("start", {}))["conversation"]
    assert (await yui.call("claim", {"conversation_id": started["id"]}))["ok"]
    transfer = {"conversation_id": started["id"], "to_desk": "legal"}
    assert (await yui.call("transfer", transfer))["ok"]
    await visitor.wait_for("status", lambda s: waiting(s) and "desk" in s)
    await visitor.disconnect()

    again = await clients.visitor(partner="demo", lang="ja", token=started["token"])

    status = await again.wait_for("status", waiting)
    assert status["desk"]["key"] == "legal"
    assert status["desk"]["phones"][0]["number"] == LEGAL_PHONE
    assert status["staffed"] is False
