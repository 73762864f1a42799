"""Every staff page as an admin sees it, with rows to show (a waiting, an active, a transferred
and a closed conversation, a partner, a campaign, a second desk, audit entries): names instead
of keys, Japan time instead of UTC, no JSON escapes; usable at 390 px without scrolling
sideways, and no axe-core violation of any impact, at 390×844 and at 1280×800.

The inbox's time formatter (widget/src/inbox-time.js) is also held to the server's
(service/domain/jst.py): the same text for the same instants, in a browser whose own zone is
far from Tokyo.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from service.domain import jst
from tests.browser.conftest import StaffContext
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Clients, Server, client_id, login_sync, running_server
from tests.test_jst import CASES

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "widget" / "node_modules" / "axe-core" / "axe.min.js"
TIME_MODULE = PROJECT_DIR / "widget" / "src" / "inbox-time.js"
SIZES: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "desk": {"width": 1280, "height": 800},
}
PAGES = [
    "/inbox",
    "/inbox/board",
    "/inbox/closed",
    "/inbox/canned",
    "/inbox/password",
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
    "/admin/reports",
]
# What must never be read on a staff page: UTC ISO times, the codes of system messages,
# outcomes and audit actions, language and role keys, JSON's escapes.
MACHINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d|\\u[0-9a-fA-F]{4}"
    r"|\b(?:counselor_joined|counselor_changed|visitor_left|visitor_quick_exit|conversation_closed"
    r"|referred_phone|ja-easy|desk\.update|user\.create|campaign:spring|partner:library)\b"
)


def cli(server: Server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


async def seed_conversations(server: Server) -> None:
    """hana holds one chat, hands one on to ren at the legal desk and closes a third; a visitor
    in easy Japanese from the spring campaign waits."""
    hana = login_sync(server, "hana", PASSWORD)
    clients = Clients(server)
    try:
        counselor = await clients.counselor(hana)
        ids = []
        auths: list[dict[str, Any]] = [
            {"partner": "library"},
            {},
            {"lang": "en"},
            {"campaign": "spring", "lang": "ja-easy"},
        ]
        for auth in auths:
            visitor = await clients.visitor(**auth)
            ack = await visitor.call("start", {})
            assert ack["ok"], ack
            ids.append(ack["conversation"]["id"])
            await visitor.call("message", {"client_id": client_id(), "body": "相談したいです"})
        held, moved, closed, _waiting = ids
        for cid in (held, moved, closed):
            assert (await counselor.call("claim", {"conversation_id": cid}))["ok"]
            await counselor.call(
                "message", {"conversation_id": cid, "client_id": client_id(), "body": "こんにちは"}
            )
            await counselor.call("note", {"conversation_id": cid, "body": "メモ"})
        moving = {"conversation_id": moved, "to_user": "ren", "to_desk": "legal", "note": "法律"}
        assert (await counselor.call("transfer", moving))["ok"]
        tagging = {"conversation_id": closed, "tags": ["dv"]}
        assert (await counselor.call("tag", tagging))["ok"]
        ending = {"conversation_id": closed, "outcome": "referred_phone", "summary": "電話へ"}
        assert (await counselor.call("close", ending))["ok"]
    finally:
        await clients.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin", display_name="愛子")
        srv.add_user("hana", PASSWORD, display_name="花子")
        srv.add_user("ren", PASSWORD, display_name="蓮")
        cli(srv, "desk", "add", "legal", "--name", "法律相談", "--hours", "24/7")
        cli(srv, "desk", "update", "general", "--hours", "24/7")
        cli(srv, "partner", "add", "library", "--name", "区立図書館", "--desk", "general")
        cli(srv, "campaign", "add", "spring", "--name", "春のポスター", "--partner", "library")
        cli(srv, "tag", "add", "dv", "--label-ja", "DV・暴力", "--label-en", "Violence")
        asyncio.run(seed_conversations(srv))
        yield srv


@pytest.fixture(scope="module")
def admin_session(server: Server) -> str:
    return login_sync(server, "aiko", PASSWORD)


@pytest.fixture
def context_of(server: Server, admin_session: str, staff_context: StaffContext) -> Any:
    return lambda size, **options: staff_context(server, admin_session, SIZES[size], **options)


def settled(page: Page, path: str) -> None:
    """Wait for what the inbox's script draws from its socket."""
    if path in ("/inbox", "/inbox/board"):
        expect(page.locator("#mg-queue-list li").first).to_be_visible()


def violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(
        """async () => {
          const { violations } = await axe.run(document, { resultTypes: ['violations'] })
          return violations.map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3)
            .map((n) => n.target.join(' ')).join(', ')}`)
        }"""
    )
    return found


@pytest.mark.parametrize("size", list(SIZES))
def test_every_staff_page_fits_reads_as_words_and_passes_axe(
    server: Server, context_of: Any, size: str
) -> None:
    page = context_of(size).new_page()
    problems: list[str] = []
    for path in PAGES:
        response = page.goto(server.url + path)
        assert response is not None and response.status == 200, path
        settled(page, path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES[size]["width"]:
            problems.append(f"{path}: {width} px wide")
        text = page.evaluate("document.body.innerText")
        problems += [f"{path}: shows {m.group(0)!r}" for m in MACHINE.finditer(text)]
        problems += [f"{path}: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)


def test_names_and_japan_times_where_staff_look(server: Server, context_of: Any) -> None:
    page = context_of("desk").new_page()
    page.goto(server.url + "/inbox/board")
    queue = page.locator("#mg-queue-list")
    expect(queue).to_contain_text("連携団体：区立図書館")
    expect(queue).to_contain_text("周知キャンペーン：春のポスター")
    expect(queue).to_contain_text("やさしい日本語")
    expect(queue).to_contain_text("法律相談")
    page.goto(server.url + "/inbox/closed")
    row = page.locator(".mg-js-closed").first
    expect(row).to_contain_text("電話相談につないだ")
    stamp = row.locator("time")
    iso = stamp.get_attribute("datetime") or ""
    expect(stamp).to_have_attribute("title", jst.full(iso))
    expect(stamp).to_have_text(jst.human(iso, datetime.now(UTC)))
    page.goto(server.url + "/admin/audit")
    expect(page.locator("table")).to_contain_text("アカウントを追加")
    expect(page.locator("table")).to_contain_text("役割：相談員")
    page.goto(server.url + "/admin/users")
    expect(page.locator("table")).to_contain_text("スーパーバイザー")


# Keys and codes as a program writes them: snake_case codes, ISO dates, and the keys of this
# server's desks, partner, campaign and topic tag. A key may be shown only as a labelled detail
# (.mg-key, "キー: legal"), in code (an address, the embed snippet), as a form's value or in a
# field's hint, whose examples ("例：legal") may match a key.
KEYS = re.compile(
    r"\b[a-z]+_[a-z_]+\b|\b\d{4}-\d\d-\d\d(?:T|\b)|\b(?:general|legal|library|spring|dv)\b"
)
TEXT_OUTSIDE_KEYS = """() => {
  const allowed = '.mg-key, .mg-hint, code, pre, script, style, select, textarea'
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const parts = []
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement
    if (parent.closest(allowed) || !parent.checkVisibility()) continue
    parts.push(node.textContent)
  }
  return parts.join(' ')
}"""


def test_no_staff_page_shows_a_key_a_code_or_an_iso_date(server: Server, context_of: Any) -> None:
    page = context_of("desk").new_page()
    problems: list[str] = []
    for path in PAGES:
        for lang in ("ja", "en"):
            page.goto(f"{server.url}{path}?lang={lang}")
            settled(page, path)
            text = page.evaluate(TEXT_OUTSIDE_KEYS)
            problems += [f"{path} ({lang}): {m.group(0)!r}" for m in KEYS.finditer(text)]
    assert not problems, "\n".join(problems)
    # Where a key is needed for setup, it is shown after the name, labelled.
    page.goto(server.url + "/admin/desks")
    row = page.locator("tr", has_text="法律相談")
    expect(row.locator(".mg-key")).to_have_text("キー：legal")
    page.goto(server.url + "/inbox/closed")
    expect(page.locator(".mg-js-closed").first).to_contain_text("DV・暴力")


# The pages with tables, and a table each must reflow on a phone.
TABLE_PAGES = [
    "/admin",
    "/admin/desks",
    "/admin/partners",
    "/admin/campaigns",
    "/admin/users",
    "/admin/audit",
    "/admin/reports",
    "/inbox/closed",
]
CELL_LABELS = """() => Array.from(document.querySelectorAll('table:not(.mg-heat)'))
  .flatMap((table) => {
  const heads = Array.from(table.querySelectorAll('thead th')).map((th) => th.textContent.trim())
  return Array.from(table.querySelectorAll('tbody tr')).flatMap((row) =>
    Array.from(row.children).map((cell, i) => {
      if (cell.tagName !== 'TD' || !cell.checkVisibility() || cell.colSpan > 1) return null
      const shown = getComputedStyle(cell, '::before').content
      return [heads[i], shown === 'none' ? '' : JSON.parse(shown)]
    }).filter(Boolean))
})"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_on_a_phone_each_table_cell_names_its_column(
    server: Server, context_of: Any, lang: str
) -> None:
    page = context_of("phone").new_page()
    problems: list[str] = []
    for path in TABLE_PAGES:
        page.goto(f"{server.url}{path}?lang={lang}")
        pairs = page.evaluate(CELL_LABELS)
        assert pairs, f"{path}: no table cells"
        problems += [
            f"{path}: {head!r} shown as {shown!r}" for head, shown in pairs if head != shown
        ]
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES["phone"]["width"]:
            problems.append(f"{path}: {width} px wide")
        problems += [f"{path}: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_admin_page_in_english_fits_and_passes_axe(
    server: Server, context_of: Any, size: str
) -> None:
    page = context_of(size).new_page()
    problems: list[str] = []
    for path in [p for p in PAGES if p.startswith("/admin")]:
        response = page.goto(f"{server.url}{path}?lang=en")
        assert response is not None and response.status == 200, path
        expect(page.locator("html")).to_have_attribute("lang", "en")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES[size]["width"]:
            problems.append(f"{path}: {width} px wide")
        problems += [f"{path}: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)
    # The switch in the header goes back to the same page in Japanese.
    page.get_by_role("link", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^相談の報告"))


def test_the_inbox_shows_the_servers_japan_time_in_any_zone(
    server: Server, context_of: Any
) -> None:
    # A browser in New York: the inbox must still say what the server's pages say.
    page = context_of("desk", timezone_id="America/New_York").new_page()
    page.goto(server.url + "/inbox/board")
    page.locator("#mg-queue-list li", has_text="区立図書館").get_by_role("button").click()
    stamps = page.locator("#mg-scroll time")
    expect(stamps.first).to_be_visible()
    now = datetime.now(UTC)
    for i in range(stamps.count()):
        iso = stamps.nth(i).get_attribute("datetime") or ""
        expect(stamps.nth(i)).to_have_text(jst.human(iso, now))
        expect(stamps.nth(i)).to_have_attribute("title", jst.full(iso))
    # The note beside it too.
    note = page.locator("#mg-notes time").first
    expect(note).to_have_text(jst.human(note.get_attribute("datetime") or "", now))


def test_the_inbox_formatter_gives_the_servers_text_for_every_case(
    browser: Browser,
) -> None:
    context = browser.new_context(timezone_id="America/Los_Angeles", locale="en-US")
    try:
        page = context.new_page()
        source = TIME_MODULE.read_text(encoding="utf-8").replace("export function", "function")
        shown = page.evaluate(
            f"(cases) => {{ {source}\n"
            "return cases.map(([at, now, lang]) =>"
            " [humanTime(at, new Date(now), lang), fullTime(at)]) }",
            [[at, now, lang] for at, now, lang, _ in CASES],
        )
        assert shown == [[expected, jst.full(at)] for at, _, _, expected in CASES]
    finally:
        context.close()
