"""The service's static files: the widget's build (``widget/dist``) and the staff pages'
stylesheets (``service/static``), each served compressed and cached as long as it can be.

Every file but the loader is served under a name that carries a hash of its content
(``/static/chat.73ab9db1.js``), so browsers may keep it for a year without asking again
(``immutable``) and a new build is a new URL: a deploy never runs a page with yesterday's code
from a browser's cache. Pages never spell these names; templates call ``asset('chat.js')``.
The loader ``/widget.js`` keeps its name, because partners embed that URL, and is cached for
five minutes only.

Everything is read once, at startup: the build's ``manifest.json`` (logical name to hashed
name) and, beside each of its files, the ``.br`` and ``.gz`` copies the build compressed once
at the highest levels. A file the manifest names that is missing stops the start with the
command that builds it, rather than a page whose scripts answer 404. The staff stylesheets are
hashed and gzipped here (the standard library has no brotli). Each request then picks the
smallest copy its ``Accept-Encoding`` allows: no compression per request, no file read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, head
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler

LOADER = "widget.js"
MANIFEST = "manifest.json"
IMMUTABLE = "public, max-age=31536000, immutable"
LOADER_CACHE = "public, max-age=300"
# Content codings we hold copies in, best first; "identity" (the file itself) is always there.
CODINGS = ("br", "gzip")
SUFFIX = {"br": ".br", "gzip": ".gz"}
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
HASHED_NAME = re.compile(r"^[\w-]+\.[0-9a-f]{8}\.(js|css)$")
TEMPLATE_CALL = re.compile(r"""\basset\(\s*["']([^"']+)["']\s*\)""")
BUILD_HINT = "build the widget: `make setup` (or `cd widget && node build.mjs`)"


class AssetsMissing(RuntimeError):
    """The build is absent, incomplete or does not match its manifest: the service won't start."""


@dataclass(frozen=True)
class Asset:
    """One file as served: its copies by content coding, and the headers that do not vary."""

    media_type: str
    bodies: Mapping[str, bytes]  # "identity", and "br" and/or "gzip"
    digest: str  # of the file itself; each copy's ETag adds its coding
    last_modified: datetime
    cache_control: str


class Assets:
    """Logical names (``chat.js``) to URLs, and URL file names to what is served."""

    def __init__(self, urls: Mapping[str, str], served: Mapping[str, Asset], loader: Asset):
        self.urls = dict(urls)
        self.served = dict(served)
        self.loader = loader

    def url(self, logical: str) -> str:
        """The URL of a file by its logical name: ``asset('chat.js')`` in templates."""
        try:
            return self.urls[logical]
        except KeyError:
            raise LookupError(f"no asset named {logical!r}") from None


def digest_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def hashed_name(logical: str, body: bytes) -> str:
    """``admin.css`` → ``admin.1a2b3c4d.css``: the scheme of ``widget/build.mjs``."""
    stem, dot, ext = logical.rpartition(".")
    return f"{stem}.{digest_of(body)[:8]}{dot}{ext}"


def modified_at(path: Path) -> datetime:
    # Whole seconds: Last-Modified and If-Modified-Since have no finer resolution.
    return datetime.fromtimestamp(int(path.stat().st_mtime), tz=UTC)


def media_type_of(name: str) -> str:
    media_type = MEDIA_TYPES.get(Path(name).suffix)
    if media_type is None:
        raise AssetsMissing(f"{name}: only .js and .css files are served")
    return media_type


def read_built(dist: Path, logical: str, name: str, cache_control: str) -> Asset:
    """A file of the build and its precompressed copies; every one must be there."""
    path = dist / name
    bodies: dict[str, bytes] = {}
    for coding, suffix in (("identity", ""), *SUFFIX.items()):
        copy = path.with_name(name + suffix)
        if not copy.is_file():
            raise AssetsMissing(f"{copy} is missing: {BUILD_HINT}")
        bodies[coding] = copy.read_bytes()
    digest = digest_of(bodies["identity"])
    if name != LOADER and hashed_name(logical, bodies["identity"]) != name:
        raise AssetsMissing(f"{path} does not match the hash in its name: {BUILD_HINT}")
    if gzip.decompress(bodies["gzip"]) != bodies["identity"]:
        raise AssetsMissing(f"{path}.gz is not a copy of {path.name}: {BUILD_HINT}")
    return Asset(media_type_of(name), bodies, digest, modified_at(path), cache_control)


def read_manifest(dist: Path) -> dict[str, str]:
    path = dist / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssetsMissing(f"{path} is missing or unreadable ({exc}): {BUILD_HINT}") from None
    if not isinstance(manifest, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in manifest.items()
    ):
        raise AssetsMissing(f"{path} is not a map of names: {BUILD_HINT}")
    if manifest.get(LOADER) != LOADER:
        raise AssetsMissing(f"{path} has no {LOADER}: {BUILD_HINT}")
    for logical, name in manifest.items():
        if name != LOADER and not HASHED_NAME.match(name):
            raise AssetsMissing(f"{path}: {logical} maps to an unexpected name {name!r}")
    return manifest


