"""The built files as a browser gets them: named by their content, cached for a year (the loader
for five minutes), sent as the brotli or gzip copy that Accept-Encoding allows, and named by
the pages only under names that exist."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PROJECT_DIR, Server, login_sync, running_server

DIST = PROJECT_DIR / "widget" / "dist"
OWN_STATIC = PROJECT_DIR / "service" / "static"
MANIFEST = json.loads((DIST / "manifest.json").read_text())
OWN_FILES = sorted(p.name for p in OWN_STATIC.iterdir() if p.suffix in (".css", ".js"))
PASSWORD = "correct horse battery staple"
HASHED = re.compile(r"^/static/[\w-]+\.[0-9a-f]{8}\.(js|css)$")
LINKED = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"')
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("amane", PASSWORD, role="admin")
        yield srv


@pytest.fixture(scope="module")
def pages(server: Server) -> dict[str, str]:
    """Every page that links a built file or a staff stylesheet, as its HTML."""
    session = login_sync(server, "amane", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as staff:
        staff.get("/inbox/login")  # sets the CSRF cookie
        staff.headers["X-CSRFToken"] = staff.cookies["mg_csrf"]
        made = staff.post("/api/v1/admin/campaigns", json={"code": "flyer", "name": "チラシ"})
        assert made.status_code == 201
        paths = (
            "/inbox",
            "/inbox/training",
            "/admin",
            "/admin/reports",
            "/admin/campaigns/flyer/poster",
        )
        found = {path: staff.get(path) for path in paths}
    with httpx.Client(base_url=server.url) as http:
        for path in ("/chat", "/safety", "/demo", "/inbox/login"):
            found[path] = http.get(path)
        dead_end = http.get("/c/no-such-poster")  # where a chat cannot open: 404, still a page
    assert {path: r.status_code for path, r in found.items()} == dict.fromkeys(found, 200)
    assert dead_end.status_code == 404
    found["/c/no-such-poster"] = dead_end
    return {path: r.text for path, r in found.items()}


@pytest.fixture(scope="module")
def url_of(server: Server, pages: dict[str, str]) -> dict[str, str]:
    """Logical name (chat.js) → the path the pages link it under; each is linked somewhere."""
    linked = {src for html in pages.values() for src in LINKED.findall(html)}
    assert f"{server.url}/widget.js" in linked  # the demo page embeds the loader
    found = {"widget.js": "/widget.js"}
    for logical in [*MANIFEST, *OWN_FILES]:
        if logical == "widget.js":
            continue
        stem, ext = logical.rsplit(".", 1)
        shape = re.compile(rf"/static/{re.escape(stem)}\.[0-9a-f]{{8}}\.{ext}")
        matches = [src for src in linked if shape.fullmatch(src)]
        assert len(matches) == 1, f"{logical} is linked as {matches}"
        found[logical] = matches[0]
    return found


def plain_file(logical: str) -> bytes:
    if logical in MANIFEST:
        return (DIST / MANIFEST[logical]).read_bytes()
    return (OWN_STATIC / logical).read_bytes()


def brotli_decompress(data: bytes) -> bytes:
    """Node's zlib (the build's own tool): Python's standard library has no brotli."""
    script = (
        "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(0)))"
    )
    return subprocess.run(
        ["node", "-e", script], input=data, capture_output=True, check=True, timeout=30
    ).stdout


