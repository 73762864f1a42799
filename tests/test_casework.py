"""Casework on ``/counselor``: notes, tags, risk, summaries, transfers, supervisors watching and
writing to the counselor, the urgent alert, the limit of concurrent chats, the chat that closes
itself when the visitor is gone, and closed conversations opened on purpose and audited.

Throughout, everything the visitor's socket receives is collected and checked to hold none of it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import (
    Client,
    Clients,
    Server,
    assert_error,
    client_id,
    login_sync,
    running_seeded_server,
    running_server,
)

LEGAL = (
    "INSERT INTO desk (key, name, is_default, hours, closures, created_at) "
    "VALUES ('legal', '法律相談', 0, '24/7', '', '2026-01-01T00:00:00.000Z')"
)
# Personas: two counselors of every desk, one of the legal desk only, a supervisor of every
# desk and one of the legal desk only.
PEOPLE = {
    "hana": ("counselor", "花子", None),
    "ren": ("counselor", "蓮", None),
    "kai": ("counselor", "海", ["legal"]),
    "mori": ("supervisor", "森", None),
    "sato": ("supervisor", "佐藤", ["legal"]),
}
SECRET_NOTE = "メモ：子どもが同居、児相通告をSVと相談"
SECRET_SUMMARY = "要約：身体的DV、電話相談を案内済み"
SECRET_WHISPER = "SVより：110番の判断は私がします"
SECRET_TRANSFER = "引き継ぎ：法律相談の希望あり"


def add_people(server: Server, only: tuple[str, ...] = tuple(PEOPLE)) -> None:
    for username, (role, name, desks) in PEOPLE.items():
        if username in only:
            server.add_user(username, PASSWORD, role=role, display_name=name, desks=desks)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_seeded_server([LEGAL]) as srv:
        add_people(srv)
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in PEOPLE}


async def started(clients: Clients, **start: Any) -> tuple[Client, str]:
    visitor = await clients.visitor()
    ack = await visitor.call("start", start)
    assert ack["ok"], ack
    return visitor, ack["conversation"]["id"]


async def held_by(counselor: Client, clients: Clients, **start: Any) -> tuple[Client, str]:
    visitor, conversation_id = await started(clients, **start)
    assert (await counselor.call("claim", {"conversation_id": conversation_id}))["ok"]
    await visitor.wait_for("status", lambda s: s["status"] == "active")
    return visitor, conversation_id


def seen_by(client: Client) -> str:
    return json.dumps(client.events, ensure_ascii=False)


async def test_notes_tags_risk_and_summary_stay_with_staff(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    mori = await clients.counselor(sessions["mori"])
    visitor, cid = await held_by(hana, clients)
    assert (await visitor.call("code_word", {"word": "さくら"}))["ok"]
    visitor_acks = [await visitor.call("message", {"client_id": client_id(), "body": "相談です"})]

    assert await hana.call("note", {"conversation_id": cid, "body": f"  {SECRET_NOTE} "}) == {
        "ok": True
    }
    tagged = await hana.call(
        "tag", {"conversation_id": cid, "tags": ["family", "domestic_violence"]}
    )
    assert tagged == {"ok": True, "tags": ["family", "domestic_violence"]}
    assert (await hana.call("risk", {"conversation_id": cid, "level": "concern"}))["ok"]
    assert (await hana.call("summary", {"conversation_id": cid, "summary": SECRET_SUMMARY}))["ok"]

    case = (await hana.call("case", {"conversation_id": cid}))["case"]
    assert case["risk"] == "concern" and case["code_word"] == "さくら"
    assert case["tags"] == ["family", "domestic_violence"] and case["summary"] == SECRET_SUMMARY
    assert [(n["kind"], n["author"], n["body"]) for n in case["notes"]] == [
        ("note", "花子", SECRET_NOTE)
    ]
    # Live too: the holder's socket got the case after each change.
    await hana.wait_for("case", lambda c: c["summary"] == SECRET_SUMMARY)

    # A supervisor watches read-only, sees the record, and writes to the counselor alone.
    watched = await mori.call("monitor", {"conversation_id": cid})
    assert watched["ok"] and watched["conversation"]["counselor"] == "花子"
    assert watched["case"]["notes"][0]["body"] == SECRET_NOTE
    assert (await mori.call("supervisor_note", {"conversation_id": cid, "body": SECRET_WHISPER}))[
        "ok"
    ]
    got = await hana.wait_for("case", lambda c: any(n["kind"] == "supervisor" for n in c["notes"]))
    assert got["notes"][-1] == {**got["notes"][-1], "author": "森", "to": "花子"}
    await visitor.call("message", {"client_id": client_id(), "body": "まだいます"})
    await mori.wait_for("message", lambda m: m["body"] == "まだいます")
    # Watching is reading: no writing, no typing to the visitor.
    for event, payload in [
        ("message", {"conversation_id": cid, "client_id": client_id(), "body": "x"}),
        ("typing", {"conversation_id": cid}),
    ]:
        assert_error(await mori.call(event, payload), "not_found")

    await hana.call("close", {"conversation_id": cid, "outcome": "referred_phone"})
    await visitor.wait_for("status", lambda s: s["status"] == "closed")
    visitor_acks.append(await visitor.call("history", {}))
    everything = json.dumps([visitor.events, visitor_acks], ensure_ascii=False)
    for secret in (SECRET_NOTE, SECRET_SUMMARY, SECRET_WHISPER, "domestic_violence", "concern"):
        assert secret not in everything
    assert not {name for name, _ in visitor.events} & {"case", "alert", "note"}
    assert server.query(
        "SELECT risk, summary, code_word FROM conversation WHERE id = ?", (cid,)
    ) == [("concern", SECRET_SUMMARY, "さくら")]
    assert server.query(
        "SELECT kind, body FROM note WHERE conversation_id = ? ORDER BY id", (cid,)
    ) == [("note", SECRET_NOTE), ("supervisor", SECRET_WHISPER)]


async def test_the_summary_given_at_close_is_kept_and_can_be_written_later(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    _, cid = await held_by(hana, clients)
    closed = await hana.call(
        "close", {"conversation_id": cid, "outcome": "referred_agency", "summary": " 福祉事務所へ "}
    )
    assert closed == {"ok": True}
    assert server.query("SELECT summary, outcome FROM conversation WHERE id = ?", (cid,)) == [
        ("福祉事務所へ", "referred_agency")
    ]
    # After the close the holder may still complete the handoff and add notes, not the risk.
    case = (await hana.call("case", {"conversation_id": cid}))["case"]
    assert (case["summary"], case["summary_by"]) == ("福祉事務所へ", "花子")
    later = {"conversation_id": cid, "summary": "追記", "base": case["summary_at"]}
    saved = await hana.call("summary", later)
    assert saved["ok"] and saved["summary_at"] > case["summary_at"]
    assert (await hana.call("note", {"conversation_id": cid, "body": "後日のメモ"}))["ok"]
    assert_error(
        await hana.call("risk", {"conversation_id": cid, "level": "urgent"}), "conversation_closed"
    )
    assert server.query("SELECT summary FROM conversation WHERE id = ?", (cid,)) == [("追記",)]


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("note", {"body": "   "}, "empty_body"),
        ("note", {"body": "あ" * 2001}, "too_large"),
        ("tag", {"tags": ["nonexistent"]}, "invalid_payload"),
        ("tag", {"tags": "family"}, "invalid_payload"),
        ("risk", {"level": "severe"}, "invalid_payload"),
        ("summary", {"summary": "あ" * 4001}, "too_large"),
        ("transfer", {}, "invalid_payload"),
        ("transfer", {"to_user": "nobody"}, "unknown_user"),
        ("transfer", {"to_desk": "nowhere"}, "unknown_desk"),
        ("note", {"body": "x", "author": "system"}, "invalid_payload"),
    ],
)
async def test_malformed_casework_is_refused_and_changes_nothing(
    server: Server,
    clients: Clients,
    sessions: dict[str, str],
    event: str,
    payload: dict[str, Any],
    code: str,
) -> None:
    hana = await clients.counselor(sessions["hana"])
    _, cid = await held_by(hana, clients)
    before = server.query("SELECT * FROM conversation WHERE id = ?", (cid,))
    assert_error(await hana.call(event, {"conversation_id": cid, **payload}), code)
    assert server.query("SELECT * FROM conversation WHERE id = ?", (cid,)) == before
    assert server.query("SELECT COUNT(*) FROM note WHERE conversation_id = ?", (cid,)) == [(0,)]


async def test_urgent_alerts_every_online_supervisor_of_the_desk_and_leads_the_queue(
    clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    ren = await clients.counselor(sessions["ren"])
    supervisors = [await clients.counselor(sessions["mori"]) for _ in range(2)]  # two tabs
    sato = await clients.counselor(sessions["sato"])  # supervises the legal desk only
    _, older = await started(clients)
    visitor, cid = await held_by(hana, clients)

    assert (await hana.call("risk", {"conversation_id": cid, "level": "urgent"}))["ok"]

    for tab in supervisors:
        alert = await tab.wait_for("alert")
        assert alert == {**alert, "conversation_id": cid, "level": "urgent", "desk": "general"}
        assert alert["by"] == "花子"

    def urgent_first(queue: dict[str, Any]) -> bool:
        ids = [c["id"] for c in queue["conversations"]]
        return cid in ids and older in ids and ids.index(cid) < ids.index(older)

    queue = await ren.wait_for_queue(urgent_first)
    assert next(c for c in queue["conversations"] if c["id"] == cid)["risk"] == "urgent"
    # Only supervisors of that desk hear the alarm; the visitor learns nothing.
    await hana.call("risk", {"conversation_id": cid, "level": "concern"})
    await supervisors[0].wait_for_queue(
        lambda q: any(c["risk"] == "concern" for c in q["conversations"])
    )
    for client in (hana, ren, sato):
        assert client.received("alert") == []
    assert "urgent" not in seen_by(visitor)


async def test_a_transfer_to_a_colleague_tells_the_visitor_only_another_counselor(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    ren = await clients.counselor(sessions["ren"])
    visitor, cid = await held_by(hana, clients)
    await hana.call("note", {"conversation_id": cid, "body": SECRET_NOTE})

    moved = await hana.call(
        "transfer", {"conversation_id": cid, "to_user": "ren", "note": SECRET_TRANSFER}
    )

    assert moved == {"ok": True}
    changed = await visitor.wait_for("message", lambda m: m["author"] == "system" and m["seq"] > 1)
    assert changed["body"] == "counselor_changed"
    assert await visitor.wait_for("status", lambda s: s.get("counselor") == "蓮") == {
        "status": "active",
        "counselor": "蓮",
    }
    case = await ren.wait_for("case", lambda c: c["conversation_id"] == cid)
    assert [n["body"] for n in case["notes"]] == [SECRET_NOTE, SECRET_TRANSFER]
    await hana.wait_for("status", lambda s: s.get("status") == "transferred")
    # The new holder is in the room and answers; the former holder may only read back.
    await visitor.call("message", {"client_id": client_id(), "body": "よろしくお願いします"})
    await ren.wait_for("message", lambda m: m["body"] == "よろしくお願いします")
    say = {"conversation_id": cid, "client_id": client_id(), "body": "はい"}
    assert (await ren.call("message", say))["ok"]
    assert_error(await hana.call("message", {**say, "client_id": client_id()}), "not_found")
    assert_error(await hana.call("note", {"conversation_id": cid, "body": "x"}), "not_found")
    assert (await hana.call("history", {"conversation_id": cid}))["ok"]
    assert server.query(
        "SELECT u.username, c.status FROM conversation AS c JOIN user AS u "
        "ON u.id = c.counselor_id WHERE c.id = ?",
        (cid,),
    ) == [("ren", "active")]
    for secret in (SECRET_NOTE, SECRET_TRANSFER, "ren", "hana"):
        assert secret not in seen_by(visitor)


def no_writer_reaches(visitor: Client, history: dict[str, Any]) -> None:
    """Neither a counselor's id nor their name is in any message the visitor got."""
    messages = visitor.received("message") + history["messages"]
    assert messages and all(m["author"] in ("visitor", "counselor", "system") for m in messages)
    for message in messages:
        assert not {"user_id", "writer"} & set(message), message
    assert '"user_id"' not in seen_by(visitor) and '"writer"' not in seen_by(visitor)


