"""Available or away in the inbox's top bar, and the supervisors' live board, in a real browser.

The choice is a labelled pair of 44 px options that the keyboard works, and every tab of the
account follows it. The board shows each desk the supervisor works, by name, and follows a
counselor claiming a chat and going away without being reloaded. Both pass axe-core and fit
390 px without scrolling sideways, at 390×844 and 1280×800.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import StaffContext
from tests.browser.test_staff_pages import SIZES, cli, violations
from tests.conftest import PASSWORD
from tests.support import Clients, Server, login_sync, running_server
from tests.test_availability import desks

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """aiko supervises every desk; hana works every desk, ren the legal desk only."""
    with running_server() as srv:
        cli(srv, "desk", "add", "legal", "--name", "法律相談", "--hours", "24/7")
        srv.add_user("aiko", PASSWORD, role="supervisor", display_name="愛子")
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("ren", PASSWORD, display_name="蓮", desks=["legal"])
        deadline = time.monotonic() + 10
        while not any(d["key"] == "legal" for d in desks(srv)):
            assert time.monotonic() < deadline, "the server never read the new desk"
            time.sleep(0.05)  # polling the server's state
        yield srv


@pytest.fixture
def signed_in(server: Server, staff_context: StaffContext) -> Any:
    """A browser context per person, logged in afresh (so available, as a login makes one)."""
    return lambda username, size: staff_context(
        server, login_sync(server, username, PASSWORD), SIZES[size]
    )


def start_waiting_chat(server: Server) -> None:
    """A visitor starts a chat at the general desk and leaves it waiting."""

    async def start() -> None:
        clients = Clients(server)
        try:
            ack = await (await clients.visitor()).call("start", {})
            assert ack["ok"], ack
        finally:
            await clients.close()

    # Playwright's own loop runs in this thread: the clients run on one of their own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, start()).result(timeout=30)


def fits_and_passes_axe(page: Page, size: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert violations(page) == []


def staff_line(board: Page, desk: str, name: str) -> Any:
    return board.locator(f'.mg-desk[data-desk="{desk}"] .mg-staff').filter(has_text=name)


def load_of(line: Any) -> int:
    match = re.match(r"(\d+)/", line.locator(".mg-staff-load").inner_text())
    assert match, "a load reads as held/most"
    return int(match.group(1))


@pytest.mark.parametrize("size", list(SIZES))
def test_the_choice_is_one_per_account_and_works_by_keyboard(
    server: Server, signed_in: Any, size: str
) -> None:
    context = signed_in("ren", size)
    first, second = context.new_page(), context.new_page()
    for page in (first, second):
        page.goto(server.url + "/inbox")
        expect(page.get_by_role("radio", name="対応可能")).to_be_checked()
    group = first.get_by_role("group", name="対応状況")
    expect(group).to_be_visible()
    for option in ("対応可能", "離席中"):
        box = group.locator("label").filter(has_text=option).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44
    fits_and_passes_axe(first, size)

    # From the keyboard: the arrow moves the choice to 離席中, and the other tab follows.
    first.get_by_role("radio", name="対応可能").focus()
    first.keyboard.press("ArrowRight")
    expect(first.get_by_role("radio", name="離席中")).to_be_checked()
    expect(second.get_by_role("radio", name="離席中")).to_be_checked()
    fits_and_passes_axe(second, size)

    second.get_by_text("対応可能", exact=True).click()
    expect(first.get_by_role("radio", name="対応可能")).to_be_checked()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_board_follows_a_claim_and_going_away_live(
    server: Server, signed_in: Any, size: str
) -> None:
    board = signed_in("aiko", size).new_page()
    board.goto(server.url + "/inbox/board")
    general = board.locator('.mg-desk[data-desk="general"]')
    expect(general.get_by_role("heading")).to_have_text(re.compile("総合|一般"))
    expect(board.locator('.mg-desk[data-desk="legal"] h3')).to_have_text("法律相談")
    expect(staff_line(board, "legal", "花子")).to_have_count(0)  # not online yet

    inbox = signed_in("hana", size).new_page()
    inbox.goto(server.url + "/inbox")
    hana = staff_line(board, "general", "花子")
    expect(hana).to_contain_text("対応可能")
    # hana works every desk; ren, offline, is on none.
    expect(staff_line(board, "legal", "花子")).to_be_visible()
    expect(staff_line(board, "legal", "蓮")).to_have_count(0)
    held = load_of(hana)

    start_waiting_chat(server)
    expect(general.locator(".mg-desk-waiting dd")).not_to_have_text("0件")
    expect(general.locator(".mg-desk-now")).to_contain_text(re.compile(r"最長の待ち\d+分"))
    inbox.get_by_role("button", name="対応する").first.click()
    expect(hana.locator(".mg-staff-load")).to_have_text(re.compile(rf"^{held + 1}/"))

    inbox.get_by_text("離席中", exact=True).click()
    expect(hana).to_contain_text("離席中")
    expect(hana).to_have_class(re.compile("mg-staff--away"))
    fits_and_passes_axe(board, size)

    inbox.close()
    expect(hana).to_have_count(0)


# Counts the inbox's chimes: each one starts its notes on a fresh oscillator.
COUNT_CHIMES = """
window.chimes = 0
window.AudioContext = class {
  constructor () { this.currentTime = 0; this.destination = {} }
  createOscillator () {
    window.chimes += 1
    return { frequency: {}, connect () {}, start () {}, stop () {} }
  }
  createGain () { return { gain: {}, connect () {} } }
}
"""


def test_an_away_account_hears_no_new_chat(server: Server, signed_in: Any) -> None:
    context = signed_in("hana", "desk")
    context.add_init_script(COUNT_CHIMES)
    inbox = context.new_page()
    inbox.goto(server.url + "/inbox")
    expect(inbox.get_by_role("radio", name="対応可能")).to_be_checked()
    claims = inbox.get_by_role("button", name="対応する")
    waiting = claims.count()

    start_waiting_chat(server)
    expect(claims).to_have_count(waiting + 1)
    inbox.wait_for_function("window.chimes > 0")

    inbox.get_by_text("離席中", exact=True).click()
    expect(inbox.get_by_role("radio", name="離席中")).to_be_checked()
    heard = inbox.evaluate("window.chimes")
    start_waiting_chat(server)
    expect(claims).to_have_count(waiting + 2)  # shown in the queue all the same
    assert inbox.evaluate("window.chimes") == heard