def fetch_raw(server: Server, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its bytes exactly as sent, not decoded."""
    with httpx.Client(base_url=server.url) as http, http.stream("GET", path, headers=headers) as r:
        return r, b"".join(r.iter_raw())


# The copy each Accept-Encoding gets, for a file the build compressed both ways. The service's
# own stylesheets have a gzip copy only: where brotli would be sent, they answer gzip.
NEGOTIATION = [
    ("br, gzip, deflate", "br"),
    ("gzip, deflate, br, zstd", "br"),
    ("gzip", "gzip"),
    ("x-gzip", "gzip"),
    ("deflate", "identity"),
    ("br;q=0, gzip", "gzip"),
    ("br;q=0.5, gzip;q=0.9", "gzip"),
    ("gzip;q=0, br;q=0", "identity"),
    ("*", "br"),
    ("*, br;q=0", "gzip"),
    ("*;q=0", "identity"),
    ("identity", "identity"),
    ("", "identity"),
    ("br;q=abc, gzip;q=0.001", "gzip"),
]


@pytest.mark.parametrize("logical", [*MANIFEST, *OWN_FILES])
@pytest.mark.parametrize(("accept", "coding"), NEGOTIATION)
def test_every_file_is_sent_as_the_copy_accept_encoding_allows(
    server: Server, url_of: dict[str, str], logical: str, accept: str, coding: str
) -> None:
    if logical in OWN_FILES and coding == "br":
        coding = "gzip"
    response, raw = fetch_raw(server, url_of[logical], **{"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-length"] == str(len(raw))
    assert response.headers.get("content-encoding", "identity") == coding
    expected = plain_file(logical)
    if coding == "br":
        assert brotli_decompress(raw) == expected
    elif coding == "gzip":
        assert gzip.decompress(raw) == expected
    else:
        assert raw == expected
    if coding != "identity":
        assert len(raw) < len(expected)
    media = "text/css" if logical.endswith(".css") else "text/javascript"
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "logical", [name for name in [*MANIFEST, *OWN_FILES] if name != "widget.js"]
)
def test_hashed_files_are_cached_for_a_year_as_immutable(
    server: Server, url_of: dict[str, str], logical: str
) -> None:
    response, _ = fetch_raw(server, url_of[logical], **{"Accept-Encoding": "gzip"})
    assert response.headers["cache-control"] == IMMUTABLE
    assert "set-cookie" not in response.headers


def test_the_loader_keeps_its_name_and_a_short_cache(server: Server) -> None:
    response, raw = fetch_raw(server, "/widget.js", **{"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert response.headers["content-encoding"] == "br"
    assert brotli_decompress(raw) == (DIST / "widget.js").read_bytes()
    assert MANIFEST["widget.js"] == "widget.js"


@pytest.mark.parametrize("logical", ["widget.js", "chat.js", "admin.css"])
def test_head_answers_as_get_would_without_the_body(
    server: Server, url_of: dict[str, str], logical: str
) -> None:
    path = "/widget.js" if logical == "widget.js" else url_of[logical]
    got, raw = fetch_raw(server, path, **{"Accept-Encoding": "gzip"})
    with httpx.Client(base_url=server.url) as client:
        headed = client.head(path, headers={"Accept-Encoding": "gzip"})
    assert headed.status_code == 200
    assert headed.content == b""
    for name in ("content-type", "content-encoding", "etag", "cache-control", "vary"):
        assert headed.headers[name] == got.headers[name]
    assert headed.headers["content-length"] == str(len(raw))


def test_head_of_a_file_that_is_not_there_is_404(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.head("/static/nothing.12345678.js").status_code == 404


def test_a_file_is_not_sent_again_while_its_etag_matches(
    server: Server, url_of: dict[str, str]
) -> None:
    path = url_of["chat.js"]
    first, _ = fetch_raw(server, path, **{"Accept-Encoding": "br"})
    etag = first.headers["etag"]
    again, body = fetch_raw(server, path, **{"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and body == b""
    assert again.headers["etag"] == etag and again.headers["vary"] == "Accept-Encoding"
    # Another copy is another representation: its ETag differs, so it is sent.
    other, body = fetch_raw(server, path, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    assert gzip.decompress(body) == plain_file("chat.js")
    # Without an ETag, the date decides.
    since = first.headers["last-modified"]
    assert fetch_raw(server, path, **{"If-Modified-Since": since})[0].status_code == 304
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert fetch_raw(server, path, **{"If-Modified-Since": earlier})[0].status_code == 200


@pytest.mark.parametrize(
    "page", ["/chat", "/safety", "/demo", "/inbox/login", "/inbox", "/admin", "/admin/reports"]
)
def test_pages_link_only_hashed_names_that_exist(
    server: Server, pages: dict[str, str], page: str
) -> None:
    linked = [src for src in LINKED.findall(pages[page]) if not src.startswith("data:")]
    assert linked, f"{page} links no file"
    for src in linked:
        if src.endswith("/widget.js"):
            assert src == f"{server.url}/widget.js"
            continue
        assert HASHED.match(src), f"{page} links {src}"
        assert httpx.get(f"{server.url}{src}").status_code == 200, src


def test_the_chat_pages_scripts_and_styles_are_the_built_ones(
    pages: dict[str, str], url_of: dict[str, str]
) -> None:
    chat = pages["/chat"]
    assert f'<script src="{url_of["chat.js"]}" defer></script>' in chat
    assert f'<link rel="stylesheet" href="{url_of["chat.css"]}">' in chat
    assert f'src="{url_of["inbox.js"]}"' in pages["/inbox"]
    assert url_of["chat.js"] == f"/static/{MANIFEST['chat.js']}"


@pytest.mark.parametrize(
    "path",
    [
        "/static/chat.00000000.js",  # a name of the right shape that no build made
        "/static/chat.js",  # logical names are not URLs
        "/static/admin.css",
        "/static/manifest.json",
        f"/static/{MANIFEST['chat.js']}.br",  # the copies are chosen, not fetched
        f"/static/{MANIFEST['chat.js']}.gz",
        "/static/widget.js",
        "/static/.keep",
    ],
)
def test_anything_else_under_static_is_404(server: Server, path: str) -> None:
    assert httpx.get(f"{server.url}{path}").status_code == 404


def test_a_build_missing_a_file_stops_the_start_with_the_command_to_build(tmp_path: Path) -> None:
    broken = tmp_path / "dist"
    shutil.copytree(DIST, broken)
    (broken / f"{MANIFEST['chat.js']}.br").unlink()
    with tempfile.TemporaryDirectory(prefix="madoguchi-test-") as tmp:
        server = Server(db_path=Path(tmp) / "db.sqlite3", env={"MADOGUCHI_STATIC_DIR": str(broken)})
        with pytest.raises(RuntimeError, match="exited early") as failed:
            server.start()
        server.stop()
    assert f"{MANIFEST['chat.js']}.br is missing" in str(failed.value)
    assert "node build.mjs" in str(failed.value)
