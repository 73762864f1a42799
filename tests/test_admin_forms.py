"""Every admin form, sent with a mistake by a real browser's rules (urlencoded, with the CSRF
token), answers 400 with the form again: an error summary at the top whose link leads to the
field at fault, the Japanese message beside that field (aria-describedby, aria-invalid), the
operation's own words after it, and what was typed still in the fields. Nothing is stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import Server, login_sync, running_server

LONG = "あ" * 101


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        srv.add_user("hana", PASSWORD, display_name="花子")
        yield srv


@pytest.fixture(scope="module")
def aiko(server: Server) -> Iterator[httpx.Client]:
    session = login_sync(server, "aiko", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/api/v1/admin/me")
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        for path, body in [
            ("/campaigns", {"code": "spring", "name": "春のポスター"}),
            ("/topic-tags", {"key": "dv", "label_ja": "DV"}),
            ("/canned-responses", {"title": "挨拶", "body": "こんにちは。"}),
        ]:
            assert http.post(f"/api/v1/admin{path}", json=body).status_code == 201
        yield http


def canned_id(http: httpx.Client) -> int:
    listed = http.get("/api/v1/admin/canned-responses").json()["canned_responses"]
    return int(listed[0]["id"])


# (path, form, the id of the field at fault, its message, what must still be shown)
CASES: list[tuple[str, dict[str, Any], str, str, list[str]]] = [
    (
        "/admin/desks",
        {"key": "night", "name": "夜間窓口", "hours": "mon 9-17", "closures": ""},
        "new-hours",
        "受付時間の書き方が正しくありません。",
        ['value="night"', 'value="夜間窓口"', 'value="mon 9-17"'],
    ),
    (
        "/admin/desks",
        {"key": "general", "name": "もう一つ", "hours": "24/7"},
        "new-key",
        "このキーはすでに使われています。",
        ['value="general"', 'value="もう一つ"'],
    ),
    (
        "/admin/desks",
        {"key": "late", "name": "遅番", "closures": "12/32"},
        "new-closures",
        "休業日の書き方が正しくありません。",
        ['value="12/32"', 'value="遅番"'],
    ),
    (
        "/admin/desks/general",
        {"name": "一般相談", "phones": "03-0000-0000\ncall me", "hours": "24/7"},
        "desk-phones",
        "「call me」は電話番号として読めません。",
        [">03-0000-0000\ncall me</textarea>", 'value="24/7"'],
    ),
    (
        "/admin/desks/general",
        {"name": "一般相談", "name_kana": "一般", "hours": "24/7"},
        "desk-name_kana",
        "よみがなは、漢字を使わずにひらがなかカタカナで入力してください。",
        ['value="一般"'],
    ),
    (
        "/admin/partners",
        {"key": "library", "name": "区立図書館", "origins": "https://lib.example.jp/path"},
        "new-origins",
        "オリジンは https://www.example.jp の形で",
        ['value="library"', ">https://lib.example.jp/path</textarea>"],
    ),
    (
        "/admin/partners",
        {"key": "museum", "name": "美術館", "desk": "nowhere"},
        "new-desk",
        "その窓口はありません。",
        ['value="museum"', 'value="美術館"'],
    ),
    (
        "/admin/partners/ward",
        {"name": "区のページ（改）", "lang": "en"},
        "partner-enabled",
        "既定の連携団体（区ホームページ）は無効にできません。",
        ['value="区のページ（改）"', '<option value="en" selected>'],
    ),
    (
        "/admin/campaigns",
        {"code": "Bad Code", "name": "駅のポスター"},
        "new-code",
        "コードは半角の英小文字・数字",
        ['value="Bad Code"', 'value="駅のポスター"'],
    ),
    (
        "/admin/campaigns",
        {"code": "autumn", "name": "秋", "partner": "nobody"},
        "new-partner",
        "その連携団体はありません。",
        ['value="autumn"', 'value="秋"'],
    ),
    (
        "/admin/campaigns/spring",
        {"name": " ", "desk": "", "partner": "", "enabled": "on"},
        "campaign-name",
        "名前を入力してください。",
        ['value=" "'],
    ),
    (
        "/admin/users",
        {"username": "mika", "display_name": "美香", "role": "supervisor", "desk_scope": "some"},
        "new-desks",
        "担当する窓口を1つ以上選ぶか、「すべての窓口」を選んでください。",
        ['value="mika"', 'value="美香"', '<option value="supervisor" selected>'],
    ),
    (
        "/admin/users",
        {"username": "bad name", "role": "counselor", "desk_scope": "all"},
        "new-username",
        "ユーザー名は半角の英字・数字",
        ['value="bad name"'],
    ),
    (
        "/admin/users/hana",
        {"display_name": "", "desk_scope": "some", "desks": "general"},
        "user-hana-display_name",
        "表示名を入力してください。",
        ['name="desks" value="general" checked'],
    ),
    (
        "/admin/canned",
        {"title": "夜間の案内", "body": "  ", "desk": "general"},
        "new-body",
        "本文を入力してください。",
        ['value="夜間の案内"', '<option value="general" selected>'],
    ),
    (
        "/admin/canned/{canned}",
        {"title": LONG, "body": "こんにちは。", "desk": ""},
        "canned-{canned}-title",
        "題名は100文字以内で入力してください。",
        [f'value="{LONG}"'],
    ),
    (
        "/admin/tags",
        {"key": "housing", "label_ja": "住まい", "label_en": "h" * 51},
        "new-label_en",
        "英語の名前は50文字以内で入力してください。",
        ['value="housing"', 'value="住まい"'],
    ),
    (
        "/admin/tags",
        {"key": "dv", "label_ja": "DV・暴力"},
        "new-key",
        "このキーはすでに使われています。",
        ['value="DV・暴力"'],
    ),
    (
        "/admin/tags/dv",
        {"label_ja": "", "label_en": "Violence", "enabled": "on"},
        "tag-dv-label_ja",
        "日本語の名前を入力してください。",
        ['value="Violence"'],
    ),
    (
        "/admin/contacts",
        {
            "0-name": "警察",
            "0-number": "110",
            "0-note_ja": "今すぐ危険なとき",
            "1-name": "DV相談＋",
        },
        "contacts-1-number",
        "2件目：番号を入力してください。",
        ['value="今すぐ危険なとき"', 'value="DV相談＋"'],
    ),
    (
        "/admin/contacts",
        {"0-name": "警察", "0-number": "110", "0-name_kana": "警察"},
        "contacts-0-name_kana",
        "1件目：よみがなは、漢字を使わずにひらがなかカタカナで入力してください。",
        ['id="contacts-0-name_kana" name="0-name_kana" type="text" value="警察"'],
    ),
]


def control(page: str, field_id: str) -> str:
    """The opening tag of the control (or, for a button, the button) with that id."""
    found = re.search(rf'<(?:input|textarea|select|button)\b[^>]*\bid="{field_id}"[^>]*>', page)
    assert found, f"no control #{field_id}"
    return found.group(0)


def stored(server: Server) -> list[tuple[Any, ...]]:
    return server.query("SELECT COUNT(*) FROM audit_log WHERE action NOT LIKE 'login%'")


@pytest.mark.parametrize(("path", "data", "field_id", "message", "kept"), CASES)
def test_a_refused_form_says_what_to_fix_beside_the_field_and_keeps_the_input(
    server: Server,
    aiko: httpx.Client,
    path: str,
    data: dict[str, Any],
    field_id: str,
    message: str,
    kept: list[str],
) -> None:
    number = str(canned_id(aiko))
    path, field_id = path.format(canned=number), field_id.format(canned=number)
    before = stored(server)
    answered = aiko.post(path, data=data, follow_redirects=False)
    assert answered.status_code == 400, answered.text
    page = html.unescape(answered.text)
    summary = re.search(r'<div class="mg-error-summary"(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    assert 'role="alert"' in summary.group(0) and "autofocus" in summary.group(0)
    assert "入力内容を確認してください" in summary.group(0)
    assert f'<a href="#{field_id}">{message}' in summary.group(0)
    tag = control(page, field_id)
    assert 'aria-invalid="true"' in tag or 'type="radio"' in tag
    error = re.search(rf'<p class="mg-error-message" id="{field_id}-error">(.*?)</p>', page, re.S)
    assert error and message in error.group(1)
    described = re.search(r'aria-describedby="([^"]*)"', tag)
    if described is None:  # a group of boxes: its fieldset is described by the error
        assert f'<fieldset class="mg-fieldset" aria-describedby="{field_id}-error">' in page
    else:
        assert f"{field_id}-error" in described.group(1).split()
    for text in kept:
        assert text in page, text
    assert stored(server) == before


def test_every_error_message_names_a_field_on_the_page(aiko: httpx.Client) -> None:
    """A refusal no rule knows is still shown, at the top, with the operation's words."""
    answered = aiko.post("/admin/desks/general", data={})
    assert answered.status_code == 400
    page = html.unescape(answered.text)
    assert "変更された項目がありません。" in page and "nothing to change" in page
    assert '<a href="#desk-name">' in page


