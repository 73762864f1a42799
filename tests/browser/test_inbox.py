"""The inbox in real browsers: two counselors and a supervisor at once, each in their own
context, with a visitor on the demo page. The claim race, the limit of concurrent chats, canned
responses by shortcut, notes, tags, risk and the handoff that never reach the visitor's page or
socket, the supervisor watching and writing to the counselor, and the urgent alert."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.browser.test_end_to_end import Visitor, inbox_bodies, inboxes, visitors
from tests.conftest import PASSWORD
from tests.support import Server, running_server

pytestmark = pytest.mark.browser

SAFETY_CHECK = "今、安全にお話しできますか？画面を誰かに見られていませんか？"
NOTE = "内部メモ：同居の子どもあり"
SUMMARY = "引き継ぎ要約：電話相談を案内"
WHISPER = "SVより：安全確認を続けてください"
# Stands in for the browser's notifications and sound, recording what they were asked to show.
RECORDERS = """
window.__notes = []
window.__chimes = 0
window.Notification = class {
  constructor (title, options) { window.__notes.push({ title, body: options && options.body }) }
  close () {}
  static get permission () { return 'granted' }
  static requestPermission () { return Promise.resolve('granted') }
}
document.hasFocus = () => false
window.AudioContext = class {
  constructor () { this.currentTime = 0; this.destination = {} }
  createOscillator () {
    return { frequency: {}, connect () {}, start () { window.__chimes++ }, stop () {} }
  }
  createGain () { return { gain: {}, connect () {} } }
}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(env={"MADOGUCHI_MAX_CONCURRENT_CHATS": "1"}) as srv:
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("ren", PASSWORD, display_name="蓮")
        srv.add_user("mori", PASSWORD, role="supervisor", display_name="森")
        yield srv


@pytest.fixture
def open_visitor(browser: Browser, server: Server) -> Iterator[Callable[..., Visitor]]:
    with visitors(browser, server) as open_:
        yield open_


@pytest.fixture
def open_inbox(browser: Browser, server: Server) -> Iterator[Callable[[str], Page]]:
    def with_recorders(username: str) -> Page:
        page = login(username)
        page.context.add_init_script(RECORDERS)
        page.reload()
        return page

    with inboxes(browser, server) as login:
        yield with_recorders


def visitor_frames(visitor: Visitor) -> list[str]:
    """Everything the visitor's sockets receive, from now on."""
    frames: list[str] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    visitor.page.on("websocket", watch)
    return frames


