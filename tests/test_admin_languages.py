"""The admin pages in English as well as Japanese: the same templates, their words from one
catalogue (service/admin_i18n.py), chosen by ``?lang=en`` as the inbox chooses its language and
kept on every link, form and redirect; Japanese when nothing says otherwise. A refused form
answers in its own language and keeps what was typed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from service.admin_i18n import ADMIN_TEXT, FORM_MESSAGES
from tests.conftest import PASSWORD
from tests.support import Server, login_sync, running_server

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
ENGLISH_PAGES = [
    "/admin",
    "/admin/desks",
    "/admin/desks/general",
    "/admin/partners",
    "/admin/partners/library",
    "/admin/campaigns",
    "/admin/campaigns/spring",
    "/admin/users",
    "/admin/canned",
    "/admin/tags",
    "/admin/contacts",
    "/admin/audit",
]


class VisibleText(HTMLParser):
    """The text a reader sees, leaving out scripts, styles and whatever is marked as written
    in Japanese (``lang="ja"``: the switch back to 日本語)."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        hidden = tag in ("script", "style", "title") or dict(attrs).get("lang") == "ja"
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin", display_name="Aiko")
        yield srv


@pytest.fixture(scope="module")
def aiko(server: Server) -> Iterator[httpx.Client]:
    session = login_sync(server, "aiko", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/api/v1/admin/me")
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        for path, body in [
            ("/partners", {"key": "library", "name": "Ward Library"}),
            ("/campaigns", {"code": "spring", "name": "Spring poster", "partner": "library"}),
            ("/topic-tags", {"key": "dv", "label_ja": "DV", "label_en": "Violence"}),
            ("/canned-responses", {"title": "Greeting", "body": "Hello."}),
        ]:
            assert http.post(f"/api/v1/admin{path}", json=body).status_code == 201
        yield http


def proper_names(http: httpx.Client) -> list[str]:
    """Names admins gave, which stay as they were written on an English page."""
    desks = http.get("/api/v1/admin/desks").json()["desks"]
    contacts = http.get("/api/v1/admin/emergency-contacts").json()["contacts"]
    users = http.get("/api/v1/admin/users").json()["users"]
    partners = http.get("/api/v1/admin/partners").json()["partners"]
    canned = http.get("/api/v1/admin/canned-responses").json()["canned_responses"]
    names = [d["name"] for d in desks] + [u["display_name"] for u in users]
    names += [p["name"] for p in partners] + [c[f] for c in canned for f in ("title", "body")]
    names += [c[f] for c in contacts for f in c if f not in ("note_en", "name_en")]
    return sorted((n for n in names if n), key=len, reverse=True)


def test_both_languages_have_every_word() -> None:
    assert ADMIN_TEXT["ja"].keys() == ADMIN_TEXT["en"].keys()
    assert FORM_MESSAGES["ja"].keys() == FORM_MESSAGES["en"].keys()
    for key, text in ADMIN_TEXT["en"].items():
        assert not JAPANESE.search(text) or key in ("lang_ja",), key


@pytest.mark.parametrize("path", ENGLISH_PAGES)
def test_an_english_admin_page_has_no_japanese_but_names(aiko: httpx.Client, path: str) -> None:
    answered = aiko.get(path, params={"lang": "en"})
    assert answered.status_code == 200, answered.text
    assert '<html lang="en">' in answered.text
    text = visible_text(answered.text)
    for name in proper_names(aiko):
        text = text.replace(name, " ")
    assert not JAPANESE.findall(text), (path, sorted(set(JAPANESE.findall(text))))
    # Its links and forms stay in English, and a switch leads back to Japanese.
    assert f'<a href="{path}?lang=ja" lang="ja" hreflang="ja">日本語</a>' in answered.text
    for action in re.findall(r'<form method="post" action="([^"]+)"', answered.text):
        assert action.endswith("?lang=en"), action
    for href in re.findall(r'href="(/admin[^"#]*)"', answered.text):
        if not href.endswith(("?lang=ja", "/poster", ".svg", ".png")):
            assert "lang=en" in href, href


@pytest.mark.parametrize("path", ["/admin", "/admin/desks", "/admin/contacts"])
def test_japanese_is_the_default(aiko: httpx.Client, path: str) -> None:
    page = aiko.get(path).text
    assert '<html lang="ja">' in page
    assert '<a href="/admin/desks">窓口</a>' in page
    assert f'<a href="{path}?lang=en" lang="en" hreflang="en">English</a>' in page
    assert "?lang=en" not in page.replace(f'href="{path}?lang=en"', "")


def test_an_english_form_refuses_in_english_and_keeps_what_was_typed(
    aiko: httpx.Client,
) -> None:
    form = {"key": "night", "name": "Night desk", "hours": "mon 9-17", "closures": ""}
    answered = aiko.post("/admin/desks?lang=en", data=form, follow_redirects=False)
    assert answered.status_code == 400
    page = html.unescape(answered.text)
    summary = re.search(r'<div class="mg-error-summary".*?</div>', page, re.S)
    assert summary is not None
    assert "Check what you entered" in summary.group(0)
    assert (
        '<a href="#new-hours">The opening hours are not written right. '
        "Example: mon-fri 09:00-17:00</a>" in summary.group(0)
    )
    assert '<span class="mg-visually-hidden">Error: </span>The opening hours' in page
    assert 'value="night"' in page and 'value="Night desk"' in page and 'value="mon 9-17"' in page
    required = aiko.post("/admin/tags/dv?lang=en", data={"label_ja": "", "label_en": "V"})
    assert '<a href="#tag-dv-label_ja">Enter the Japanese name.</a>' in required.text


def test_an_english_change_comes_back_to_the_english_page(aiko: httpx.Client) -> None:
    form = {"label_ja": "DV", "label_en": "Violence", "enabled": "on"}
    answered = aiko.post("/admin/tags/dv?lang=en", data=form, follow_redirects=False)
    assert answered.status_code == 303
    assert answered.headers["location"] == "/admin/tags?lang=en"
    added = aiko.post(
        "/admin/desks?lang=en",
        data={"key": "evening", "name": "Evening desk", "hours": "24/7"},
        follow_redirects=False,
    )
    assert added.headers["location"] == "/admin/desks/evening?saved=1&lang=en"
    assert (
        '<p class="mg-saved" role="status">Saved.</p>' in aiko.get(added.headers["location"]).text
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_inbox_leads_to_the_admin_pages_in_its_own_language(
    aiko: httpx.Client, lang: str
) -> None:
    inbox = aiko.get("/inbox", params={"lang": lang}).text
    assert f'href="/admin?lang={lang}"' in inbox


def test_english_staff_pages_name_a_desk_by_its_english_name(aiko: httpx.Client) -> None:
    """As the visitor's English pages and the reports name it; Japanese pages keep its name."""
    desk = {"key": "legal", "name": "法律相談", "name_en": "Legal advice", "hours": "24/7"}
    assert aiko.post("/api/v1/admin/desks", json=desk).status_code == 201
    inbox = aiko.get("/inbox", params={"lang": "en"}).text
    assert 'data-kind="desk" data-key="legal" data-name="Legal advice"' in inbox
    assert '<option value="legal">Legal advice</option>' in inbox  # the transfer choice
    closed = aiko.get("/inbox/closed", params={"lang": "en"}).text
    assert re.search(r'<option value="legal"[^>]*>Legal advice<', closed)
    assert "Desk: Legal advice" in aiko.get("/admin/audit", params={"lang": "en"}).text
    assert 'data-kind="desk" data-key="legal" data-name="法律相談"' in aiko.get("/inbox").text
