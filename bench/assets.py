"""Transfer sizes of the widget's JavaScript: the loader and every script of the chat page."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from bench.servers import PROJECT_DIR

BENCH_DIR = Path(__file__).resolve().parent
DIST = PROJECT_DIR / "widget" / "dist"
LOADER = "widget.js"
# The chat page is templates/widget/chat.html, which extends base.html: the scripts of both are
# what a visitor's browser downloads for the chat.
CHAT_TEMPLATES = ("templates/widget/chat.html", "templates/base.html")
# Templates name scripts by their logical name, asset('chat.js'); the build's manifest gives the
# file that is served (chat.3f9a1c2b.js).
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc=\"\{\{\s*asset\('([^']+\.js)'\)\s*\}\}\"")
MANIFEST = DIST / "manifest.json"


def built_file(logical: str) -> Path:
    """The file a logical name is served from; the name itself if the build has no manifest."""
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    return DIST / manifest.get(logical, logical)


def chat_page_scripts() -> list[str]:
    found: list[str] = []
    for template in CHAT_TEMPLATES:
        path = PROJECT_DIR / template
        if path.exists():
            found += [s for s in SCRIPT_SRC.findall(path.read_text()) if s not in found]
    return found or ["chat.js"]


def measure_sizes() -> dict[str, Any]:
    chat_files = chat_page_scripts()
    paths = [str(built_file(name)) for name in [LOADER, *chat_files]]
    answer = subprocess.run(
        ["node", str(BENCH_DIR / "sizes.mjs"), *paths],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    by_path = json.loads(answer.stdout)
    chat = [by_path[str(built_file(name))] for name in chat_files]
    return {
        "loader": by_path[str(built_file(LOADER))],
        "loader_files": [LOADER],
        # Each script travels compressed on its own, so the page's total is the sum.
        "chat_page": None
        if any(s is None for s in chat)
        else {key: sum(s[key] for s in chat) for key in ("min", "gzip", "brotli")},
        "chat_page_files": chat_files,
    }
