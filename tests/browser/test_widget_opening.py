"""The first screen welcomes: on a phone the heading, three short lines of reassurance and the
start button show without scrolling, in every language, however the chat is opened (directly,
in a partner's panel, from a poster's QR code); confidentiality and its limits are one tap
away; on a desk computer the text keeps a readable measure. The optional topic step names what
the chat is about in the poster's words, becomes its first topic tag, and is skipped in one tap.

Measured in Debian's Chromium with fonts-noto-cjk, as a phone has such a font."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, ViewportSize, expect

from tests.browser.test_end_to_end import record_errors
from tests.support import PROJECT_DIR, Server

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "widget" / "node_modules" / "axe-core" / "axe.min.js"
PHONE: ViewportSize = {"width": 390, "height": 844}
SMALL_PHONE: ViewportSize = {"width": 320, "height": 568}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}

# What each language shows first, and the words of the steps after it.
WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "heading": "チャットで相談する",
        "welcome": "どんな小さなことでも、話してみてください。",
        "start": "相談を始める",
        "confidential": "秘密は守ります",
        "limits": "警察や児童相談所に連絡することがあります",
        "topic": "どんなことの相談ですか？",
        "skip": "選ばずに始める",
        "dv": "DV（配偶者・パートナーからの暴力）",
        "waiting": "相談員を待っています",
        "message": "メッセージを入力",
    },
    "en": {
        "heading": "Talk to a counselor by chat",
        "welcome": "No problem is too small to talk about.",
        "start": "Start",
        "confidential": "What you say stays confidential",
        "limits": "we may contact the police or the child guidance centre",
        "topic": "What would you like to talk about?",
        "skip": "Start without choosing",
        "dv": "Domestic violence (DV) from a spouse or partner",
        "waiting": "Waiting for a counselor",
        "message": "Type a message",
    },
    "ja-easy": {
        "heading": "チャットで そうだんする",
        "welcome": "どんな ちいさな ことでも、はなして ください。",
        "start": "そうだんを はじめる",
        "confidential": "ひみつは まもります",
        "limits": "けいさつや じどうそうだんじょに れんらく する ことが あります",
        "topic": "なんの そうだんですか？",
        "skip": "えらばないで はじめる",
        "dv": "DV（パートナーからの ぼうりょく）",
        "waiting": "そうだんいんを まって います",
        "message": "メッセージを かく",
    },
}


def violations(frame: Frame) -> list[str]:
    """Every axe-core violation in ``frame``, of any impact, one line per rule."""
    frame.add_script_tag(path=str(AXE))
    found: list[str] = frame.evaluate(
        """async () => {
          const { violations } = await axe.run(document, { resultTypes: ['violations'] })
          return violations.map(
            (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
        }"""
    )
    return found


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A page in a fresh context; the CSP is bypassed only so that axe can be injected."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_(viewport: ViewportSize = PHONE) -> Page:
        context = browser.new_context(
            viewport=viewport, locale="ja-JP", bypass_csp=True, has_touch=viewport != DESKTOP
        )
        contexts.append(context)
        record_errors(context, errors)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def assert_above_the_fold(frame: Frame, *selectors: str) -> None:
    """Each element lies wholly inside the frame's viewport, the frame is not scrolled, and
    (in an iframe) the frame itself lies inside the page's viewport."""
    found: dict[str, Any] = frame.evaluate(
        """(selectors) => ({
          height: window.innerHeight,
          scrolled: document.scrollingElement.scrollTop
            + document.querySelector('.mg-intro').scrollTop,
          boxes: selectors.map((s) => {
            const r = document.querySelector(s).getBoundingClientRect()
            return { selector: s, top: r.top, bottom: r.bottom, height: r.height }
          })
        })""",
        list(selectors),
    )
    assert found["scrolled"] == 0, found
    for box in found["boxes"]:
        assert box["height"] > 0 and box["top"] >= 0, box
        assert box["bottom"] <= found["height"], (box, found["height"])
    element = frame.frame_element() if frame.parent_frame else None
    if element is not None:
        rect = element.bounding_box()
        page_height = frame.page.viewport_size["height"] if frame.page.viewport_size else 0
        assert rect is not None and rect["y"] + rect["height"] <= page_height, rect


def first_screen_is_welcoming(frame: Frame, lang: str) -> None:
    words = WORDS[lang]
    start = frame.get_by_role("button", name=words["start"], exact=True)
    expect(start).to_be_visible()
    expect(frame.get_by_role("heading", name=words["heading"])).to_be_visible()
    expect(frame.get_by_text(words["welcome"])).to_be_visible()
    assert_above_the_fold(frame, ".mg-heading", ".mg-welcome", ".mg-js-start")
    # The limits of confidentiality are one tap away, not what a visitor reads first.
    limits = frame.get_by_text(words["limits"])
    expect(limits).to_be_hidden()
    frame.get_by_text(words["confidential"], exact=True).click()
    expect(limits).to_be_visible()


@pytest.mark.parametrize("lang", ["ja", "en", "ja-easy"])
@pytest.mark.parametrize("viewport", [PHONE, SMALL_PHONE], ids=["390x844", "320x568"])
def test_the_chat_page_opens_with_a_welcome_and_the_start_above_the_fold(
    server: Server, open_page: Callable[..., Page], lang: str, viewport: ViewportSize
) -> None:
    page = open_page(viewport)
    page.goto(f"{server.url}/chat?lang={lang}")
    # The quick exit stays first and always visible.
    expect(page.locator(".mg-exit")).to_be_in_viewport()
    first_screen_is_welcoming(page.main_frame, lang)
    assert violations(page.main_frame) == []


@pytest.mark.parametrize("lang", ["ja", "en", "ja-easy"])
def test_in_a_partners_panel_on_a_phone_the_start_is_above_the_fold(
    server: Server, open_page: Callable[..., Page], lang: str
) -> None:
    page = open_page(PHONE)
    page.goto(f"{server.url}/demo")
    page.get_by_role("button", name="相談する").click()
    # The panel's iframe is made on the click: wait for its page before looking for its frame.
    expect(page.frame_locator("iframe").get_by_role("heading", level=1)).to_be_visible()
    frame = page.frame(url=lambda url: "/chat?" in url)
    assert frame is not None
    if lang != "ja":
        language = {"en": "English", "ja-easy": "やさしい にほんご"}[lang]
        frame.get_by_role("link", name=language).click()
        expect(page.frame_locator("iframe").get_by_role("heading", level=1)).to_have_text(
            WORDS[lang]["heading"]
        )
        frame = page.frame(url=lambda url: "/chat?" in url)
        assert frame is not None
    first_screen_is_welcoming(frame, lang)


def add_campaign(server: Server, code: str) -> None:
    """A poster's campaign, added with the CLI as an admin would; returns once the running
    server answers its QR address (it reloads the catalog about once a second)."""
    subprocess.run(
        [sys.executable, "-m", "service", "campaign", "add", code, "--name", "区報ポスター"],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if httpx.get(f"{server.url}/c/{code}").status_code == 303:
            return
        time.sleep(0.05)  # polling the server's state, not waiting on the page
    raise AssertionError(f"the server did not pick up the campaign {code}")


def test_from_a_posters_qr_code_the_start_is_above_the_fold(
    server: Server, open_page: Callable[..., Page]
) -> None:
    add_campaign(server, "poster-opening")
    page = open_page(SMALL_PHONE)
    page.goto(f"{server.url}/c/poster-opening")
    expect(page).to_have_url(re.compile(r"/chat\?.*campaign=poster-opening"))
    first_screen_is_welcoming(page.main_frame, "ja")


def test_on_a_desk_computer_the_text_keeps_a_readable_measure(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(DESKTOP)
    page.goto(f"{server.url}/chat?lang=en")
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible()
    widths: dict[str, float] = page.evaluate(
        """() => ({
          em: parseFloat(getComputedStyle(document.body).fontSize),
          text: document.querySelector('.mg-intro p').getBoundingClientRect().width,
          bar: document.querySelector('.mg-top').getBoundingClientRect().width
        })"""
    )
    assert widths["text"] <= 40 * widths["em"], widths
    assert widths["bar"] == DESKTOP["width"], widths  # the bar with the exit spans the window


def newest_conversation(server: Server) -> tuple[str, str | None, list[str]]:
    """The newest conversation's id, its topic and its topic tags, as the counselor sees them."""
    conversation_id, topic = server.query(
        "SELECT id, topic FROM conversation ORDER BY created_at DESC LIMIT 1"
    )[0]
    tags = server.query(
        "SELECT t.key FROM conversation_tag AS ct JOIN topic_tag AS t ON t.id = ct.tag_id "
        "WHERE ct.conversation_id = ?",
        (conversation_id,),
    )
    return str(conversation_id), topic, [str(t[0]) for t in tags]


@pytest.mark.parametrize("lang", ["ja", "en", "ja-easy"])
def test_the_topic_in_the_posters_words_becomes_the_first_tag(
    server: Server, open_page: Callable[..., Page], lang: str
) -> None:
    words = WORDS[lang]
    page = open_page(PHONE)
    page.goto(f"{server.url}/chat?lang={lang}")
    page.get_by_role("button", name=words["start"], exact=True).click()
    expect(page.get_by_role("heading", name=words["topic"])).to_be_focused()
    # Skipping is one tap, above the fold.
    assert_above_the_fold(page.main_frame, ".mg-js-topic-skip")
    assert violations(page.main_frame) == []
    page.get_by_role("button", name=words["dv"]).click()
    expect(page.locator(".mg-status")).to_contain_text(words["waiting"])
    expect(page.get_by_label(words["message"])).to_be_focused()
    _, topic, tags = newest_conversation(server)
    assert (topic, tags) == ("domestic_violence", ["domestic_violence"])


def test_skipping_the_topic_is_one_tap_and_back_returns_to_the_first_screen(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(SMALL_PHONE)
    page.goto(f"{server.url}/chat?lang=ja")
    start = page.get_by_role("button", name="相談を始める")
    start.click()
    page.get_by_role("button", name="戻る").click()
    expect(start).to_be_focused()
    start.click()
    page.get_by_role("button", name="選ばずに始める").click()
    expect(page.locator(".mg-status")).to_contain_text("相談員を待っています")
    _, topic, tags = newest_conversation(server)
    assert (topic, tags) == (None, [])


def test_in_danger_right_now_goes_straight_in_without_the_topic_step(
    server: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(PHONE)
    page.goto(f"{server.url}/chat?lang=ja")
    page.get_by_role("button", name="今すぐ危険がある").click()
    expect(page.get_by_role("link", name="110番に電話する")).to_be_focused()
    expect(page.get_by_role("heading", name="どんなことの相談ですか？")).to_be_hidden()
    expect(page.locator(".mg-status")).to_contain_text("相談員を待っています")


# Where a line of やさしい日本語 may end: at a space between words, or after a comma, a full stop
# or a closing bracket. Inside a word it may not, but inside a name with furigana it may.
MID_WORD_BREAKS = """() => {
  const BREAK_AFTER = ' 、。）」・'
  const found = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement
    if (!parent.checkVisibility() || parent.closest('ruby, script, style, .mg-body')) continue
    const range = document.createRange()
    let lastTop = null
    for (let i = 0; i < node.data.length; i++) {
      range.setStart(node, i)
      range.setEnd(node, i + 1)
      const rect = range.getClientRects()[0]
      if (!rect || !rect.width) continue
      if (lastTop !== null && rect.top > lastTop + rect.height / 2 && i > 0) {
        const before = node.data[i - 1]
        if (!BREAK_AFTER.includes(before) && !'「（'.includes(node.data[i])) {
          found.push(node.data.slice(Math.max(0, i - 6), i) + '|' + node.data.slice(i, i + 6))
        }
      }
      lastTop = rect.top
    }
  }
  return found
}"""


@pytest.mark.parametrize("viewport", [PHONE, SMALL_PHONE], ids=["390x844", "320x568"])
def test_easy_japanese_lines_break_between_words_not_inside_them(
    server: Server, open_page: Callable[..., Page], viewport: ViewportSize
) -> None:
    """やさしい日本語 puts a space between words so that a reader can sound each one out: a
    line that ends inside a word (はなして くださ|い) undoes that."""
    page = open_page(viewport)
    words = WORDS["ja-easy"]
    page.goto(f"{server.url}/chat?lang=ja-easy")
    for more in page.locator(".mg-intro details summary").all():
        more.click()
    assert page.evaluate(MID_WORD_BREAKS) == []
    page.get_by_role("button", name=words["start"], exact=True).click()
    expect(page.get_by_role("heading", name=words["topic"])).to_be_visible()
    assert page.evaluate(MID_WORD_BREAKS) == []
    page.goto(f"{server.url}/safety?lang=ja-easy")
    assert page.evaluate(MID_WORD_BREAKS) == []
