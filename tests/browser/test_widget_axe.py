"""axe-core finds no problem of any impact (minor and moderate included; WCAG 2.2 AA and axe's
best practices) in any state of the visitor's side, in every language: the first screen, the
topic step, waiting (with the expected wait, the note that nobody is online and the calm note),
a conversation with messages both ways, the code word, the inactivity warning, the question
before ending, the end with the survey, the "in danger right now" start, the out-of-hours view,
the pages where a chat cannot open (unknown or disabled partner, ended or unknown campaign),
the "staying safe online" page, and the host page with the launcher and the open panel. Each
state is reached through the real page, with a real counselor's Socket.IO client where one is
needed. English pages also keep to English punctuation.

axe is injected as a script, which our CSP forbids; only these contexts bypass the CSP."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, expect

from service.domain.hours import TOKYO
from tests.browser.test_end_to_end import DESKTOP, PHONE
from tests.conftest import PASSWORD, STAFF
from tests.support import (
    PROJECT_DIR,
    Server,
    client_id,
    counselor,
    login_sync,
    running_seeded_server,
)

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "widget" / "node_modules" / "axe-core" / "axe.min.js"
LANGS = ["ja", "en", "ja-easy"]
# The words each state is found by, from the same catalogues the pages are drawn from.
CATALOGUES = {
    lang: json.loads((PROJECT_DIR / "widget" / "src" / "i18n" / f"{lang}.json").read_text())
    for lang in LANGS
}
TODAY = datetime.now(TOKYO).date()
REPLY = "お話ししてくださってありがとうございます。" * 8 + "いまは安全な場所にいますか？"


def violations(frame: Frame) -> list[str]:
    """Every axe-core violation in ``frame``, of any impact, one line per rule with its
    elements."""
    frame.add_script_tag(path=str(AXE))
    found: list[str] = frame.evaluate(
        """async () => {
          const { violations } = await axe.run(document, { resultTypes: ['violations'] })
          return violations.map(
            (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
        }"""
    )
    return found


def serious_violations(frame: Frame) -> list[str]:
    """Only what axe calls serious or critical in ``frame``."""
    return [v for v in violations(frame) if "(serious)" in v or "(critical)" in v]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """Besides the open default desk: a desk ``holiday`` closed for a few days around today,
    a disabled partner ``gone`` and an ended campaign ``old-poster``."""
    now = "'2026-01-01T00:00:00.000Z'"
    closure = f"{TODAY - timedelta(days=1)}..{TODAY + timedelta(days=2)}"
    # Our own constants, no input: S608 does not apply.
    statements = [
        "INSERT INTO desk (key, name, is_default, hours, closures, phones, created_at) "  # noqa: S608
        f"VALUES ('holiday', '夜間相談', 0, 'mon-sun 00:00-24:00', '{closure}', "
        f"'[\"03-1234-5678\"]', {now})",
        "INSERT INTO partner (key, name, origins, is_default, enabled, created_at) "  # noqa: S608
        f"VALUES ('gone', '終わった団体', '[]', 0, 0, {now})",
        "INSERT INTO campaign (code, name, desk_id, partner_id, enabled, created_at) "  # noqa: S608
        f"VALUES ('old-poster', '古いポスター', NULL, NULL, 0, {now})",
    ]
    with running_seeded_server(statements) as srv:
        for username, (role, display_name) in STAFF.items():
            srv.add_user(username, PASSWORD, role=role, display_name=display_name)
        yield srv


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_(**options: Any) -> Page:
        context = browser.new_context(locale="ja-JP", bypass_csp=True, **options)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def as_counselor(server: Server, conversation_id: str, reply: str) -> None:
    """hana claims the conversation and answers, through a real Socket.IO client."""
    session = login_sync(server, "hana", PASSWORD)

    async def act() -> None:
        client = await counselor(server, session)
        try:
            claimed = await client.call("claim", {"conversation_id": conversation_id})
            assert claimed["ok"], claimed
            payload = {"conversation_id": conversation_id, "client_id": client_id(), "body": reply}
            assert (await client.call("message", payload))["ok"]
        finally:
            await client.disconnect()

    # Playwright's sync API owns this thread's event loop; the client gets a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, act()).result()


def conversation_of(server: Server, words: str) -> str:
    rows = server.query("SELECT conversation_id FROM message WHERE opened(body) = ?", (words,))
    assert len(rows) == 1, rows
    return str(rows[0][0])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_first_screen_in_every_language(
    server: Server, open_page: Callable[..., Page], lang: str, viewport: Any
) -> None:
    page = open_page(viewport=viewport)
    page.goto(f"{server.url}/chat?lang={lang}")
    expect(page.locator(".mg-js-actions")).to_be_visible()
    assert violations(page.main_frame) == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_state_of_a_conversation(
    server: Server, open_page: Callable[..., Page], lang: str
) -> None:
    """One walk through a whole chat, with axe at each state; every state's findings are
    collected under its name, so that one run shows them all."""
    t, chat = CATALOGUES[lang]["page"], CATALOGUES[lang]["chat"]
    page = open_page(viewport=PHONE, has_touch=True)
    page.clock.install()
    found: dict[str, list[str]] = {}

    def check(state: str) -> None:
        found[state] = violations(page.main_frame)

    page.goto(f"{server.url}/chat?lang={lang}")
    expect(page.get_by_role("button", name=t["start"], exact=True)).to_be_visible()
    check("first screen")
    page.get_by_text(t["confidential_heading"], exact=True).click()
    page.get_by_text(t["exit_heading"], exact=True).click()
    expect(page.get_by_text(t["exit_note"])).to_be_visible()
    check("first screen, both notes open")

    page.get_by_role("button", name=t["start"], exact=True).click()
    expect(page.get_by_role("heading", name=t["topic_heading"])).to_be_focused()
    check("topic step")

    page.get_by_role("button", name=t["topic_skip"]).click()
    status = page.locator(".mg-status")
    # Shown only while the chat waits for a counselor.
    expect(page.locator(".mg-js-wait-time")).not_to_be_empty()
    # Nobody is online to answer until hana comes: the note with the phone lines shows too.
    expect(page.get_by_role("heading", name=t["unstaffed_heading"])).to_be_visible()
    check("waiting, with the expected wait and the note that nobody is online")
    said = f"axe で確かめます {lang}"
    box = page.get_by_label(t["message"])
    box.fill(said)
    box.press("Enter")
    expect(page.locator(".mg-msg--mine .mg-meta")).not_to_have_text(chat["sending"])
    page.get_by_role("button", name=t["code_open"]).click()
    expect(page.locator("#mg-code-word")).to_be_focused()
    check("waiting, a message sent, the code word open")
    page.clock.fast_forward("03:01")
    expect(page.locator(".mg-js-wait-note")).not_to_be_empty()
    check("waiting, the calm note")

    # A reply long enough that the ended state's shorter log has to scroll.
    as_counselor(server, conversation_of(server, said), REPLY)
    expect(page.locator(".mg-msg--theirs")).to_have_count(1)
    expect(status).to_contain_text("花子")
    check("in conversation, messages both ways")

    # The real inactivity timer: ten quiet minutes bring the warning.
    page.clock.fast_forward("10:01")
    keep = page.get_by_role("button", name=t["idle_continue"], exact=True)
    expect(keep).to_be_visible()
    check("inactivity warning")
    keep.click()
    expect(keep).to_be_hidden()
    # The jump also timed out the socket's heartbeat: ending needs it connected again.
    expect(page.locator(".mg-js-banner")).to_be_hidden()

    page.get_by_role("button", name=t["leave"], exact=True).click()
    question = page.get_by_role("group", name=t["leave_confirm"])
    expect(question.get_by_role("button", name=t["leave_cancel"])).to_be_focused()
    check("asked to end")
    question.get_by_role("button", name=t["leave"], exact=True).click()
    expect(page.get_by_role("heading", name=t["closed"])).to_be_focused()
    expect(page.get_by_role("button", name=t["clear_screen"])).to_be_visible()
    # The log scrolls here: a keyboard must be able to reach and scroll it.
    assert page.locator(".mg-scroll").evaluate("(e) => e.scrollHeight > e.clientHeight")
    check("ended, with the survey")
    page.get_by_role("button", name=t["survey_send"], exact=True).click()
    expect(page.get_by_text(t["survey_thanks"])).to_be_focused()
    check("survey answered")

    # "In danger right now" goes straight in, with 110 at hand.
    page.get_by_role("button", name=t["restart"]).click()
    page.get_by_role("button", name=t["urgent"]).click()
    expect(page.get_by_role("link", name=t["urgent_call"])).to_be_focused()
    expect(page.locator(".mg-js-wait-time")).not_to_be_empty()
    check("in danger right now, waiting")

    page.goto(f"{server.url}/safety?lang={lang}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check("staying safe online")
    assert found == {state: [] for state in found}


@pytest.mark.parametrize("lang", LANGS)
def test_where_no_chat_opens(server: Server, open_page: Callable[..., Page], lang: str) -> None:
    """The out-of-hours view, and the pages for a partner or campaign that opens no chat."""
    t, words = CATALOGUES[lang]["page"], CATALOGUES[lang]["dead_end"]
    pages = {
        "out of hours": ("/chat?desk=holiday", t["closed_heading"]),
        "unknown partner": ("/chat?partner=nobody", words["partner_heading"]),
        "disabled partner": ("/chat?partner=gone", words["partner_heading"]),
        "ended campaign": ("/c/old-poster", words["campaign_heading"]),
        "unknown campaign": ("/c/no-such-poster", words["campaign_heading"]),
    }
    page = open_page(viewport=PHONE, has_touch=True)
    found: dict[str, list[str]] = {}
    for state, (path, heading) in pages.items():
        page.goto(f"{server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        found[state] = violations(page.main_frame)
    assert found == {state: [] for state in found}


# Visible text outside elements marked as Japanese that holds Japanese punctuation: a
# full-width colon or bracket on an English page reads as a typesetting slip.
FULL_WIDTH_OUTSIDE_JAPANESE = """() => {
  const fullWidth = /[\\uff08\\uff09\\uff1a]/
  const found = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement
    if (!fullWidth.test(node.data) || !parent || !parent.checkVisibility()) continue
    if (parent.closest('script, style') || parent.closest('[lang]').lang.startsWith('ja')) continue
    found.push(node.data.trim())
  }
  return found
}"""


def test_english_pages_use_english_punctuation(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(viewport=PHONE)
    found: dict[str, list[str]] = {}
    for state, path in {
        "first screen": "/chat?lang=en",
        "out of hours": "/chat?desk=holiday&lang=en",
        "disabled partner": "/chat?partner=gone&lang=en",
        "ended campaign": "/c/old-poster?lang=en",
        "staying safe": "/safety?lang=en",
    }.items():
        page.goto(f"{server.url}{path}")
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true })")
        found[state] = page.evaluate(FULL_WIDTH_OUTSIDE_JAPANESE)
    assert found == {state: [] for state in found}


def test_the_host_page_with_the_launcher_and_the_open_panel(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(viewport=DESKTOP)
    page.goto(f"{server.url}/demo")
    found = {"launcher": violations(page.main_frame)}
    page.get_by_role("button", name="相談する").click()
    expect(page.frame_locator("iframe").get_by_role("button", name="相談を始める")).to_be_visible()
    found["open panel"] = violations(page.main_frame)
    chat = page.frame(url=lambda url: "/chat?" in url)
    assert chat is not None
    found["the chat in the panel"] = violations(chat)
    assert found == {state: [] for state in found}
