"""Each admin form, filled in with a mistake and sent by a click, at 390×844 and 1280×800: the
page that answers has its error summary focused (no script: the summary's own ``autofocus``),
linking to the field at fault, which is marked invalid and described by its message; the page
fits the screen, and axe-core finds no violation of any impact.

Set MADOGUCHI_SCREENSHOTS to a directory to keep a full-page screenshot of each error state.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import StaffContext
from tests.browser.test_staff_pages import SIZES, violations
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, login_sync, running_server

pytestmark = pytest.mark.browser

# (name, page, what to type: control id → value ("check" ticks it), the control at fault)
FORMS: list[tuple[str, str, dict[str, str], str]] = [
    ("desk-add", "/admin/desks", {"new-key": "night", "new-hours": "mon 9-17"}, "new-name"),
    ("desk-change", "/admin/desks/general", {"desk-phones": "call me"}, "desk-phones"),
    (
        "partner-add",
        "/admin/partners",
        {"new-key": "museum", "new-name": "美術館", "new-origins": "museum.example.jp/"},
        "new-origins",
    ),
    (
        "partner-change",
        "/admin/partners/library",
        {"partner-exit_url": "ftp://example.jp/"},
        "partner-exit_url",
    ),
    ("campaign-add", "/admin/campaigns", {"new-code": "Bad Code", "new-name": "駅"}, "new-code"),
    ("campaign-change", "/admin/campaigns/spring", {"campaign-name": ""}, "campaign-name"),
    (
        "user-add",
        "/admin/users",
        {"new-username": "mika", "new-desk_scope-some": "check"},
        "new-desks",
    ),
    ("user-change", "/admin/users", {"user-hana-display_name": ""}, "user-hana-display_name"),
    ("canned-add", "/admin/canned", {"new-title": "夜間の案内"}, "new-body"),
    ("canned-change", "/admin/canned", {"CANNED-body": " "}, "CANNED-body"),
    ("tag-add", "/admin/tags", {"new-key": "dv", "new-label_ja": "DV"}, "new-key"),
    ("tag-change", "/admin/tags", {"tag-dv-label_ja": ""}, "tag-dv-label_ja"),
    ("contacts", "/admin/contacts", {"contacts-1-number": ""}, "contacts-1-number"),
]


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
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin", display_name="愛子")
        srv.add_user("hana", PASSWORD, display_name="花子")
        cli(srv, "partner", "add", "library", "--name", "区立図書館")
        cli(srv, "campaign", "add", "spring", "--name", "春のポスター", "--partner", "library")
        cli(srv, "tag", "add", "dv", "--label-ja", "DV")
        yield srv


@pytest.fixture
def context_of(server: Server, staff_context: StaffContext) -> Any:
    session = login_sync(server, "aiko", PASSWORD)
    return lambda size: staff_context(server, session, SIZES[size])


def canned_key(page: Page) -> str:
    """The form key of the first canned response on the page (its id is the database's)."""
    title = page.locator("input[id^='canned-'][id$='-title']").first
    return (title.get_attribute("id") or "").removesuffix("-title")


def send_with_a_mistake(page: Page, fills: dict[str, str]) -> None:
    last = None
    for control_id, value in fills.items():
        control = page.locator(f"[id='{control_id}']")
        if not control.is_visible():  # inside a closed <details>
            control.locator("xpath=ancestor::details/summary").click()
        if value == "check":
            control.check()
        else:
            control.fill(value)
        last = control
    assert last is not None
    with page.expect_navigation():
        # The form's last button sends it (the contacts form has buttons for each contact).
        last.locator("xpath=ancestor::form//button[@type='submit']").last.click()


@pytest.mark.parametrize("size", list(SIZES))
def test_each_form_in_its_error_state_focuses_its_summary_and_passes_axe(
    server: Server, context_of: Any, size: str
) -> None:
    cli(server, "canned", "add", "--title", "挨拶", "--body", "こんにちは。")
    page = context_of(size).new_page()
    shots = os.environ.get("MADOGUCHI_SCREENSHOTS")
    problems: list[str] = []
    for name, path, fills, at_fault in FORMS:
        page.goto(server.url + path)
        if "CANNED" in at_fault:
            key = canned_key(page)
            fills = {k.replace("CANNED", key): v for k, v in fills.items()}
            at_fault = at_fault.replace("CANNED", key)
        send_with_a_mistake(page, fills)
        summary = page.locator(".mg-error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_have_attribute("role", "alert")
        expect(summary.get_by_role("heading")).to_have_text("入力内容を確認してください")
        link = summary.locator(f"a[href='#{at_fault}']")
        expect(link).to_have_count(1)
        field = page.locator(f"[id='{at_fault}']")
        if at_fault.endswith("-desks"):  # a group of boxes: its fieldset is described
            expect(field.locator("xpath=ancestor::fieldset")).to_have_attribute(
                "aria-describedby", f"{at_fault}-error"
            )
        else:
            expect(field).to_have_attribute("aria-invalid", "true")
            described = (field.get_attribute("aria-describedby") or "").split()
            assert f"{at_fault}-error" in described, name
        expect(page.locator(f"[id='{at_fault}-error']")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES[size]["width"]:
            problems.append(f"{name}: {width} px wide")
        problems += [f"{name}: {v}" for v in violations(page)]
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"{name}-{size}.png"), full_page=True)
        link.click()
        expect(field).to_be_focused()
    assert not problems, "\n".join(problems)


def test_contacts_are_rearranged_by_buttons_and_enter_saves(
    server: Server, context_of: Any
) -> None:
    page = context_of("phone").new_page()
    page.goto(server.url + "/admin/contacts")
    legends = page.locator(".mg-contact-legend")
    first = legends.first.inner_text()
    second = legends.nth(1).inner_text()
    # Moving needs no script: the page answers with the list rearranged, nothing saved yet.
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^上へ\s*（2件目）$")).click()
    expect(legends.first).to_have_text("1件目：" + second.split("：", 1)[1])
    expect(page.locator(".mg-unsaved")).to_be_visible()
    # Enter in a field saves (the first button of the form), rather than moving a contact.
    page.locator("[id='contacts-0-note_ja']").fill("順番を入れ替えました")
    with page.expect_navigation():
        page.locator("[id='contacts-0-note_ja']").press("Enter")
    expect(page.locator(".mg-saved")).to_have_text("保存しました。")
    expect(legends.nth(1)).to_have_text("2件目：" + first.split("：", 1)[1])
    expect(page.locator("[id='contacts-0-note_ja']")).to_have_value("順番を入れ替えました")
    assert not violations(page)
