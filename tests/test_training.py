"""Counselor training through a real server: a scripted practice chat played line by line into
the trainee's real Socket.IO thread (never at a real desk), the scenario a role-playing
colleague chose recorded with the chat they start, reviews that only the trainee and
supervisors or admins read, and the scenario library and rubric with their role checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from service.domain import labels
from service.domain.training import SCRIPT_ENDED
from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Clients,
    Server,
    client_id,
    login_sync,
    running_server,
)
from tests.test_csrf_sweep import app_routes

DRILL = "drill"
OTHER_DRILL = "drill2"


def madoguchi(server: Server, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def centre() -> Iterator[Server]:
    """Two practice desks beside the default one; two counselors, a supervisor of every desk,
    one of the second practice desk only, and an admin."""
    with running_server() as server:
        madoguchi(
            server, "desk", "add", DRILL, "--name", "練習窓口", "--hours", "24/7", "--practice"
        )
        madoguchi(
            server, "desk", "add", OTHER_DRILL, "--name", "練習窓口2", "--hours", "24/7",
            "--practice",
        )  # fmt: skip
        madoguchi(server, "desk", "update", "general", "--hours", "24/7")
        server.add_user("hana", PASSWORD, role="counselor", display_name="花子")
        server.add_user("ren", PASSWORD, role="counselor", display_name="蓮")
        server.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        server.add_user("aiko", PASSWORD, role="admin", display_name="愛子")
        server.add_user("kiku", PASSWORD, role="supervisor", display_name="菊", desks=[OTHER_DRILL])
        yield server


@pytest.fixture
async def clients(centre: Server) -> AsyncIterator[Clients]:
    connected = Clients(centre)
    yield connected
    await connected.close()


@pytest.fixture(scope="module")
def sessions(centre: Server) -> dict[str, str]:
    names = ("hana", "ren", "mori", "aiko", "kiku")
    return {name: login_sync(centre, name, PASSWORD) for name in names}


def browser(server: Server, session: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, cookies={"mg_session": session})


def post_form(http: httpx.Client, page: str, action: str, form: dict[str, Any]) -> httpx.Response:
    """Send a form as the browser does from ``page``: with that page's CSRF token."""
    found = re.search(r'name="_csrf_token" value="([^"]+)"', http.get(page).text)
    assert found, f"{page} has a CSRF token"
    return http.post(action, data={"_csrf_token": found.group(1), **form})


def scenarios(server: Server) -> list[tuple[int, str, list[str]]]:
    rows = server.query("SELECT id, title, lines FROM practice_scenario ORDER BY id")
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


def conversation_count(server: Server) -> int:
    return int(server.query("SELECT count(*) FROM conversation")[0][0])


def visitor_lines(events: list[Any], conversation_id: str) -> list[str]:
    return [
        m["body"]
        for m in events
        if m.get("conversation_id") == conversation_id and m["author"] == "visitor"
    ]


async def scripted_chat(
    centre: Server, session: str, scenario_id: int, desk: str = DRILL
) -> httpx.Response:
    with browser(centre, session) as http:
        return post_form(
            http,
            "/inbox/training",
            "/inbox/training/scripted",
            {"scenario": str(scenario_id), "desk": desk},
        )