def test_a_form_without_a_mistake_shows_no_summary_and_no_error(aiko: httpx.Client) -> None:
    for path in ("/admin/desks", "/admin/partners", "/admin/campaigns", "/admin/users"):
        page = aiko.get(path).text
        assert "mg-error-summary" not in page and 'aria-invalid="true"' not in page, path
        labels = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
        controls = re.findall(r'<(?:input|textarea|select)\b(?![^>]*type="hidden")[^>]*>', page)
        for tag in controls:
            named = re.search(r'\bid="([^"]+)"', tag)
            assert named and named.group(1) in labels, (path, tag)


def test_empty_lists_say_so_and_offer_the_first_step(aiko: httpx.Client) -> None:
    put = aiko.put("/api/v1/admin/emergency-contacts", json={"contacts": []})
    assert put.status_code == 200, put.text
    page = aiko.get("/admin/contacts").text
    assert "まだ緊急連絡先がありません。" in page
    assert '<a href="#contacts-add">最初の連絡先を追加する</a>' in page
    assert 'value="add" id="contacts-add">最初の連絡先を追加する</button>' in page
    assert "まだ定型文がありません" not in aiko.get("/admin/canned").text
    for item in aiko.get("/api/v1/admin/canned-responses").json()["canned_responses"]:
        assert aiko.delete(f"/api/v1/admin/canned-responses/{item['id']}").status_code == 204
    canned = aiko.get("/admin/canned").text
    assert 'まだ定型文がありません。<a href="#new-title">最初の定型文を追加する</a>' in canned
