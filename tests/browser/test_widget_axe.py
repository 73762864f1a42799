"""axe-core finds no serious or critical problem in any state of the visitor's side (WCAG 2.2 AA):
the host page's launcher and panel, the first screen in every language, waiting with
the 110 notice, a counselor answering, the code word, the end with the survey, the inactivity
warning, and the "staying safe online" page. The out-of-hours view is checked in
test_widget_hours.py.

axe is injected as a script, which our CSP forbids; only these contexts bypass the CSP."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, expect

from tests.browser.test_end_to_end import DESKTOP, PHONE
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, client_id, counselor, login_sync

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "widget" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(frame: Frame) -> list[str]:
    """What axe calls serious or critical in ``frame``, one line per rule with its elements."""
    frame.add_script_tag(path=str(AXE))
    found: list[str] = frame.evaluate(
        """async () => {
          const { violations } = await axe.run(document, { resultTypes: ['violations'] })
          return violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
        }"""
    )
    return found


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


@pytest.mark.parametrize("lang", ["ja", "en", "ja-easy"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_first_screen_in_every_language(
    server: Server, open_page: Callable[..., Page], lang: str, viewport: Any
) -> None:
    page = open_page(viewport=viewport)
    page.goto(f"{server.url}/chat?lang={lang}")
    expect(page.locator(".mg-js-actions")).to_be_visible()
    assert serious_violations(page.main_frame) == []


def test_every_state_of_a_conversation(server: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(viewport=PHONE)
    page.clock.install()
    page.goto(f"{server.url}/chat?lang=ja")
    found: dict[str, list[str]] = {}

    page.get_by_role("button", name="今すぐ危険がある").click()
    box = page.get_by_label("メッセージを入力")
    box.fill("いま話せます")
    box.press("Enter")
    expect(page.locator(".mg-msg--mine .mg-meta")).not_to_have_text("送信中…")
    page.get_by_role("button", name="合言葉を決める").click()
    found["waiting, urgent, code word open"] = serious_violations(page.main_frame)

    rows = server.query(
        "SELECT conversation_id FROM message WHERE opened(body) = ?", ("いま話せます",)
    )
    as_counselor(server, rows[0][0], "こんにちは。いまは安全な場所にいますか？")
    expect(page.locator(".mg-msg--theirs")).to_have_count(1)
    expect(page.locator(".mg-status")).to_contain_text("花子")
    found["a counselor answering"] = serious_violations(page.main_frame)

    page.get_by_role("button", name="相談を終える").click()
    page.get_by_role("group", name="相談を終えますか？").get_by_role(
        "button", name="相談を終える"
    ).click()
    expect(page.get_by_role("heading", name="相談は終了しました。")).to_be_visible()
    found["ended, with the survey"] = serious_violations(page.main_frame)
    page.get_by_role("button", name="送る").click()  # nothing answered counts as a skip
    expect(page.get_by_text("ありがとうございました。")).to_be_visible()
    found["survey answered"] = serious_violations(page.main_frame)
    # Last: a jump of ten minutes also times out the socket's heartbeat.
    page.clock.fast_forward("10:01")
    expect(page.get_by_role("button", name="続ける")).to_be_visible()
    found["inactivity warning"] = serious_violations(page.main_frame)

    page.goto(f"{server.url}/safety?lang=ja")
    found["staying safe online"] = serious_violations(page.main_frame)
    assert found == {state: [] for state in found}


def test_the_host_page_with_the_launcher_and_the_open_panel(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(viewport=DESKTOP)
    page.goto(f"{server.url}/demo")
    found = {"launcher": serious_violations(page.main_frame)}
    page.get_by_role("button", name="相談する").click()
    expect(page.frame_locator("iframe").get_by_role("button", name="相談を始める")).to_be_visible()
    found["open panel"] = serious_violations(page.main_frame)
    chat = page.frame(url=lambda url: "/chat?" in url)
    assert chat is not None
    found["the chat in the panel"] = serious_violations(chat)
    assert found == {state: [] for state in found}
