"""やさしい日本語 pages leave no kanji bare: a desk's or a line's name shows with its reading over
it, else by its English name, else as a plain label in kana beside the number; a line's note
shows in easy Japanese, else not at all. The rules (``service/domain/readings.py``) first, then
the pages an admin's lines and desks end up on."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from service.domain.directory import Desk, EmergencyContact, has_han
from service.domain.readings import Shown, desk_name, line_name, line_note
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, running_server
from tests.test_admin import browser

WARD_LINE = EmergencyContact("区の女性相談", "03-5555-0303", note_ja="平日の昼間")
SHELTER = EmergencyContact(
    "一時保護の窓口", "03-5555-0404", note_ja="夜間も", note_en="Also at night", name_en="Shelter"
)
KANA_LINE = EmergencyContact("よりそいホットライン", "0120-279-338", note_ja="いつでも")
READ_LINE = EmergencyContact(
    "警察", "110", note_ja="今すぐ危険なとき", name_kana="けいさつ", note_easy="いま あぶない とき"
)


def test_a_name_with_kanji_shows_its_reading_else_its_english_name_else_a_label() -> None:
    assert line_name(READ_LINE, "ja-easy") == Shown("警察", reading="けいさつ")
    assert line_name(SHELTER, "ja-easy") == Shown("Shelter", lang="en")
    assert line_name(WARD_LINE, "ja-easy") == Shown("でんわ")
    assert line_name(KANA_LINE, "ja-easy") == Shown("よりそいホットライン")
    desk = Desk(1, "legal", "法律相談", False)
    assert desk_name(desk, "ja-easy") == Shown("そうだん まどぐち")
    assert desk_name(desk, "ja-easy").plain == "そうだん まどぐち"
    # Other pages are not touched: Japanese as entered, English with the Japanese as fallback.
    assert line_name(WARD_LINE, "ja") == Shown("区の女性相談")
    assert line_name(WARD_LINE, "en") == Shown("区の女性相談", lang="ja")
    assert line_name(SHELTER, "en") == Shown("Shelter")


def test_a_note_shows_in_easy_japanese_or_not_at_all() -> None:
    assert line_note(READ_LINE, "ja-easy") == "いま あぶない とき"
    assert line_note(WARD_LINE, "ja-easy") == ""
    assert line_note(SHELTER, "ja-easy") == ""
    assert line_note(KANA_LINE, "ja-easy") == "いつでも"
    assert line_note(WARD_LINE, "ja") == "平日の昼間"
    assert line_note(SHELTER, "en") == "Also at night"


def madoguchi(server: Server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The admin enters lines and renames the desk without readings, with the CLI."""
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        line = ("--contact", "警察", "110", "今すぐ危険なとき", "In danger now", "Police")
        madoguchi(
            srv,
            "contact", "set",
            *line, "けいさつ", "いま すぐ あぶない とき",
            "--contact", WARD_LINE.name, WARD_LINE.number, WARD_LINE.note_ja,
            "--contact", SHELTER.name, SHELTER.number, SHELTER.note_ja, SHELTER.note_en,
            SHELTER.name_en,
        )  # fmt: skip
        madoguchi(
            srv,
            "desk",
            "update",
            "general",
            "--name",
            "区の相談窓口",
            "--name-kana",
            "",
            "--name-en",
            "",
        )
        deadline = time.monotonic() + 10
        while httpx.get(f"{srv.url}/api/v1/desks").json()["desks"][0]["name"] != "区の相談窓口":
            assert time.monotonic() < deadline, "the server never read the new names"
            time.sleep(0.05)  # polling the server's state, not waiting on a page
        yield srv


def bare_kanji(html: str) -> list[str]:
    """Kanji a reader sees without a reading: outside <ruby>, the page's head (the title) and
    tags' attributes, and outside the language links, where each language is named in its own
    words (日本語) for its readers to find."""
    body = html[html.index("<body") :]
    body = re.sub(r"<ruby>.*?</ruby>", "", body, flags=re.S)
    body = re.sub(r'<nav class="mg-langs".*?</nav>', "", body, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", body)
    return [word for word in text.split() if has_han(word)]


@pytest.mark.parametrize("path", ["/chat", "/safety", "/chat?partner=nobody"])
def test_the_easy_pages_show_no_kanji_bare(server: Server, path: str) -> None:
    sep = "&" if "?" in path else "?"
    page = httpx.get(f"{server.url}{path}{sep}lang=ja-easy").text
    assert bare_kanji(page) == []
    assert "<ruby>警察<rt>けいさつ</rt></ruby>" in page
    assert "いま すぐ あぶない とき" in page
    # The ward's line: the plain label beside its number; the shelter: its English name.
    assert re.search(r">03-5555-0303</a>\s*でんわ\s*<", page)
    assert '<span lang="en">Shelter</span>' in page
    assert "平日の昼間" not in page and "夜間も" not in page


def test_the_easy_chat_names_a_desk_without_reading_plainly(server: Server) -> None:
    page = httpx.get(f"{server.url}/chat?lang=ja-easy").text
    assert "「そうだん まどぐち」の そうだんいんが" in page
    # Japanese and English pages keep the names as entered.
    assert "「区の相談窓口」の相談員が" in httpx.get(f"{server.url}/chat?lang=ja").text


def test_the_admin_lists_warn_of_names_the_easy_pages_cannot_read(server: Server) -> None:
    warning = "よみがな未設定：やさしい日本語のページでは読めません"
    with browser(server, "aiko") as aiko:
        desks = aiko.get("/admin/desks").text
        contacts = aiko.get("/admin/contacts").text
        english = aiko.get("/admin/contacts", params={"lang": "en"}).text
    row = re.search(r"<tr>\s*<td[^>]*><a [^>]*>区の相談窓口</a>.*?</tr>", desks, flags=re.S)
    assert row and warning in row.group(0)
    # The ward's line and the shelter have kanji and no reading; the police line has one.
    fieldsets = re.findall(r"<fieldset.*?</fieldset>", contacts, flags=re.S)
    warned = [warning in f for f in fieldsets]
    assert warned == [False, True, True]
    assert english.count("the easy-Japanese page cannot show this name") == 2


def test_an_easy_note_in_kanji_is_refused_beside_its_field(server: Server) -> None:
    line = {"0-name": "区の女性相談", "0-number": "03-5555-0303", "0-note_easy": "平日 だけ"}
    with browser(server, "aiko") as aiko:
        refused = aiko.post("/admin/contacts", data={**line, "action": "save"})
        listed = aiko.get("/api/v1/admin/emergency-contacts").json()["contacts"]
    assert refused.status_code == 400
    error = re.search(r'<p class="mg-error-message" id="contacts-0-note_easy-error">(.*?)</p>',
                      refused.text, flags=re.S)  # fmt: skip
    assert error and "やさしい日本語の注記は、漢字を使わずに" in error.group(1)
    assert [c["number"] for c in listed] == ["110", WARD_LINE.number, SHELTER.number]