def test_casework_stays_with_staff_and_the_supervisor_watches_and_is_alerted(
    open_visitor: Callable[..., Visitor], open_inbox: Callable[[str], Page]
) -> None:
    visitor = open_visitor()
    frames = visitor_frames(visitor)
    visitor.start()
    hana = open_inbox("hana")
    mori = open_inbox("mori")
    mori.goto(mori.url.replace("/inbox", "/inbox/board"))
    expect(mori.get_by_role("heading", name="全体ボード")).to_be_visible()

    hana.get_by_role("button", name="対応する").last.click()
    expect(hana.locator("#mg-convo-status")).to_have_text("対応中です。")
    # The safety check by shortcut: "/" opens the canned responses, Enter inserts, Enter sends.
    reply = hana.get_by_label("返信")
    reply.fill("/安全確認")
    expect(hana.get_by_role("listbox")).to_be_visible()
    expect(hana.get_by_role("option").first).to_contain_text("安全確認（はじめに）")
    reply.press("Enter")
    expect(reply).to_have_value(SAFETY_CHECK)
    reply.press("Enter")
    expect(visitor.bodies().last).to_have_text(SAFETY_CHECK)

    # The record beside the chat.
    hana.get_by_label("内部メモ（相談者には表示されません）").fill(NOTE)
    hana.get_by_role("button", name="メモを追加").click()
    expect(hana.locator("#mg-notes")).to_contain_text(NOTE)
    hana.get_by_label("家族のこと").check()
    hana.get_by_label("DV（配偶者・パートナーからの暴力）").check()
    hana.get_by_label("引き継ぎの要約（電話・面接相談員が後で読みます）").fill(SUMMARY)
    hana.get_by_role("button", name="要約を保存").click()
    expect(hana.locator("#mg-banner")).to_have_text("保存しました。")

    # The supervisor watches read-only and writes to the counselor alone.
    mori.get_by_role("button", name="見守る").first.click()
    expect(inbox_bodies(mori).last).to_have_text(SAFETY_CHECK)
    expect(mori.locator("#mg-notes")).to_contain_text(NOTE)
    expect(mori.get_by_label("返信")).to_have_count(0)
    visitor.say("いまは一人です")
    expect(inbox_bodies(mori).last).to_have_text("いまは一人です")
    mori.get_by_label("担当者へのメモ（担当の相談員だけに届きます）").fill(WHISPER)
    mori.get_by_role("button", name="担当者に送る").click()
    expect(hana.locator("#mg-notes .mg-note--supervisor")).to_contain_text(WHISPER)

    # Urgent: every online supervisor is alerted at once, with sound and a notification that
    # carries no words of the visitor's.
    hana.get_by_label("緊急").check()
    alert = mori.get_by_role("alert")
    expect(alert).to_contain_text("緊急")
    expect(alert).to_contain_text("花子")
    notes = mori.evaluate("window.__notes")
    assert {"title": "全体ボード", "body": "緊急の相談があります"} in notes
    assert mori.evaluate("window.__chimes") > 0
    assert all("いまは一人です" not in json.dumps(n, ensure_ascii=False) for n in notes)
    # The counselor heard the visitor's message too, without its words.
    assert all(
        "いまは一人です" not in json.dumps(n, ensure_ascii=False)
        for n in hana.evaluate("window.__notes")
    )

    hana.get_by_label("終了の区分").select_option("referred_phone")
    hana.get_by_role("button", name="終了", exact=True).click()
    expect(visitor.chat.get_by_text("相談は終了しました。")).to_be_visible()
    expect(mori.locator("#mg-convo-status")).to_contain_text("この相談は終了しました")

    seen = visitor.chat.locator("body").inner_text() + visitor.page.locator("body").inner_text()
    received = "\n".join(frames)
    assert SAFETY_CHECK in received
    for secret in (NOTE, SUMMARY, WHISPER, "domestic_violence", "family", "urgent", "森"):
        assert secret not in seen
        assert secret not in received


def test_the_claim_race_the_chat_limit_and_the_title_badge(
    open_visitor: Callable[..., Visitor], open_inbox: Callable[[str], Page]
) -> None:
    hana = open_inbox("hana")
    ren = open_inbox("ren")
    first = open_visitor()
    first.start()
    expect(hana).to_have_title("(1) 相談受付")
    expect(ren.get_by_role("button", name="対応する")).to_have_count(1)
    assert hana.evaluate("window.__chimes") > 0
    assert {"title": "相談受付", "body": "新しい相談者が待っています"} in hana.evaluate(
        "window.__notes"
    )

    # Both press "take" on the same visitor; ren's button is pressed after hana has won.
    stale = ren.get_by_role("button", name="対応する").element_handle()
    hana.get_by_role("button", name="対応する").click()
    expect(hana.locator("#mg-convo-status")).to_have_text("対応中です。")
    ren.evaluate("button => button.click()", stale)
    expect(ren.locator("#mg-banner")).to_have_text("ほかの相談員が先に対応を始めました。")
    expect(first.chat.locator(".mg-status")).to_have_text("相談員の花子さんが対応しています。")
    expect(hana).to_have_title("相談受付")

    # With one chat at most, hana may not take a second visitor; ren may.
    second = open_visitor()
    second.start()
    hana.get_by_role("button", name="対応する").click()
    expect(hana.locator("#mg-banner")).to_have_text("同時に対応できる相談の上限に達しています。")
    ren.get_by_role("button", name="対応する").click()
    expect(ren.locator("#mg-convo-status")).to_have_text("対応中です。")
    expect(second.chat.locator(".mg-status")).to_have_text("相談員の蓮さんが対応しています。")

    # The mute buttons: off, a new visitor makes no sound and the title carries no count.
    hana.get_by_role("button", name="音").click()
    hana.get_by_role("button", name="タブの件数").click()
    expect(hana.get_by_role("button", name="音")).to_have_attribute("aria-pressed", "false")
    chimes = hana.evaluate("window.__chimes")
    third = open_visitor()
    third.start()
    expect(hana.get_by_role("button", name="対応する")).to_have_count(1)
    expect(hana).to_have_title("相談受付")
    assert hana.evaluate("window.__chimes") == chimes
