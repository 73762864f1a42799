"""The emergency contacts page edits the list one fieldset a contact, with no script: buttons
named ``action`` add a contact, remove one or move one up or down and answer with the form as it
was typed, rearranged, saving nothing; only 保存 saves, through the admin API's operation, and a
refusal names the exact field of the exact contact.
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

POLICE = {"name": "警察", "number": "110", "note_ja": "今すぐ危険なとき", "name_en": "Police"}
NAVI = {"name": "DV相談ナビ", "number": "#8008"}
FIRE = {"name": "消防", "number": "119"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        yield srv


@pytest.fixture
def aiko(server: Server) -> Iterator[httpx.Client]:
    session = login_sync(server, "aiko", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/api/v1/admin/me")
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        saved = http.put("/api/v1/admin/emergency-contacts", json={"contacts": [POLICE, NAVI]})
        assert saved.status_code == 200, saved.text
        yield http


def typed(*contacts: dict[str, str], action: str = "save") -> dict[str, str]:
    """The form as a browser sends it: each contact's fields named by its place."""
    fields = {f"{n}-{k}": v for n, c in enumerate(contacts) for k, v in c.items()}
    return {**fields, "action": action}


def saved_names(http: httpx.Client) -> list[str]:
    return [c["name"] for c in http.get("/api/v1/admin/emergency-contacts").json()["contacts"]]


def legends(page: str) -> list[str]:
    return re.findall(r'<legend class="mg-contact-legend">(.*?)</legend>', html.unescape(page))


def post(http: httpx.Client, data: dict[str, Any]) -> httpx.Response:
    return http.post("/admin/contacts", data=data, follow_redirects=False)


def test_the_page_shows_each_saved_contact_in_its_own_fieldset(aiko: httpx.Client) -> None:
    page = aiko.get("/admin/contacts").text
    assert legends(page) == ["1件目：警察", "2件目：DV相談ナビ"]
    assert 'id="contacts-0-name" name="0-name" type="text" value="警察"' in page
    assert 'id="contacts-1-number" name="1-number" type="text" value="#8008"' in page
    assert 'value="up-0" disabled' in page and 'value="down-1" disabled' in page


def test_adding_a_contact_shows_an_empty_fieldset_and_saves_nothing(aiko: httpx.Client) -> None:
    answered = post(aiko, typed(POLICE, NAVI, action="add"))
    assert answered.status_code == 200
    assert legends(answered.text) == ["1件目：警察", "2件目：DV相談ナビ", "3件目"]
    assert 'id="contacts-2-name" name="2-name" type="text" value=""' in answered.text
    assert "まだ保存していません。" in answered.text
    assert saved_names(aiko) == ["警察", "DV相談ナビ"]
    # Filled in and saved, it is the third contact.
    assert post(aiko, typed(POLICE, NAVI, FIRE)).status_code == 303
    assert saved_names(aiko) == ["警察", "DV相談ナビ", "消防"]


def test_moving_and_removing_rearrange_what_was_typed_until_saved(aiko: httpx.Client) -> None:
    changed = {**NAVI, "note_ja": "最寄りの窓口へ"}
    moved = post(aiko, typed(POLICE, changed, FIRE, action="up-1"))
    assert legends(moved.text) == ["1件目：DV相談ナビ", "2件目：警察", "3件目：消防"]
    assert 'id="contacts-0-note_ja" name="0-note_ja" type="text" value="最寄りの窓口へ"' in (
        moved.text
    )
    down = post(aiko, typed(changed, POLICE, FIRE, action="down-1"))
    assert legends(down.text) == ["1件目：DV相談ナビ", "2件目：消防", "3件目：警察"]
    removed = post(aiko, typed(changed, FIRE, POLICE, action="remove-1"))
    assert legends(removed.text) == ["1件目：DV相談ナビ", "2件目：警察"]
    assert saved_names(aiko) == ["警察", "DV相談ナビ"]
    assert post(aiko, typed(changed, POLICE)).status_code == 303
    assert saved_names(aiko) == ["DV相談ナビ", "警察"]


def test_a_refusal_links_to_the_field_of_its_contact_and_keeps_every_contact_typed(
    aiko: httpx.Client,
) -> None:
    answered = post(aiko, typed(POLICE, {"name": "", "number": "#8008"}, {**FIRE, "number": ""}))
    assert answered.status_code == 400
    page = html.unescape(answered.text)
    assert '<a href="#contacts-1-name">2件目：名前を入力してください。</a>' in page
    assert '<a href="#contacts-2-number">3件目：番号を入力してください。</a>' in page
    assert 'id="contacts-1-name" name="1-name" type="text" value="" required' in page
    assert 'aria-describedby="contacts-2-number-hint contacts-2-number-error"' in page
    assert 'value="消防"' in page and 'value="今すぐ危険なとき"' in page
    assert saved_names(aiko) == ["警察", "DV相談ナビ"]


def test_too_many_contacts_are_refused_for_the_whole_list(aiko: httpx.Client) -> None:
    many = [{"name": f"窓口{n}", "number": f"03-0000-{n:04}"} for n in range(21)]
    answered = post(aiko, typed(*many))
    assert answered.status_code == 400
    assert '<a href="#contacts-0-name">緊急連絡先は20件までにしてください。</a>' in answered.text
    assert len(legends(answered.text)) == 21


def test_blank_contacts_are_left_out_and_an_empty_list_offers_the_first(
    aiko: httpx.Client,
) -> None:
    assert post(aiko, typed(POLICE, {"name": "", "number": ""})).status_code == 303
    assert saved_names(aiko) == ["警察"]
    assert post(aiko, {"action": "save"}).status_code == 303
    assert saved_names(aiko) == []
    page = aiko.get("/admin/contacts").text
    assert '<a href="#contacts-add">最初の連絡先を追加する</a>' in page
    assert legends(page) == []
    first = post(aiko, {"action": "add"})
    assert legends(first.text) == ["1件目"]


def test_in_english_the_buttons_and_errors_are_english(aiko: httpx.Client) -> None:
    page = aiko.get("/admin/contacts", params={"lang": "en"}).text
    assert legends(page) == ["Contact 1: 警察", "Contact 2: DV相談ナビ"]
    assert 'Move up<span class="mg-visually-hidden"> (contact 2)</span>' in page
    refused = aiko.post(
        "/admin/contacts?lang=en",
        data=typed({"name": "警察", "number": ""}),
        follow_redirects=False,
    )
    assert '<a href="#contacts-0-number">Contact 1: Enter the number.</a>' in refused.text
