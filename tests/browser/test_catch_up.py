"""Every acknowledged message reaches the other side's screen, once and in order, even when its
live delivery is lost on the way or sent while the page was cut off: the chat and the inbox
fetch the missing seqs with ``history``. The other side is a real Socket.IO client, so the test
decides exactly when each message is sent."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Frame, Page, expect

from tests.browser.test_end_to_end import Visitor, inbox_bodies, inboxes, visitors
from tests.conftest import PASSWORD
from tests.support import Client, Server, client_id, counselor, login_sync, visitor

pytestmark = pytest.mark.browser

T = TypeVar("T")

# Test instrumentation of the browser's own WebSocket, in every frame: `__sent` records what the
# page sent; a received frame that holds `__drop` is swallowed once (a delivery lost on the
# way), and `__dropped` records it; `__sockets` lets a test cut the connection.
WIRE = """
(() => {
  const Native = window.WebSocket
  window.__sent = []
  window.__dropped = []
  window.__sockets = []
  window.__drop = ''
  window.WebSocket = class extends Native {
    constructor (...args) {
      super(...args)
      window.__sockets.push(this)
    }
    send (data) {
      window.__sent.push(String(data))
      super.send(data)
    }
    get onmessage () { return super.onmessage }
    set onmessage (handler) {
      super.onmessage = (event) => {
        if (window.__drop && String(event.data).includes(window.__drop)) {
          window.__dropped.push(String(event.data))
          window.__drop = ''
          return
        }
        handler.call(this, event)
      }
    }
  }
})()
"""
# Engine.IO's upgrade packet: from then on every delivery comes over the WebSocket.
UPGRADED = "() => window.__sent.includes('5')"
OFFLINE = "接続が切れました。再接続しています…"


class Background:
    """Real Socket.IO clients on an event loop of their own thread: Playwright's sync API owns
    this thread's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[Client] = []

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def connect(self, make: Coroutine[Any, Any, Client]) -> Client:
        client = self.run(make)
        self.clients.append(client)
        return client

    def post(self, client: Client, body: str, key: str = "", **fields: Any) -> int:
        """Sends one message (``key``: its client_id, to resend it) and returns its seq, once the
        server has committed it."""
        message = {**fields, "client_id": key or client_id(), "body": body}
        ack = self.run(client.call("message", message))
        assert ack["ok"], ack
        return int(ack["seq"])

    def close(self) -> None:
        for client in self.clients:
            self.run(client.disconnect())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture
def background() -> Iterator[Background]:
    clients = Background()
    yield clients
    clients.close()


@pytest.fixture
def open_visitor(browser: Browser, server: Server) -> Iterator[Callable[..., Visitor]]:
    with visitors(browser, server) as open_:
        yield open_


def wired_visitor(open_visitor: Callable[..., Visitor]) -> Visitor:
    guest = open_visitor()
    guest.context.add_init_script(WIRE)
    guest.page.reload()
    return guest


def conversation_of(server: Server, words: str) -> str:
    rows = server.query("SELECT conversation_id FROM message WHERE opened(body) = ?", (words,))
    assert len(rows) == 1, rows
    return str(rows[0][0])


def answering(background: Background, server: Server, first_words: str) -> tuple[Client, str]:
    """ren, as a real Socket.IO client, takes the conversation that began with ``first_words``."""
    ren = background.connect(counselor(server, login_sync(server, "ren", PASSWORD)))
    conversation = conversation_of(server, first_words)
    ack = background.run(ren.call("claim", {"conversation_id": conversation}))
    assert ack["ok"], ack
    return ren, conversation


def chat_frame(guest: Visitor) -> Frame:
    frame = guest.chat_frame()
    frame.wait_for_function(UPGRADED)
    return frame


def test_a_lost_delivery_to_the_chat_is_fetched_and_shown_in_its_place(
    server: Server, background: Background, open_visitor: Callable[..., Visitor]
) -> None:
    guest = wired_visitor(open_visitor)
    guest.start()
    guest.say("途中で届かない話")
    expect(guest.bodies()).to_have_text(["途中で届かない話"])
    ren, conversation = answering(background, server, "途中で届かない話")
    expect(guest.bodies().last).to_have_text("相談員が入室しました。")
    frame = chat_frame(guest)

    frame.evaluate("window.__drop = '届かなかった二通目'")
    to = {"conversation_id": conversation}
    background.post(ren, "一通目です", **to)
    background.post(ren, "届かなかった二通目", **to)
    frame.wait_for_function("() => window.__dropped.length === 1")
    expect(guest.bodies().last).to_have_text("一通目です")
    # The next delivery shows a seq missing before it.
    third = client_id()
    background.post(ren, "三通目です", third, **to)
    healed = [
        "途中で届かない話",
        "相談員が入室しました。",
        "一通目です",
        "届かなかった二通目",
        "三通目です",
    ]
    expect(guest.bodies()).to_have_text(healed)
    # One history call was enough.
    sent = frame.evaluate("window.__sent")
    assert sum('"history"' in packet for packet in sent) == 1, sent

    # A retry of a stored message, which the room may get again, is shown once.
    background.post(ren, "三通目です", third, **to)
    background.post(ren, "四通目です", **to)
    expect(guest.bodies()).to_have_text([*healed, "四通目です"])