def load_assets(dist: Path, own: Path, templates: Path) -> Assets:
    """Everything served from /static and /widget.js, read now; raises ``AssetsMissing``."""
    urls: dict[str, str] = {}
    served: dict[str, Asset] = {}
    manifest = read_manifest(dist)
    loader = read_built(dist, LOADER, LOADER, LOADER_CACHE)
    for logical, name in manifest.items():
        if name == LOADER:
            urls[logical] = f"/{LOADER}"
            continue
        served[name] = read_built(dist, logical, name, IMMUTABLE)
        urls[logical] = f"/static/{name}"
    for path in sorted(own.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.name in urls:
            raise AssetsMissing(f"{path} has the name of a file of the widget's build")
        body = path.read_bytes()
        name = hashed_name(path.name, body)
        served[name] = Asset(
            media_type=media_type_of(path.name),
            bodies={"identity": body, "gzip": gzip.compress(body, compresslevel=9, mtime=0)},
            digest=digest_of(body),
            last_modified=modified_at(path),
            cache_control=IMMUTABLE,
        )
        urls[path.name] = f"/static/{name}"
    # A template that asks for a file the build did not make fails here, not on a visitor.
    for template in sorted(templates.rglob("*.html")):
        for logical in TEMPLATE_CALL.findall(template.read_text(encoding="utf-8")):
            if logical not in urls:
                raise AssetsMissing(f"{template} asks for {logical!r}, not built: {BUILD_HINT}")
    return Assets(urls, served, loader)


def weights(accept_encoding: str) -> dict[str, float]:
    """``Accept-Encoding`` as coding → q (RFC 9110 §12.5.3); an unreadable q counts as 0."""
    found: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if not coding:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        found[coding.lower()] = q
    if "x-gzip" in found and "gzip" not in found:
        found["gzip"] = found["x-gzip"]
    return found


def choose_coding(accept_encoding: str, available: Mapping[str, bytes]) -> str:
    """The copy to send: the coding of highest q the client accepts (brotli on a tie, then
    gzip), else the file itself. A coding the header does not name is accepted only through
    ``*``; ``q=0`` refuses it. The file itself is the answer when nothing else is accepted."""
    accepted = weights(accept_encoding)
    star = accepted.get("*", 0.0)
    best, best_q = "identity", 0.0
    for coding in CODINGS:
        q = accepted.get(coding, star)
        if coding in available and q > best_q:
            best, best_q = coding, q
    return best


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match asks (RFC 9110 §13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def not_modified(request: Request[Any, Any, Any], etag: str, last_modified: datetime) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return last_modified <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def answer(
    request: Request[Any, Any, Any], asset: Asset, extra: Mapping[str, str] | None = None
) -> Response[bytes]:
    coding, status, headers = what_to_send(request, asset, extra)
    if status == 304:
        return Response(b"", status_code=304, headers=headers)
    # Litestar sets Content-Length from the body, that is, of the copy sent.
    return Response(asset.bodies[coding], media_type=asset.media_type, headers=headers)


def answer_head(
    request: Request[Any, Any, Any], asset: Asset, extra: Mapping[str, str] | None = None
) -> Response[None]:
    """What GET would answer, without the body: uptime checks and caches ask with HEAD."""
    coding, status, headers = what_to_send(request, asset, extra)
    if status == 200:
        headers["Content-Length"] = str(len(asset.bodies[coding]))
    return Response(None, status_code=status, media_type=asset.media_type, headers=headers)


def what_to_send(
    request: Request[Any, Any, Any], asset: Asset, extra: Mapping[str, str] | None
) -> tuple[str, int, dict[str, str]]:
    """The copy to send, the status (200, or 304 when the client's copy is current) and the
    headers, the same for GET and HEAD."""
    coding = choose_coding(request.headers.get("accept-encoding", ""), asset.bodies)
    etag = f'"{asset.digest[:16]}"' if coding == "identity" else f'"{asset.digest[:16]}-{coding}"'
    headers = {
        "Cache-Control": asset.cache_control,
        "Vary": "Accept-Encoding",
        "ETag": etag,
        "Last-Modified": format_datetime(asset.last_modified, usegmt=True),
        **(extra or {}),
    }
    if not_modified(request, etag, asset.last_modified):
        return coding, 304, headers
    if coding != "identity":
        headers["Content-Encoding"] = coding
    return coding, 200, headers


def asset_routes(assets: Assets) -> list[HTTPRouteHandler]:
    """``GET`` (and ``HEAD``) ``/widget.js`` and ``/static/NAME``: exactly the files read at
    startup."""
    # Partner pages that isolate themselves (COEP) may still load the loader.
    loader_headers = {"Cross-Origin-Resource-Policy": "cross-origin"}

    def served(name: str) -> Asset:
        asset = assets.served.get(name)
        if asset is None:
            raise NotFoundException()
        return asset

    @get("/widget.js", include_in_schema=False, sync_to_thread=False)
    def loader(request: Request[Any, Any, Any]) -> Response[bytes]:
        return answer(request, assets.loader, loader_headers)

    @head("/widget.js", include_in_schema=False, sync_to_thread=False)
    def loader_head(request: Request[Any, Any, Any]) -> Response[None]:
        return answer_head(request, assets.loader, loader_headers)

    @get("/static/{name:str}", include_in_schema=False, sync_to_thread=False)
    def static_file(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        return answer(request, served(name))

    @head("/static/{name:str}", include_in_schema=False, sync_to_thread=False)
    def static_head(request: Request[Any, Any, Any], name: str) -> Response[None]:
        return answer_head(request, served(name))

    return [loader, loader_head, static_file, static_head]