async def test_staff_see_who_wrote_each_line_and_the_visitor_sees_only_a_counselor(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    ids = dict(server.query("SELECT username, id FROM user"))
    hana = await clients.counselor(sessions["hana"])
    ren = await clients.counselor(sessions["ren"])
    visitor, cid = await held_by(hana, clients)
    say = {"conversation_id": cid, "client_id": client_id(), "body": "花子が担当します"}
    assert (await hana.call("message", say))["ok"]
    assert (await hana.call("transfer", {"conversation_id": cid, "to_user": "ren"}))["ok"]
    await ren.wait_for("case", lambda c: c["conversation_id"] == cid)
    mori = await clients.counselor(sessions["mori"])
    assert (await mori.call("monitor", {"conversation_id": cid}))["ok"]
    say = {"conversation_id": cid, "client_id": client_id(), "body": "蓮が引き継ぎました"}
    assert (await ren.call("message", say))["ok"]

    # Live, to the supervisor watching; and in the history the new holder reads.
    live = await mori.wait_for("message", lambda m: m["body"] == "蓮が引き継ぎました")
    assert (live["writer"], live["user_id"]) == ("蓮", ids["ren"])
    history = await ren.call("history", {"conversation_id": cid})
    lines = [(m["author"], m.get("writer"), m["body"]) for m in history["messages"]]
    assert lines == [
        ("system", None, "counselor_joined"),
        ("counselor", "花子", "花子が担当します"),
        ("system", None, "counselor_changed"),
        ("counselor", "蓮", "蓮が引き継ぎました"),
    ]
    assert history["messages"][1]["user_id"] == ids["hana"]

    await visitor.wait_for("message", lambda m: m["body"] == "蓮が引き継ぎました")
    no_writer_reaches(visitor, await visitor.call("history", {}))


async def test_of_two_summary_saves_on_one_revision_one_wins_and_the_other_is_told(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    tab = await clients.counselor(sessions["hana"])  # the same counselor in another tab
    mori = await clients.counselor(sessions["mori"])
    _, cid = await held_by(hana, clients)
    base = (await hana.call("case", {"conversation_id": cid}))["case"]["summary_at"]
    assert base is None

    saves = await asyncio.gather(
        tab.call("summary", {"conversation_id": cid, "summary": "タブの要約", "base": base}),
        mori.call("summary", {"conversation_id": cid, "summary": "森の要約", "base": base}),
    )
    won = [ack for ack in saves if ack["ok"]]
    assert len(won) == 1
    lost = next(ack for ack in saves if not ack["ok"])
    assert_error(lost, "summary_conflict")
    kept = "タブの要約" if saves[0]["ok"] else "森の要約"
    assert server.query("SELECT summary FROM conversation WHERE id = ?", (cid,)) == [(kept,)]

    # A close carrying a summary written on the old revision closes nothing and keeps the text.
    stale = {"conversation_id": cid, "outcome": "resolved", "summary": "花子の要約", "base": base}
    assert_error(await hana.call("close", stale), "summary_conflict")
    assert server.query("SELECT status, summary FROM conversation WHERE id = ?", (cid,)) == [
        ("active", kept)
    ]
    # Read again, the same close goes through.
    case = await hana.wait_for("case", lambda c: c["summary"] == kept)
    assert case["summary_at"] == won[0]["summary_at"]
    assert (await hana.call("close", {**stale, "base": case["summary_at"]}))["ok"]
    assert server.query("SELECT status, summary FROM conversation WHERE id = ?", (cid,)) == [
        ("closed", "花子の要約")
    ]


async def test_a_transfer_to_a_desk_puts_the_visitor_back_in_its_queue(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    kai = await clients.counselor(sessions["kai"])
    visitor, cid = await held_by(hana, clients)
    assert_error(await kai.call("claim", {"conversation_id": cid}), "not_found")

    assert (await hana.call("transfer", {"conversation_id": cid, "to_desk": "legal"}))["ok"]

    await visitor.wait_for("status", lambda s: s["status"] == "waiting")
    await kai.wait_for_queue(lambda q: any(c["id"] == cid for c in q["conversations"]))
    assert (await kai.call("claim", {"conversation_id": cid}))["ok"]
    assert server.query(
        "SELECT d.key FROM conversation AS c JOIN desk AS d ON d.id = c.desk_id WHERE c.id = ?",
        (cid,),
    ) == [("legal",)]
    assert server.query(
        "SELECT COUNT(*) FROM transfer WHERE conversation_id = ? AND to_user_id IS NULL", (cid,)
    ) == [(1,)]


# -- a server with a strict limit and a quick auto-close ----------------------------------------


@pytest.fixture(scope="module")
def strict() -> Iterator[Server]:
    env = {"MADOGUCHI_MAX_CONCURRENT_CHATS": "2", "MADOGUCHI_VISITOR_GONE_MINUTES": "0.05"}
    with running_server(env=env) as srv:
        add_people(srv, only=("hana", "ren"))
        yield srv


async def test_a_counselor_holds_at_most_the_limit_even_when_claiming_at_once(
    strict: Server,
) -> None:
    clients = Clients(strict)
    try:
        hana = await clients.counselor(login_sync(strict, "hana", PASSWORD))
        ren = await clients.counselor(login_sync(strict, "ren", PASSWORD))
        _, first = await held_by(hana, clients)
        waiting = [(await started(clients))[1] for _ in range(3)]

        acks = await asyncio.gather(
            *(hana.call("claim", {"conversation_id": cid}) for cid in waiting)
        )

        assert sum(ack["ok"] for ack in acks) == 1, acks
        for ack in acks:
            if not ack["ok"]:
                assert_error(ack, "chat_limit")
        held = "SELECT COUNT(*) FROM conversation WHERE counselor_id = ? AND status = 'active'"
        hana_id = strict.query("SELECT id FROM user WHERE username = 'hana'")[0][0]
        assert strict.query(held, (hana_id,)) == [(2,)]
        # Handing hana a third chat is refused too; after a close she may take one again.
        _, third = await held_by(ren, clients)
        assert_error(
            await ren.call("transfer", {"conversation_id": third, "to_user": "hana"}), "chat_limit"
        )
        await hana.call("close", {"conversation_id": first, "outcome": "resolved"})
        free = next(cid for cid, ack in zip(waiting, acks, strict=True) if not ack["ok"])
        assert (await hana.call("claim", {"conversation_id": free}))["ok"]
    finally:
        await clients.close()


async def test_a_conversation_closes_itself_when_its_visitor_has_gone(strict: Server) -> None:
    clients = Clients(strict)
    try:
        ren = await clients.counselor(login_sync(strict, "ren", PASSWORD))
        gone, gone_id = await held_by(ren, clients)
        staying, staying_id = await started(clients)
        await gone.disconnect()

        closed = await ren.wait_for(
            "status", lambda s: s["conversation_id"] == gone_id and s["status"] == "closed"
        )

        assert closed["outcome"] == "visitor_left"
        assert strict.query(
            "SELECT status, outcome, closed_by FROM conversation WHERE id = ?", (gone_id,)
        ) == [("closed", "visitor_left", "system")]
        last = strict.query(
            "SELECT body FROM message WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1",
            (gone_id,),
        )
        assert last == [("visitor_left",)]
        # A visitor still connected keeps their place, however long they wait.
        assert strict.query("SELECT status FROM conversation WHERE id = ?", (staying_id,)) == [
            ("waiting",)
        ]
        assert staying.sio.connected
    finally:
        await clients.close()


# -- closed conversations -------------------------------------------------------------------------


def staff_http(server: Server, session: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, cookies={"mg_session": session})


def csrf(http: httpx.Client, path: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', http.get(path).text)
    assert match, path
    return match.group(1)


async def test_closed_conversations_are_listed_by_role_and_each_opening_is_audited(
    server: Server, clients: Clients, sessions: dict[str, str]
) -> None:
    hana = await clients.counselor(sessions["hana"])
    visitor, cid = await held_by(hana, clients)
    await visitor.call("code_word", {"word": "ひまわり"})
    await visitor.call("message", {"client_id": client_id(), "body": "本文はここだけ"})
    say = {"conversation_id": cid, "client_id": client_id(), "body": "返信の本文"}
    assert (await hana.call("message", say))["ok"]
    await hana.call("tag", {"conversation_id": cid, "tags": ["work"]})
    await hana.call("note", {"conversation_id": cid, "body": SECRET_NOTE})
    await hana.call(
        "close", {"conversation_id": cid, "outcome": "referred_phone", "summary": SECRET_SUMMARY}
    )

    def listed(name: str, query: str = "") -> bool:
        with staff_http(server, sessions[name]) as http:
            page = http.get(f"/inbox/closed{query}")
            assert page.status_code == 200
            return f"/inbox/closed/{cid}" in page.text and SECRET_SUMMARY not in page.text

    assert await asyncio.to_thread(listed, "hana", "?tag=work&outcome=referred_phone")
    assert not await asyncio.to_thread(listed, "hana", "?tag=family")
    assert not await asyncio.to_thread(listed, "hana", "?from=2001-01-01&to=2001-01-02")
    assert await asyncio.to_thread(listed, "mori")
    assert not await asyncio.to_thread(listed, "ren")  # never held it
    assert await asyncio.to_thread(listed, "ren", "?code_word=ひまわり")  # but knows the word
    assert not await asyncio.to_thread(listed, "sato", "?code_word=ひまわり")  # not their desk

    def opened(name: str, **form: str) -> httpx.Response:
        with staff_http(server, sessions[name]) as http:
            token = csrf(http, "/inbox/closed")
            return http.post(f"/inbox/closed/{cid}", data={"_csrf_token": token, **form})

    audits = "SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.open'"
    before = server.query(audits)[0][0]
    mine = await asyncio.to_thread(opened, "hana", purpose="handoff")
    assert mine.status_code == 200
    assert SECRET_SUMMARY in mine.text and "本文はここだけ" in mine.text and "ひまわり" in mine.text
    assert SECRET_NOTE in mine.text
    # Each counselor line of the transcript names its writer; the visitor's do not.
    assert "相談員（花子） · " in mine.text and "相談者 · " in mine.text
    handoff = await asyncio.to_thread(opened, "ren", purpose="handoff", code_word="ひまわり")
    assert handoff.status_code == 200 and SECRET_SUMMARY in handoff.text
    assert "本文はここだけ" not in handoff.text and SECRET_NOTE not in handoff.text
    for refused in (
        await asyncio.to_thread(opened, "ren", purpose="handoff"),
        await asyncio.to_thread(opened, "ren", purpose="handoff", code_word="ちがう"),
        await asyncio.to_thread(opened, "hana"),  # no purpose given
        await asyncio.to_thread(opened, "sato", purpose="supervision"),
    ):
        assert refused.status_code == 404
    assert server.query(audits)[0][0] == before + 2
    rows = server.query(
        "SELECT actor, target, detail FROM audit_log WHERE action = 'conversation.open' "
        "ORDER BY id DESC LIMIT 2"
    )
    assert [(actor, target) for actor, target, _ in rows] == [
        ("ren", f"conversation:{cid}"),
        ("hana", f"conversation:{cid}"),
    ]
    assert json.loads(rows[0][2]) == {"purpose": "handoff", "transcript": False}
    assert "ひまわり" not in json.dumps(rows, ensure_ascii=False)