def test_what_was_sent_while_the_chat_was_cut_off_arrives_once_in_order(
    browser: Browser, server: Server, background: Background
) -> None:
    # The browser logs each refused reconnect while offline.
    with visitors(browser, server, errors_allowed=True) as open_:
        guest = wired_visitor(open_)
        guest.start()
        guest.say("切れる前の話")
        ren, conversation = answering(background, server, "切れる前の話")
        expect(guest.bodies().last).to_have_text("相談員が入室しました。")
        chat_frame(guest)

        guest.context.set_offline(True)
        expect(guest.chat.get_by_text(OFFLINE)).to_be_visible()
        missed = ["切れている間の一通目", "切れている間の二通目", "切れている間の三通目"]
        for words in missed:
            background.post(ren, words, conversation_id=conversation)
        guest.context.set_offline(False)

        # Clients retry at most every 5 s (reconnectionDelayMax), plus a random spread.
        expect(guest.chat.get_by_text(OFFLINE)).to_be_hidden(timeout=15_000)
        expect(guest.bodies()).to_have_text(["切れる前の話", "相談員が入室しました。", *missed])


@contextlib.contextmanager
def holding_two(
    background: Background, server: Server, inbox: Page, words: tuple[str, str]
) -> Iterator[list[Client]]:
    """Two visitors (real Socket.IO clients) each start and write; the inbox takes both and
    shows the first one. They leave afterwards, so the next test's inbox holds only its own."""
    guests: list[Client] = []
    try:
        for first_words in words:
            guest = background.connect(visitor(server, partner="demo"))
            guests.append(guest)
            assert background.run(guest.call("start", {}))["ok"]
            background.post(guest, first_words)
        for first_words in words:
            # The longest waiting first.
            inbox.locator(".mg-q--waiting button").first.click()
            expect(inbox_bodies(inbox).first).to_have_text(first_words)
        inbox.locator(".mg-q--mine:not(.mg-q--current) button").click()
        expect(inbox_bodies(inbox).first).to_have_text(words[0])
        yield guests
    finally:
        for guest in guests:
            background.run(guest.call("leave", {}))


def test_after_a_reconnect_the_inbox_catches_up_every_held_chat_and_marks_the_other(
    browser: Browser, server: Server, background: Background
) -> None:
    # The browser logs each refused reconnect while offline.
    with inboxes(browser, server, errors_allowed=True) as open_inbox:
        inbox = open_inbox("hana")
        chats = holding_two(background, server, inbox, ("開いている相談", "もう一つの相談"))
        with chats as (shown, other):
            unread = inbox.locator(".mg-q-new")
            expect(unread).to_have_count(0)

            inbox.context.set_offline(True)
            expect(inbox.locator("#mg-banner")).to_have_text(OFFLINE)
            background.post(shown, "開いている相談：切れている間に")
            missed = ["もう一つ：切れている間の一通目", "もう一つ：切れている間の二通目"]
            for words in missed:
                background.post(other, words)
            inbox.context.set_offline(False)

            # Clients retry at most every 5 s (reconnectionDelayMax), plus a random spread.
            expect(inbox.locator("#mg-banner")).to_be_hidden(timeout=15_000)
            expect(inbox_bodies(inbox)).to_have_text(
                ["開いている相談", "相談員が入室しました。", "開いている相談：切れている間に"]
            )
            # The one not on screen is marked, in words for screen readers too.
            marked = inbox.locator(".mg-q--mine:not(.mg-q--current)")
            expect(marked.locator(".mg-q-new")).to_have_count(1)
            expect(marked.get_by_text("未読のメッセージがあります")).to_have_count(1)
            expect(inbox.locator(".mg-q--current .mg-q-new")).to_have_count(0)

            marked.get_by_role("button", name="開く").click()
            expect(inbox_bodies(inbox)).to_have_text(
                ["もう一つの相談", "相談員が入室しました。", *missed]
            )
            expect(unread).to_have_count(0)


def test_a_lost_delivery_to_the_inbox_is_fetched_and_a_new_message_elsewhere_is_marked(
    browser: Browser, server: Server, background: Background
) -> None:
    with inboxes(browser, server) as open_inbox:
        inbox = open_inbox("hana")
        inbox.context.add_init_script(WIRE)
        inbox.goto(f"{server.url}/inbox?lang=en")
        chats = holding_two(background, server, inbox, ("Open one", "The other one"))
        with chats as (shown, other):
            inbox.wait_for_function(UPGRADED)
            inbox.evaluate("window.__drop = 'Lost on the way'")
            background.post(shown, "Lost on the way")
            inbox.wait_for_function("() => window.__dropped.length === 1")
            expect(inbox_bodies(inbox).last).to_have_text("A counselor joined.")
            # The next delivery shows a seq missing before it.
            background.post(shown, "After the lost one")
            expect(inbox_bodies(inbox)).to_have_text(
                ["Open one", "A counselor joined.", "Lost on the way", "After the lost one"]
            )

            background.post(other, "Meanwhile elsewhere")
            marked = inbox.locator(".mg-q--mine:not(.mg-q--current)")
            expect(marked.get_by_text("Unread messages")).to_have_count(1)