async def test_a_scripted_chat_sends_the_next_line_after_each_reply_of_the_trainee(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    hana = await clients.counselor(sessions["hana"])
    await hana.wait_for("queue")
    scenario_id, _, lines = scenarios(centre)[1]  # the family scenario: four lines

    started = await scripted_chat(centre, sessions["hana"], scenario_id)
    assert started.status_code == 303
    cid = started.headers["location"].split("#", 1)[1]

    # The first line arrives at once, as a visitor's message in hana's own thread.
    first = await hana.wait_for("message", lambda m: m["author"] == "visitor")
    assert (first["conversation_id"], first["body"]) == (cid, lines[0])
    # The server is the visitor here: the queue never marks it as gone.
    await hana.wait_for_queue(
        lambda q: any(c["id"] == cid and c["present"] for c in q["conversations"])
    )
    for n, line in enumerate(lines[1:], start=1):
        ack = await hana.call(
            "message", {"conversation_id": cid, "client_id": client_id(), "body": f"返信{n}"}
        )
        assert ack["ok"], ack
        said = await hana.wait_for(
            "message", lambda m, line=line: m["author"] == "visitor" and m["body"] == line
        )
        assert said["seq"] > ack["seq"]
    await hana.call(
        "message", {"conversation_id": cid, "client_id": client_id(), "body": "ありがとう"}
    )
    ended = await hana.wait_for(
        "message", lambda m: m["author"] == "system" and m["body"] == SCRIPT_ENDED
    )
    assert ended["conversation_id"] == cid
    assert visitor_lines(hana.received("message"), cid) == lines
    history = await hana.call("history", {"conversation_id": cid})
    assert [m["body"] for m in history["messages"] if m["author"] == "visitor"] == lines
    await hana.call("close", {"conversation_id": cid, "outcome": "resolved"})


async def test_a_scripted_chat_is_refused_at_a_desk_that_is_not_for_practice(
    centre: Server, sessions: dict[str, str]
) -> None:
    before = conversation_count(centre)
    refused = await scripted_chat(centre, sessions["hana"], scenarios(centre)[0][0], "general")
    assert refused.status_code == 400
    assert "練習用の窓口を一覧から選んでください" in refused.text
    assert conversation_count(centre) == before


async def test_the_exit_scenario_ends_by_quick_exit_after_its_last_line(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    hana = await clients.counselor(sessions["hana"])
    await hana.wait_for("queue")
    scenario_id, _, lines = next(s for s in scenarios(centre) if "緊急退出" in s[1])
    cid = (await scripted_chat(centre, sessions["hana"], scenario_id)).headers["location"]
    cid = cid.split("#", 1)[1]
    for n, line in enumerate(lines[:-1], start=1):
        await hana.wait_for("message", lambda m, line=line: m["body"] == line)
        await hana.call(
            "message", {"conversation_id": cid, "client_id": client_id(), "body": f"はい{n}"}
        )
    # The visitor leaves right after the last line, without waiting for an answer.
    closed = await hana.wait_for(
        "status", lambda s: s.get("conversation_id") == cid and s["status"] == "closed"
    )
    assert closed.get("quick_exit") is True
    assert visitor_lines(hana.received("message"), cid) == lines


async def test_the_role_played_chat_carries_the_chosen_scenario_but_not_its_aim(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    scenario_id, title, _ = scenarios(centre)[0]
    with browser(centre, sessions["mori"]) as http:
        chose = post_form(
            http, f"/inbox/practice/{DRILL}", f"/inbox/training/play/{DRILL}",
            {"scenario": str(scenario_id)},
        )  # fmt: skip
        assert chose.status_code == 303
        page = http.get(f"/inbox/practice/{DRILL}")
        assert title in page.text and "練習のねらい" in page.text  # the player's card
    player = await clients.visitor(headers={"Cookie": f"mg_session={sessions['mori']}"})
    ack = await player.call("start", {"desk": DRILL})
    assert ack["ok"], ack
    cid = ack["conversation"]["id"]

    ren = await clients.counselor(sessions["ren"])
    await ren.wait_for_queue(lambda q: any(c["id"] == cid for c in q["conversations"]))
    assert (await ren.call("claim", {"conversation_id": cid}))["ok"]
    with browser(centre, sessions["ren"]) as http:
        shown = http.get(f"/inbox/training/chat/{cid}").json()
    assert shown == {"mode": "roleplay", "scenario": title}
    # hana neither holds nor supervises it: as if it did not exist.
    with browser(centre, sessions["hana"]) as http:
        assert http.get(f"/inbox/training/chat/{cid}").status_code == 404
    await ren.call("close", {"conversation_id": cid, "outcome": "resolved"})


async def closed_practice(centre: Server, sessions: dict[str, str], clients: Clients) -> str:
    """A scripted chat hana answered once and closed."""
    hana = await clients.counselor(sessions["hana"])
    await hana.wait_for("queue")
    cid = (
        (await scripted_chat(centre, sessions["hana"], scenarios(centre)[2][0]))
        .headers["location"]
        .split("#", 1)[1]
    )
    await hana.wait_for(
        "message", lambda m: m["author"] == "visitor" and m["conversation_id"] == cid
    )
    await hana.call(
        "message", {"conversation_id": cid, "client_id": client_id(), "body": "お話しください"}
    )
    await hana.call("close", {"conversation_id": cid, "outcome": "resolved"})
    return cid


def rubric_ids(server: Server) -> list[int]:
    return [r[0] for r in server.query("SELECT id FROM rubric_item WHERE active = 1")]


async def test_feedback_reaches_its_trainee_and_supervisors_only(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    cid = await closed_practice(centre, sessions, clients)
    review = {f"score-{i}": "3" for i in rubric_ids(centre)}
    review |= {"mark-3": "安全確認をここで入れられるとよい", "comment": "落ち着いた対応でした"}
    with browser(centre, sessions["mori"]) as http:
        page = http.get(f"/inbox/training/reviews/{cid}")
        assert page.status_code == 200 and "練習のねらい" in page.text
        sent = post_form(
            http, f"/inbox/training/reviews/{cid}", f"/inbox/training/reviews/{cid}", review
        )
        assert sent.status_code == 303
        # A supervisor reads it without marking it read for the trainee.
        assert http.get(f"/inbox/training/feedback/{cid}").status_code == 200

    with browser(centre, sessions["hana"]) as http:
        assert http.get("/inbox/training/unread").json() == {"count": 1}
        inbox = http.get("/inbox/training")
        assert "未読のフィードバック 1件" in inbox.text
        feedback = http.get(f"/inbox/training/feedback/{cid}")
        assert feedback.status_code == 200
        assert "安全確認をここで入れられるとよい" in feedback.text
        assert "落ち着いた対応でした" in feedback.text
        assert http.get("/inbox/training/unread").json() == {"count": 0}
        # The trainee may not review, even their own chat.
        assert http.get(f"/inbox/training/reviews/{cid}").status_code == 403

    with browser(centre, sessions["ren"]) as http:
        assert http.get(f"/inbox/training/feedback/{cid}").status_code == 404
        assert http.get(f"/inbox/training/reviews/{cid}").status_code == 403
        hana_id = centre.query("SELECT id FROM user WHERE username = 'hana'")[0][0]
        assert http.get(f"/inbox/training/trainees/{hana_id}").status_code == 404
    with browser(centre, sessions["mori"]) as http:
        hana_id = centre.query("SELECT id FROM user WHERE username = 'hana'")[0][0]
        trainee = http.get(f"/inbox/training/trainees/{hana_id}")
        assert trainee.status_code == 200 and "花子さんの研修" in trainee.text
        assert (
            f'href="/inbox/training/trainees/{hana_id}?lang=ja">花子</a>'
            in http.get("/inbox/training").text
        )


async def test_a_refused_review_keeps_what_was_typed(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    cid = await closed_practice(centre, sessions, clients)
    first, *rest = rubric_ids(centre)
    typed = {f"score-{i}": "2" for i in rest} | {"comment": "途中まで書いた講評"}
    with browser(centre, sessions["mori"]) as http:
        page = f"/inbox/training/reviews/{cid}"
        refused = post_form(http, page, page, typed)
    assert refused.status_code == 400
    assert "mg-error-summary" in refused.text
    assert f'href="#review-score-{first}"' in refused.text
    assert "途中まで書いた講評" in refused.text
    assert centre.query(
        "SELECT count(*) FROM practice_review WHERE conversation_id = ?", (cid,)
    ) == [(0,)]


async def test_supervisors_keep_the_scenarios_and_admins_the_rubric(
    centre: Server, sessions: dict[str, str]
) -> None:
    new = {
        "title": "",
        "persona": "30代の会社員",
        "situation": "残業",
        "lines": "一\n二",
        "focus": "傾聴",
    }
    with browser(centre, sessions["mori"]) as http:
        refused = post_form(http, "/inbox/training/scenarios/new", "/inbox/training/scenarios", new)
        assert refused.status_code == 400
        assert "題名を入力してください" in refused.text and "30代の会社員" in refused.text
        made = post_form(
            http,
            "/inbox/training/scenarios/new",
            "/inbox/training/scenarios",
            new | {"title": "残業の相談"},
        )
        assert made.status_code == 303
        edit = made.headers["location"].split("?")[0]
        archived = post_form(http, edit, edit, {"archive": "1"})
        assert archived.status_code == 303
        assert centre.query(
            "SELECT archived FROM practice_scenario WHERE title = '残業の相談'"
        ) == [(1,)]
        # The rubric: a supervisor reads it, only an admin changes it.
        assert http.get("/inbox/training/rubric").status_code == 200
        item = {"label_ja": "守秘", "position": "5", "active": "on"}
        assert (
            post_form(http, "/inbox/training/rubric", "/inbox/training/rubric", item).status_code
            == 403
        )
    with browser(centre, sessions["aiko"]) as http:
        added = post_form(http, "/inbox/training/rubric", "/inbox/training/rubric", item)
        assert added.status_code == 303
        # The audit log names what changed by its title, in the page's language.
        audit = http.get("/admin/audit").text
        assert "練習シナリオ：残業の相談" in audit and "評価項目：守秘" in audit
        assert "変更した項目：アーカイブ" in audit
        assert not re.search(r'data-label="対象">\d+<', audit), "a bare id as the target"
        assert "Practice scenario: 残業の相談" in http.get("/admin/audit?lang=en").text
    with browser(centre, sessions["hana"]) as http:
        assert http.get("/inbox/training/scenarios").status_code == 403
    assert centre.query("SELECT label_ja FROM rubric_item WHERE label_ja = '守秘'") == [("守秘",)]


async def test_a_practice_chat_id_tells_another_counselor_nothing(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    """Every training route that takes a conversation id answers ren, who neither held nor
    reviews hana's practice chat, exactly as it answers a made-up id."""
    cid = await closed_practice(centre, sessions, clients)
    routes = [
        r
        for r in app_routes()
        if r.path.startswith("/inbox/training/")
        and "{conversation_id" in r.path
        and r.method in ("GET", "POST")
    ]
    assert len(routes) >= 4
    with browser(centre, sessions["ren"]) as http:
        http.get("/inbox/login")
        http.headers["x-csrftoken"] = http.cookies["mg_csrf"]
        for route in routes:
            real, made_up = (
                http.request(route.method, route.url({"conversation_id": target}), data={})
                for target in (cid, "f" * 22)
            )
            assert real.status_code in (403, 404), route.path
            assert (real.status_code, real.text) == (made_up.status_code, made_up.text)
            assert cid not in real.text


async def test_a_scenarios_words_are_shown_only_escaped(
    centre: Server, sessions: dict[str, str]
) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    form = {
        "title": f"題{hostile}",
        "persona": f"人{hostile}",
        "situation": f"状{hostile}",
        "lines": f"一{hostile}\n二",
        "focus": f"狙{hostile}",
    }
    with browser(centre, sessions["mori"]) as http:
        made = post_form(http, "/inbox/training/scenarios/new", "/inbox/training/scenarios", form)
        scenario_id = made.headers["location"].split("?")[0].rsplit("/", 1)[1]
        chose = post_form(
            http, f"/inbox/practice/{DRILL}", f"/inbox/training/play/{DRILL}",
            {"scenario": scenario_id},
        )  # fmt: skip
        assert chose.status_code == 303
        pages = [
            http.get("/inbox/training/scenarios"),
            http.get(f"/inbox/training/scenarios/{scenario_id}"),
            http.get(f"/inbox/practice/{DRILL}"),
        ]
        # Played no more: the next tests' role-play starts with no scenario.
        post_form(
            http, f"/inbox/practice/{DRILL}", f"/inbox/training/play/{DRILL}", {"scenario": ""}
        )
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text


def transcript_openings(server: Server, cid: str) -> list[tuple[str, str, str]]:
    rows = server.query(
        "SELECT actor, target, detail FROM audit_log WHERE action = 'training.transcript.open' "
        "AND target = ? ORDER BY id",
        (f"conversation:{cid}",),
    )
    return [(actor, target, json.loads(detail)["purpose"]) for actor, target, detail in rows]


async def test_opening_a_practice_transcript_is_audited_as_a_real_record_is(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    cid = await closed_practice(centre, sessions, clients)
    assert transcript_openings(centre, cid) == []
    review = {f"score-{i}": "3" for i in rubric_ids(centre)}
    with browser(centre, sessions["mori"]) as http:
        page = f"/inbox/training/reviews/{cid}"
        assert http.get(page).status_code == 200
        assert post_form(http, page, page, review).status_code == 303
    with browser(centre, sessions["hana"]) as http:
        assert http.get(f"/inbox/training/feedback/{cid}").status_code == 200
    target = f"conversation:{cid}"
    # The review page twice (once to read, once for the form's token), then the feedback.
    assert transcript_openings(centre, cid) == [
        ("mori", target, "review"),
        ("mori", target, "review"),
        ("hana", target, "feedback"),
    ]
    assert labels.audit_action("training.transcript.open") == "練習の記録を開いた"
    assert labels.audit_target(target, {}) == f"相談：{cid}"
    [detail] = centre.query(
        "SELECT detail FROM audit_log WHERE action = 'training.transcript.open' "
        "AND actor = 'hana' AND target = ?",
        (target,),
    )
    assert labels.audit_detail(json.loads(detail[0]), {}) == [("理由", "練習のフィードバック")]


async def real_closed_record(centre: Server, sessions: dict[str, str], clients: Clients) -> str:
    """A real chat at the general desk that hana answered and closed."""
    hana = await clients.counselor(sessions["hana"])
    visitor = await clients.visitor()
    started = await visitor.call("start", {})
    assert started["ok"], started
    cid: str = started["conversation"]["id"]
    assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
    assert (await visitor.call("message", {"client_id": client_id(), "body": "相談です"}))["ok"]
    assert (await hana.call("close", {"conversation_id": cid, "outcome": "resolved"}))["ok"]
    return cid


async def test_a_supervisor_reviews_only_the_practice_of_the_desks_they_work(
    centre: Server, sessions: dict[str, str], clients: Clients
) -> None:
    cid = await closed_practice(centre, sessions, clients)
    real = await real_closed_record(centre, sessions, clients)
    review = {f"score-{i}": "2" for i in rubric_ids(centre)}
    with browser(centre, sessions["mori"]) as http:
        page = f"/inbox/training/reviews/{cid}"
        assert post_form(http, page, page, review).status_code == 303
    hana_id = centre.query("SELECT id FROM user WHERE username = 'hana'")[0][0]
    openings = len(transcript_openings(centre, cid))
    with browser(centre, sessions["kiku"]) as http:
        # kiku supervises the other practice desk only: hana's practice there is not hers to
        # open, answered as a real record outside her desks is.
        outside = post_form(http, "/inbox/closed", f"/inbox/closed/{real}", {"purpose": "records"})
        assert outside.status_code == 404
        for path in (f"/inbox/training/reviews/{cid}", f"/inbox/training/feedback/{cid}"):
            answer = http.get(path)
            assert (answer.status_code, answer.text) == (outside.status_code, outside.text)
        refused = post_form(http, "/inbox/training", f"/inbox/training/reviews/{cid}", review)
        assert refused.status_code == 404
        # Nor is it listed, on her own page or on hana's.
        for path in ("/inbox/training", f"/inbox/training/trainees/{hana_id}"):
            listed = http.get(path)
            assert listed.status_code == 200 and cid not in listed.text
    assert len(transcript_openings(centre, cid)) == openings
    with browser(centre, sessions["aiko"]) as http:
        # An admin reviews every desk's practice; mori, who works every desk, lists it.
        assert http.get(f"/inbox/training/reviews/{cid}").status_code == 200
    with browser(centre, sessions["mori"]) as http:
        assert (
            f"/inbox/training/reviews/{cid}" in http.get(f"/inbox/training/trainees/{hana_id}").text
        )
    with browser(centre, sessions["hana"]) as http:
        # The trainee still reads her own feedback.
        assert http.get(f"/inbox/training/feedback/{cid}").status_code == 200
