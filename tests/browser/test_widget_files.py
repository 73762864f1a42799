"""The widget's files and pages without a browser: the size budget, the catalogues, and the
headers of the pages a visitor opens."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import PROJECT_DIR, Server

DIST = PROJECT_DIR / "widget" / "dist"
CATALOGUES = PROJECT_DIR / "widget" / "src" / "i18n"
# The loader loads on every page of every partner, opened or not (plausible's goal 1).
LOADER_BUDGET = 4096
# Everything the chat page runs, the Socket.IO client included.
CHAT_BUDGET = 25 * 1024


def gzipped(path: Path) -> int:
    assert path.is_file(), f"{path} is missing: build the widget (make setup)"
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def test_the_loader_stays_within_4_kb_gzipped() -> None:
    assert gzipped(DIST / "widget.js") <= LOADER_BUDGET


def test_the_chat_pages_scripts_stay_within_25_kb_gzipped() -> None:
    page = (PROJECT_DIR / "templates" / "widget" / "chat.html").read_text()
    scripts = re.findall(r"<script src=\"{{ asset\('([^']+)'\) }}\"", page)
    assert scripts == ["chat.js"]
    built = json.loads((DIST / "manifest.json").read_text())
    assert sum(gzipped(DIST / built[name]) for name in scripts) <= CHAT_BUDGET


def keys(tree: Any, prefix: str = "") -> set[str]:
    if isinstance(tree, dict):
        return {k for key, value in tree.items() for k in keys(value, f"{prefix}{key}.")}
    if isinstance(tree, list):
        return {f"{prefix}[]"}
    return {prefix.rstrip(".")}


@pytest.mark.parametrize("path", sorted(CATALOGUES.glob("*.json")), ids=lambda p: p.stem)
def test_every_catalogue_has_every_string_with_the_same_placeholders(path: Path) -> None:
    japanese = json.loads((CATALOGUES / "ja.json").read_text())
    catalogue = json.loads(path.read_text())
    assert keys(catalogue) == keys(japanese)
    for section in ("loader", "chat", "page"):
        for key, text in japanese[section].items():
            placeholders = set(re.findall(r"\{\w+\}", text))
            assert set(re.findall(r"\{\w+\}", catalogue[section][key])) == placeholders, key


@pytest.mark.parametrize(
    ("lang", "html_lang", "heading"),
    [
        ("ja", "ja", "チャットで相談する"),
        ("en", "en", "Talk to a counselor by chat"),
        ("ja-easy", "ja", "チャットで そうだんする"),
        ("en-GB", "en", "Talk to a counselor by chat"),
        ("xx", "ja", "チャットで相談する"),
    ],
)
def test_the_chat_page_speaks_the_language_asked_for_or_japanese(
    server: Server, lang: str, html_lang: str, heading: str
) -> None:
    page = httpx.get(f"{server.url}/chat", params={"lang": lang})
    assert page.status_code == 200
    assert f'<html lang="{html_lang}">' in page.text
    assert heading in page.text


@pytest.mark.parametrize("path", ["/chat", "/safety", "/safety?lang=en"])
def test_visitor_pages_are_not_stored_send_no_referrer_and_set_no_cookie(
    server: Server, path: str
) -> None:
    page = httpx.get(f"{server.url}{path}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " style=" not in page.text


def test_the_safety_page_is_honest_about_its_limits(server: Server) -> None:
    page = httpx.get(f"{server.url}/safety", params={"lang": "ja"}).text
    assert "スパイウェア" in page
    assert "ブラウザーの履歴は消えません" in page
    assert 'href="tel:110"' in page
