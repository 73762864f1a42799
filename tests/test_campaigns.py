"""Posters and QR codes open the chat for their campaign; desks take chats only when open."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from service.http.admin_views import qr_image
from tests.conftest import PASSWORD
from tests.support import (
    PROJECT_DIR,
    Client,
    Server,
    assert_error,
    client_id,
    counselor,
    login,
    running_server,
    visitor,
)
from tests.test_admin import browser


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        srv.add_user("hana", PASSWORD, role="counselor", display_name="花子")
        yield srv


@pytest.fixture(scope="module")
def aiko(server: Server) -> Iterator[httpx.Client]:
    """The admin, who sets up the desks and campaigns of this module."""
    with browser(server, "aiko") as http:
        for desk in [
            {
                "key": "women",
                "name": "女性の健康支援センター",
                "name_en": "Women's Health Support Centre",
                "phones": ["03-1111-2222"],
            },
            {"key": "night", "name": "休止中の窓口", "hours": "closed"},
            {"key": "late", "name": "遅番", "hours": "24/7"},
            {"key": "always", "name": "常時", "hours": "24/7"},
        ]:
            assert http.post("/api/v1/admin/desks", json=desk).status_code == 201
        http.post("/api/v1/admin/partners", json={"key": "library", "name": "図書館", "lang": "en"})
        for campaign in [
            {"code": "poster-2026", "name": "区報ポスター", "desk": "women"},
            {"code": "library-flyer", "name": "図書館チラシ", "partner": "library"},
            {"code": "ended", "name": "終了"},
            {"code": "sticker", "name": "ステッカー", "desk": "always"},
        ]:
            assert http.post("/api/v1/admin/campaigns", json=campaign).status_code == 201
        http.patch("/api/v1/admin/campaigns/ended", json={"enabled": False})
        yield http


def decode_png(data: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def test_the_qr_codes_decode_back_to_the_campaign_url(server: Server, aiko: httpx.Client) -> None:
    url = f"{server.url}/c/poster-2026"
    png = aiko.get("/admin/campaigns/poster-2026/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert decode_png(png.content) == [url]
    svg = aiko.get("/admin/campaigns/poster-2026/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content == qr_image(url, "svg")  # the same symbol as the PNG, drawn as vectors
    assert aiko.get("/admin/campaigns/nothing/qr.png").status_code == 404


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_the_cli_writes_the_same_qr_code(
    server: Server, aiko: httpx.Client, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / f"poster.{kind}"
    done = subprocess.run(
        [sys.executable, "-m", "service", "campaign", "qr", "poster-2026", "--out", str(out)],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == aiko.get(f"/admin/campaigns/poster-2026/qr.{kind}").content
    if kind == "png":
        assert decode_png(out.read_bytes()) == [f"{server.url}/c/poster-2026"]


@pytest.mark.parametrize(
    ("code", "location"),
    [
        ("poster-2026", "/chat?partner=ward&desk=women&campaign=poster-2026&lang=ja"),
        ("library-flyer", "/chat?partner=library&desk=general&campaign=library-flyer&lang=en"),
        ("ended", None),
        ("unknown", None),
    ],
)
def test_a_campaign_link_opens_the_chat_for_its_desk_and_partner(
    server: Server, aiko: httpx.Client, code: str, location: str | None
) -> None:
    response = httpx.get(f"{server.url}/c/{code}")
    assert "set-cookie" not in response.headers
    if location is None:
        assert response.status_code == 404
        return
    assert response.status_code == 303 and response.headers["location"] == location
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("campaign", "stored"), [("sticker", "sticker"), ("bogus", None)])
async def test_the_campaign_is_recorded_on_the_conversation(
    server: Server, aiko: httpx.Client, campaign: str, stored: str | None
) -> None:
    guest = await visitor(server, campaign=campaign)
    try:
        started = await guest.call("start", {})
    finally:
        await guest.disconnect()
    conversation_id = started["conversation"]["id"]
    row = server.query(
        "SELECT c.campaign, d.key FROM conversation c JOIN desk d ON d.id = c.desk_id "
        "WHERE c.id = ?",
        (conversation_id,),
    )
    # A known campaign also brings the visitor to its desk; an unknown one is simply not kept.
    assert row == [(stored, "always" if stored else "general")]


def test_the_poster_carries_the_wards_words_the_hours_phones_and_qr(
    server: Server, aiko: httpx.Client
) -> None:
    poster = aiko.get("/admin/campaigns/poster-2026/poster")
    assert poster.status_code == 200
    for words in [
        "相談 待ってます",
        "自分自身のこと、家族のこと、仕事のこと、性に関すること(性自認、性的指向含む)、"
        "DVのこと、ハラスメントのこと etc..",
        "女性の健康支援センター",
        "月〜金・第2土曜 9:00〜17:00",
        "03-1111-2222",
        "#8008",
        f"{server.url}/c/poster-2026",
        'src="/admin/campaigns/poster-2026/qr.svg"',
    ]:
        assert words in poster.text
    # Each part again in English, marked as such, for residents who read English better.
    for words in [
        '<p class="mg-poster-en mg-poster-subtitle" lang="en">We are here to listen</p>',
        '<span class="mg-poster-en" lang="en">Chat with a counselor</span>',
        "Scan the QR code with your smartphone",
        '<span class="mg-poster-en" lang="en">Women&#39;s Health Support Centre</span>',
        '<p class="mg-poster-en" lang="en">Hours: Mon–Fri, 2nd Sat 9:00–17:00',
        '<span class="mg-poster-en" lang="en">Police: If you are in danger now</span>',
    ]:
        assert words in poster.text
    assert "<script" not in poster.text and "style=" not in poster.text
    stylesheet = re.search(r'href="(/static/poster\.[0-9a-f]{8}\.css)"', poster.text)
    assert stylesheet
    css = httpx.get(f"{server.url}{stylesheet.group(1)}").text
    assert "@page { size: A4 portrait" in css


def test_the_desks_api_tells_what_is_open_and_lists_emergency_lines(
    server: Server, aiko: httpx.Client
) -> None:
    response = httpx.get(f"{server.url}/api/v1/desks")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    by_key = {d["key"]: d for d in body["desks"]}
    assert set(by_key["women"]) >= {
        "key", "name", "default", "open_now", "next_open_at", "hours_text", "phones"
    }  # fmt: skip
    assert by_key["night"]["open_now"] is False and by_key["night"]["next_open_at"] is None
    assert by_key["late"]["open_now"] is True and by_key["late"]["next_open_at"] is None
    numbers = [c["number"] for c in body["emergency_contacts"]]
    assert numbers == ["110", "0120-279-889", "#8008", "#8891", "0120-279-338"]
    assert body["emergency_contacts"][2]["tel"] == "tel:%238008"
    english = httpx.get(f"{server.url}/api/v1/desks", params={"lang": "en"}).json()
    assert english["desks"][0]["hours_text"].startswith("24 hours")


def test_the_desks_api_names_desks_and_lines_in_the_language_asked_for(
    server: Server, aiko: httpx.Client
) -> None:
    def names(lang: str) -> dict[str, tuple[str, str]]:
        body = httpx.get(f"{server.url}/api/v1/desks", params={"lang": lang}).json()
        return {
            **{d["key"]: (d["name"], d["name_ja"]) for d in body["desks"]},
            **{c["number"]: (c["name"], c["name_ja"]) for c in body["emergency_contacts"]},
        }

    english, japanese = names("en"), names("ja")
    assert english["women"] == ("Women's Health Support Centre", "女性の健康支援センター")
    assert japanese["women"] == ("女性の健康支援センター", "女性の健康支援センター")
    assert english["110"] == ("Police", "警察")
    assert japanese["110"] == ("警察", "警察")
    # Without an English name, the Japanese one: a name is never left empty.
    assert english["late"] == ("遅番", "遅番")


@pytest.fixture
async def hana(server: Server) -> AsyncIterator[Client]:
    client = await counselor(server, await login(server, "hana", PASSWORD))
    yield client
    await client.disconnect()


async def test_a_closed_desk_takes_no_new_chat(server: Server, aiko: httpx.Client) -> None:
    before = server.query("SELECT COUNT(*) FROM conversation")
    guest = await visitor(server)
    try:
        assert_error(await guest.call("start", {"desk": "night"}), "desk_closed")
    finally:
        await guest.disconnect()
    assert server.query("SELECT COUNT(*) FROM conversation") == before


async def test_a_chat_goes_on_past_closing_time(
    server: Server, aiko: httpx.Client, hana: Client
) -> None:
    guest = await visitor(server)
    try:
        started = await guest.call("start", {"desk": "late"})
        conversation_id = started["conversation"]["id"]
        assert (await hana.call("claim", {"conversation_id": conversation_id}))["ok"]
        closing = aiko.patch("/api/v1/admin/desks/late", json={"hours": "closed"})
        assert closing.json()["hours"] == "closed"

        assert (await guest.call("message", {"client_id": client_id(), "body": "まだ話せますか"}))[
            "ok"
        ]
        reply = {"conversation_id": conversation_id, "client_id": client_id(), "body": "はい"}
        assert (await hana.call("message", reply))["ok"]
        closed = await hana.call(
            "close", {"conversation_id": conversation_id, "outcome": "resolved"}
        )
        assert closed["ok"]
        assert_error(await guest.call("start", {"desk": "late"}), "desk_closed")
    finally:
        await guest.disconnect()
    assert server.query(
        "SELECT status, last_seq FROM conversation WHERE id = ?", (conversation_id,)
    ) == [("closed", 4)]
