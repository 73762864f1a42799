"""Ending a consultation takes a confirmation, from a control far from Send, so that a slip of
the thumb ends nothing; after the end, beside the survey, "clear this screen now" takes the
conversation off the screen at once, as quick exit does, without leaving the page."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.browser.test_end_to_end import record_errors
from tests.browser.test_widget_opening import PHONE, SMALL_PHONE, violations
from tests.conftest import PASSWORD
from tests.support import Server, client_id, counselor, login_sync

pytestmark = pytest.mark.browser

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "start": "相談を始める",
        "skip": "選ばずに始める",
        "message": "メッセージを入力",
        "send": "送信",
        "end": "相談を終える",
        "question": "相談を終えますか？",
        "continue": "相談を続ける",
        "ended": "相談は終了しました。",
        "clear": "この画面をすぐに消す",
        "survey": "送る",
    },
    "en": {
        "start": "Start",
        "skip": "Start without choosing",
        "message": "Type a message",
        "send": "Send",
        "end": "End the chat",
        "question": "End the chat now?",
        "continue": "Keep talking",
        "ended": "This chat has ended.",
        "clear": "Clear this screen now",
        "survey": "Send",
    },
    "ja-easy": {
        "start": "そうだんを はじめる",
        "skip": "えらばないで はじめる",
        "message": "メッセージを かく",
        "send": "おくる",
        "end": "そうだんを おわる",
        "question": "そうだんを おわりますか？",
        "continue": "そうだんを つづける",
        "ended": "そうだんは おわりました。",
        "clear": "この がめんを すぐ けす",
        "survey": "おくる",
    },
}


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A page in a fresh context; the CSP is bypassed only so that axe can be injected."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(viewport: ViewportSize = PHONE) -> Page:
        context = browser.new_context(
            viewport=viewport, locale="ja-JP", bypass_csp=True, has_touch=True
        )
        contexts.append(context)
        record_errors(context, errors)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def conversation_of(server: Server, words: str) -> str:
    rows = server.query("SELECT conversation_id FROM message WHERE opened(body) = ?", (words,))
    assert len(rows) == 1, rows
    return str(rows[0][0])


def status_of(server: Server, conversation_id: str) -> str:
    return str(
        server.query("SELECT status FROM conversation WHERE id = ?", (conversation_id,))[0][0]
    )


def answer_as_hana(server: Server, conversation_id: str, reply: str) -> None:
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


def talking(server: Server, page: Page, lang: str, said: str) -> str:
    """A visitor in conversation with hana; returns the conversation's id."""
    words = WORDS[lang]
    page.goto(f"{server.url}/chat?lang={lang}")
    page.get_by_role("button", name=words["start"], exact=True).click()
    page.get_by_role("button", name=words["skip"]).click()
    box = page.get_by_label(words["message"])
    box.fill(said)
    box.press("Enter")
    expect(page.locator(".mg-msg--mine .mg-meta")).not_to_have_text(
        {"ja": "送信中…", "en": "Sending…", "ja-easy": "おくって います…"}[lang]
    )
    conversation_id = conversation_of(server, said)
    answer_as_hana(server, conversation_id, "こんにちは。")
    expect(page.locator(".mg-msg--theirs")).to_have_count(1)
    return conversation_id


@pytest.mark.parametrize(
    ("lang", "viewport"),
    [("ja", PHONE), ("en", PHONE), ("ja-easy", PHONE), ("ja", SMALL_PHONE)],
    ids=["ja-390", "en-390", "ja-easy-390", "ja-320"],
)
def test_ending_asks_first_from_a_control_far_from_send(
    server: Server, open_page: Callable[..., Page], lang: str, viewport: ViewportSize
) -> None:
    words = WORDS[lang]
    page = open_page(viewport)
    said = f"終わり方を確かめます {lang} {viewport['width']}"
    conversation_id = talking(server, page, lang, said)

    end = page.get_by_role("button", name=words["end"], exact=True)
    send = page.get_by_role("button", name=words["send"], exact=True)
    end_box, send_box = end.bounding_box(), send.bounding_box()
    assert end_box is not None and send_box is not None
    # At the other end of the screen from Send: a thumb on Send never reaches it.
    assert send_box["y"] - (end_box["y"] + end_box["height"]) > viewport["height"] / 3

    # A tap only asks; "continue" is the answer at hand, and the chat goes on.
    end.click()
    question = page.get_by_role("group", name=words["question"])
    expect(question).to_be_visible()
    expect(question).to_be_in_viewport()
    keep = question.get_by_role("button", name=words["continue"])
    expect(keep).to_be_focused()
    assert violations(page.main_frame) == []
    keep.click()
    expect(question).to_be_hidden()
    expect(page.get_by_label(words["message"])).to_be_focused()
    # Escape is "continue" too.
    end.click()
    expect(keep).to_be_focused()
    page.keyboard.press("Escape")
    expect(question).to_be_hidden()
    expect(end).to_be_focused()
    assert status_of(server, conversation_id) == "active"

    # Confirmed, it ends.
    end.click()
    question.get_by_role("button", name=words["end"], exact=True).click()
    expect(page.get_by_role("heading", name=words["ended"])).to_be_focused()
    assert status_of(server, conversation_id) == "closed"
    expect(page.get_by_role("button", name=words["clear"])).to_be_visible()
    assert violations(page.main_frame) == []


def test_clear_this_screen_takes_the_conversation_off_the_screen_and_stays(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(PHONE)
    said = "画面から消したい話です"
    talking(server, page, "ja", said)
    page.get_by_role("button", name="相談を終える", exact=True).click()
    page.get_by_role("group", name="相談を終えますか？").get_by_role(
        "button", name="相談を終える"
    ).click()
    clear = page.get_by_role("button", name="この画面をすぐに消す")
    survey_send = page.get_by_role("button", name="送る", exact=True)
    expect(survey_send).to_be_visible()
    # Beside the survey: in view right after the end, above the survey's questions.
    expect(clear).to_be_in_viewport()
    url = page.url

    clear.click()
    expect(page.locator("#mg-app")).to_be_empty()
    expect(page.get_by_text(said)).to_have_count(0)
    expect(page.get_by_text("こんにちは。")).to_have_count(0)
    assert page.title() == ""
    assert page.url == url  # stayed: nothing opened, nothing navigated
    assert page.evaluate("sessionStorage.length") == 0
    # Nothing comes back on the screen: the socket is closed.
    assert page.evaluate("document.body.innerText.trim()") == ""
