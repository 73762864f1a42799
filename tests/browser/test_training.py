"""Counselor training in Chromium: a trainee starts a scripted practice chat from the training
page, lands in the inbox with the chat open (its title saying practice, scripted, and the
scenario, never what to practise) and each reply brings the visitor's next line; the player's
page shows the scenario card beside the chat; every training page fits a phone and a desk and
passes axe-core."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import StaffContext
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Clients, Server, client_id, login_sync, running_server

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "widget" / "node_modules" / "axe-core" / "axe.min.js"
SIZES: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "desk": {"width": 1280, "height": 800},
}
DRILL = "drill"


def cli(server: Server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


def post_form(session: str, server: Server, page: str, action: str, form: dict[str, str]) -> str:
    """Send a form as from ``page``; returns where it redirected."""
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        found = re.search(r'name="_csrf_token" value="([^"]+)"', http.get(page).text)
        assert found
        sent = http.post(action, data={"_csrf_token": found.group(1), **form})
        assert sent.status_code == 303, sent.text
        return str(sent.headers["location"])


async def reviewed_chat(server: Server, hana: str, mori: str) -> str:
    """A scripted chat hana answered twice and closed, reviewed by mori."""
    lines = scenario_lines(server, 3)
    clients = Clients(server)
    try:
        counselor = await clients.counselor(hana)
        await counselor.wait_for("queue")
        location = post_form(
            hana, server, "/inbox/training", "/inbox/training/scripted",
            {"scenario": "3", "desk": DRILL},
        )  # fmt: skip
        cid = location.split("#", 1)[1]
        for line, body in zip(lines, ("お話しください。", "大変でしたね。"), strict=False):
            await counselor.wait_for("message", lambda m, line=line: m["body"] == line)
            await counselor.call(
                "message", {"conversation_id": cid, "client_id": client_id(), "body": body}
            )
        await counselor.call("close", {"conversation_id": cid, "outcome": "resolved"})
    finally:
        await clients.close()
    rubric = [r[0] for r in server.query("SELECT id FROM rubric_item ORDER BY position")]
    review = {f"score-{i}": str(s) for i, s in zip(rubric, (4, 2, 3, 3), strict=True)}
    review |= {
        "mark-3": "ここで安全確認を入れましょう。",
        "comment": "気持ちを丁寧に受け止めていました。",
    }
    page = f"/inbox/training/reviews/{cid}"
    post_form(mori, server, page, page, review)
    return cid


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        cli(srv, "desk", "add", DRILL, "--name", "練習窓口", "--hours", "24/7", "--practice")
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        hana, mori = (login_sync(srv, name, PASSWORD) for name in ("hana", "mori"))
        asyncio.run(reviewed_chat(srv, hana, mori))  # before the browser's loop runs
        yield srv


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, str]:
    return {name: login_sync(server, name, PASSWORD) for name in ("hana", "mori")}


@pytest.fixture
def open_as(server: Server, sessions: dict[str, str], staff_context: StaffContext) -> Any:
    def open_(name: str, size: str = "desk") -> Page:
        return staff_context(server, sessions[name], SIZES[size]).new_page()

    return open_


def scenario_lines(server: Server, scenario_id: int) -> list[str]:
    rows = server.query("SELECT lines FROM practice_scenario WHERE id = ?", (scenario_id,))
    lines: list[str] = json.loads(rows[0][0])
    return lines


def test_a_trainee_practises_alone_with_the_script_in_the_real_inbox(
    server: Server, open_as: Any
) -> None:
    lines = scenario_lines(server, 1)
    page = open_as("hana")
    page.goto(f"{server.url}/inbox/training")
    page.get_by_label("シナリオ").select_option("1")
    page.get_by_role("button", name="練習を始める").click()

    # The inbox, with the new chat open: practice, scripted, its scenario; no aim shown.
    expect(page.locator("#mg-convo-title")).to_contain_text("練習（台本）：はじめて相談する大学生")
    bodies = page.locator("#mg-scroll .mg-body")
    expect(bodies.last).to_have_text(lines[0])
    expect(page.locator("body")).not_to_contain_text("練習のねらい")
    reply = page.get_by_label("返信")
    reply.fill("ご連絡ありがとうございます。どんなことでも大丈夫ですよ。")
    reply.press("Enter")
    expect(bodies.last).to_have_text(lines[1])
    reply.fill("眠れないのはつらいですね。")
    reply.press("Enter")
    expect(bodies.last).to_have_text(lines[2])


def test_the_player_sees_the_scenario_card_beside_the_chat(server: Server, open_as: Any) -> None:
    page = open_as("mori")
    page.goto(f"{server.url}/inbox/practice/{DRILL}")
    expect(page.get_by_role("complementary")).to_contain_text("シナリオを選ぶと")
    page.get_by_label("演じるシナリオ").select_option(
        label="派遣先の上司からの誘い（ハラスメント）"
    )
    page.get_by_role("button", name="このシナリオにする").click()
    card = page.get_by_role("complementary")
    expect(card).to_contain_text("派遣社員")
    expect(card.get_by_role("listitem")).to_have_count(5)
    frame = page.frame_locator("iframe.mg-practice-frame")
    expect(frame.locator("body")).to_be_visible()
    # Beside it on a desk: the card and the chat side by side.
    box, chat = card.bounding_box(), page.locator("iframe.mg-practice-frame").bounding_box()
    assert box is not None and chat is not None
    assert chat["x"] + chat["width"] <= box["x"]


def violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(
        """async () => {
          const { violations } = await axe.run(document, { resultTypes: ['violations'] })
          return violations.map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3)
            .map((n) => n.target.join(' ')).join(', ')}`)
        }"""
    )
    return found


def training_pages(server: Server, forms: bool = True) -> dict[str, list[str]]:
    """Every training page, by who opens it: the trainee hana and the supervisor mori (with
    ``forms``, the empty new-scenario form too)."""
    cid = server.query("SELECT conversation_id FROM practice_review")[0][0]
    hana_id = server.query("SELECT id FROM user WHERE username = 'hana'")[0][0]
    new = ["/inbox/training/scenarios/new"] if forms else []
    return {
        "hana": ["/inbox/training", f"/inbox/training/feedback/{cid}"],
        "mori": [
            "/inbox/training",
            f"/inbox/training/trainees/{hana_id}",
            f"/inbox/training/reviews/{cid}",
            "/inbox/training/scenarios",
            "/inbox/training/scenarios/5",
            *new,
            "/inbox/training/rubric",
            f"/inbox/practice/{DRILL}",
        ],
    }


@pytest.mark.parametrize("size", list(SIZES))
def test_every_training_page_fits_and_passes_axe(
    server: Server, sessions: dict[str, str], open_as: Any, size: str
) -> None:
    problems: list[str] = []
    for name, paths in training_pages(server).items():
        page = open_as(name, size)
        for path in paths:
            response = page.goto(server.url + path)
            assert response is not None and response.status == 200, path
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > SIZES[size]["width"]:
                problems.append(f"{path}: {width} px wide")
            if re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d|script_ended", page.inner_text("body")):
                problems.append(f"{path}: shows a machine's time or code")
            problems += [f"{path}: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)


JAPANESE_OUTSIDE_JA = r"""() => {
  const japanese = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]/
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const found = []
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!japanese.test(node.data)) continue
    if (node.parentElement.closest('script, style, template')) continue
    const marked = node.parentElement.closest('[lang]')
    if (!marked || marked.getAttribute('lang') !== 'ja') found.push(node.data.trim().slice(0, 30))
  }
  return found
}"""


def test_english_training_pages_mark_every_japanese_word_as_japanese(
    server: Server, open_as: Any
) -> None:
    """Scenarios, names, messages, comments and shipped rubric items are Japanese on English
    pages too: each sits in an element with lang="ja", so a screen reader reads it right."""
    problems: list[str] = []
    for name, paths in training_pages(server, forms=False).items():
        page = open_as(name)
        for path in paths:
            response = page.goto(f"{server.url}{path}?lang=en")
            assert response is not None and response.status == 200, path
            assert page.locator("html").get_attribute("lang") == "en", path
            unmarked = page.evaluate(JAPANESE_OUTSIDE_JA)
            problems += [f"{path}: {text!r} is not marked Japanese" for text in unmarked]
            problems += [f"{path}: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)
    # What it checks is there: the review shows the trainee's words, marked.
    page = open_as("mori")
    cid = server.query("SELECT conversation_id FROM practice_review")[0][0]
    page.goto(f"{server.url}/inbox/training/reviews/{cid}?lang=en")
    expect(page.locator('main [lang="ja"]', has_text="大変でしたね。")).to_have_count(1)
