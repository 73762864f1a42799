"""The printed campaign poster: Japanese first with each part again in English, still one A4
page when the desk has a description, and without an accessibility violation on screen."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_widget_opening import violations
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, login_sync, running_server

pytestmark = pytest.mark.browser


def cli(server: Server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The ward's hours, phone and a description on the desk: the longest poster it makes."""
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        cli(srv, "desk", "update", "general", "--hours", "mon-fri 09:00-17:00; sat#2 09:00-17:00",
            "--phone", "03-5555-0101", "--description",
            "区の男女平等推進センターの相談窓口です。")  # fmt: skip
        cli(srv, "campaign", "add", "station", "--name", "駅のポスター")
        yield srv


def test_the_poster_prints_on_one_a4_page_in_japanese_and_english(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    session = login_sync(server, "aiko", PASSWORD)
    context.add_cookies([{"name": "mg_session", "value": session, "url": server.url}])
    page = context.new_page()
    page.goto(f"{server.url}/admin/campaigns/station/poster")

    expect(
        page.get_by_role("heading", name="チャットで相談できます Chat with a counselor")
    ).to_be_visible()
    english = page.locator('[lang="en"]')
    expect(english.filter(has_text="General consultation (Gender Equality Centre)")).to_be_visible()
    expect(english.filter(has_text="Hours: Mon–Fri, 2nd Sat 9:00–17:00")).to_be_visible()
    assert violations(page.main_frame) == []
    page.screenshot(path=str(tmp_path / "poster.png"), full_page=True)

    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    context.close()
