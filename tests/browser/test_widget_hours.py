"""Out of hours the chat is no dead form: the desk's hours and next
opening, its phone numbers and the 24-hour lines, and nothing to type into."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Page, expect

from service.domain.hours import DAYS, TOKYO
from tests.browser.test_end_to_end import record_errors
from tests.browser.test_widget_axe import serious_violations
from tests.support import PROJECT_DIR, Server, running_server

pytestmark = pytest.mark.browser

PHONE = "03-1234-5678"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(env={"MADOGUCHI_DEFAULT_DESK_HOURS": "closed"}) as srv:
        yield srv


def set_desk(server: Server, *args: str) -> None:
    """Change the default desk with the CLI, as an admin would, and wait until the running
    server has picked it up (it polls the database once a second)."""
    subprocess.run(
        [sys.executable, "-m", "service", "desk", "update", "general", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )
    hours = args[args.index("--hours") + 1]

    def picked_up(desk: dict[str, Any]) -> bool:
        if "--phone" in args and args[args.index("--phone") + 1] not in desk["phones"]:
            return False
        if hours == "24/7":
            return bool(desk["open_now"])
        if hours == "closed":
            return desk["hours_text"] == "現在、受付を休止しています"
        return not desk["open_now"] and desk["next_open_at"] is not None

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if picked_up(httpx.get(f"{server.url}/api/v1/desks").json()["desks"][0]):
            return
        time.sleep(0.05)  # polling the server's state, not waiting on the page
    raise AssertionError(f"the server did not pick up {args!r}")


@pytest.fixture
def open_chat(
    browser: Browser, server: Server
) -> Iterator[Callable[[], tuple[Page, FrameLocator]]]:
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_() -> tuple[Page, FrameLocator]:
        # The CSP is bypassed only so that axe can be injected.
        context = browser.new_context(locale="ja-JP", bypass_csp=True)
        contexts.append(context)
        record_errors(context, errors)
        page = context.new_page()
        page.goto(f"{server.url}/demo")
        page.get_by_role("button", name="相談する").click()
        return page, page.frame_locator("iframe")

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def in_two_days() -> str:
    """A weekday two days from now in Tokyo, never today."""
    return DAYS[(datetime.now(TOKYO).weekday() + 2) % 7]


def test_a_suspended_desk_shows_the_24_hour_lines_and_nothing_to_type_into(
    server: Server, open_chat: Callable[[], tuple[Page, FrameLocator]]
) -> None:
    set_desk(server, "--hours", "closed")
    page, chat = open_chat()
    expect(chat.get_by_role("heading", name="いまは受付時間外です")).to_be_visible()
    # The out-of-hours region says so; the waiting note's copy of the hours stays hidden.
    expect(
        chat.get_by_role("region").get_by_text("受付時間：現在、受付を休止しています")
    ).to_be_visible()
    for number, tel in [
        ("110", "tel:110"),
        ("0120-279-889", "tel:0120279889"),
        ("#8008", "tel:%238008"),
        ("#8891", "tel:%238891"),
        ("0120-279-338", "tel:0120279338"),
    ]:
        expect(chat.get_by_role("link", name=number, exact=True)).to_have_attribute("href", tel)
    expect(chat.get_by_role("button", name="相談を始める")).to_have_count(0)
    expect(chat.get_by_role("textbox")).to_have_count(0)
    # The exit is there all the same, and the view is as accessible as the others.
    expect(page.get_by_role("link", name="緊急退出")).to_be_visible()
    frame = page.frame(url=lambda url: "/chat?" in url)
    assert frame is not None
    assert serious_violations(frame) == []


def test_a_desk_closed_for_now_says_when_it_opens_and_how_to_call_it(
    server: Server, open_chat: Callable[[], tuple[Page, FrameLocator]]
) -> None:
    set_desk(server, "--hours", f"{in_two_days()} 09:00-17:00", "--phone", PHONE)
    _, chat = open_chat()
    expect(chat.get_by_role("heading", name="いまは受付時間外です")).to_be_visible()
    expect(chat.get_by_text("次の受付開始：")).to_contain_text("9:00")
    expect(chat.get_by_role("link", name=PHONE)).to_have_attribute("href", "tel:0312345678")


def test_a_desk_that_closes_while_the_first_screen_is_shown_turns_into_the_closed_view(
    server: Server, open_chat: Callable[[], tuple[Page, FrameLocator]]
) -> None:
    set_desk(server, "--hours", "24/7")
    _, chat = open_chat()
    start: Any = chat.get_by_role("button", name="相談を始める")
    expect(start).to_be_visible()
    set_desk(server, "--hours", "closed")
    start.click()
    chat.get_by_role("button", name="選ばずに始める").click()
    expect(chat.get_by_role("heading", name="いまは受付時間外です")).to_be_visible()
    expect(chat.get_by_role("button", name="相談を始める")).to_have_count(0)
