"""Desks and partners, and which browser origins may talk to us for a partner."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Desk:
    id: int
    key: str
    name: str
    is_default: bool
    description: str = ""
    phones: tuple[str, ...] = ()
    hours: str = "24/7"
    """The SPEC text of ``domain/hours.py``."""
    closures: str = "12/29-01/03"
    name_en: str = ""
    """The name on English pages; empty: the Japanese name, marked as Japanese."""
    name_kana: str = ""
    """The name's reading in kana, shown over it as furigana on やさしい日本語 pages."""
    practice: bool = False
    """A practice desk, for counselor training: never offered to the public, never counted in
    reports, erased sooner. Set when the desk is made and never changed, so a conversation is
    practice exactly when its desk is."""


@dataclass(frozen=True, slots=True)
class Partner:
    id: int
    key: str
    name: str
    origins: tuple[str, ...]
    is_default: bool
    enabled: bool
    exit_url: str | None = None
    """Where quick exit goes; None: the widget's own neutral default."""
    desk_id: int | None = None
    """The desk its visitors reach; None: the default desk."""
    lang: str = "ja"


@dataclass(frozen=True, slots=True)
class Campaign:
    """A poster or flyer whose QR code opens the chat at ``/c/CODE``."""

    id: int
    code: str
    name: str
    desk_id: int | None
    partner_id: int | None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class EmergencyContact:
    """A phone line the widget always shows, whether desks are open or not."""

    name: str
    number: str
    note_ja: str = ""
    note_en: str = ""
    name_en: str = ""
    """The name on English pages; empty: the Japanese name, marked as Japanese."""
    name_kana: str = ""
    """The name's reading in kana, shown over it as furigana on やさしい日本語 pages."""
    note_easy: str = ""
    """The note in やさしい日本語 (kana, no kanji); empty: ``domain/readings.py`` decides."""

    @property
    def tel(self) -> str:
        """A ``tel:`` link; ``#`` must be escaped there (#8008 → tel:%238008)."""
        return "tel:" + self.number.replace("-", "").replace("#", "%23")


# Kanji (CJK ideographs, the iteration mark 々 and the counter ヶ aside): what a reading in kana
# must not contain, and what やさしい日本語 pages show only with furigana.
HAN = re.compile(r"[\u3005\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


JAPANESE = re.compile("[\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
"""Kana or kanji: text that a screen reader set to English would misread."""


def has_japanese(text: str) -> bool:
    return JAPANESE.search(text) is not None


def staff_desk_name(desk: Desk, lang: str) -> str:
    """A desk's name on a staff page: its English name on an English page where it has one (as
    the visitor's English pages name it), else the name admins gave it."""
    return (lang == "en" and desk.name_en) or desk.name


# scheme://host[:port] and nothing else, an optional final "/" aside. The host is a DNS name
# (letters, digits, "-" and "."), an IPv4 address or an IPv6 one in brackets: no character
# that could end a header directive or a list (";", ",", quotes, whitespace) can pass.
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z]+)://"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?"
)
ORIGIN_FORM = "https://host or https://host:port, with no path (http only for localhost)"


def normalise_origin(value: str) -> str:
    """``https://Example.jp:443`` → ``https://example.jp``; ValueError for anything that is
    not exactly an origin. Partner origins go into the chat's Content-Security-Policy, so
    this is what keeps an admin's input from adding directives to it."""
    text = value.strip()
    match = _ORIGIN.fullmatch(text)
    if match is None or ".." in match["host"]:
        raise ValueError(f"{value!r} is not an origin: write {ORIGIN_FORM}")
    scheme, host = match["scheme"].lower(), match["host"].lower()
    if host.startswith("[") and not _is_ip(host[1:-1], 6):
        raise ValueError(f"{value!r} is not an origin: not an IPv6 address")
    if scheme != "https" and not (scheme == "http" and _is_loopback(host)):
        raise ValueError(f"{value!r} is not an https origin (http only for localhost)")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{value!r} is not an origin: the port is out of range")
    default_port = 443 if scheme == "https" else 80
    shown_port = f":{port}" if port is not None and port != default_port else ""
    return f"{scheme}://{host}{shown_port}"


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    """Plain http is for a developer's own machine only: elsewhere anyone on the way could
    rewrite the partner page that embeds the chat."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exact_origins(values: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``values`` that are origins in normal form: what a header may list, even if a
    stored value predates the checks of :func:`normalise_origin`."""
    kept = []
    for value in values:
        try:
            if normalise_origin(value) == value:
                kept.append(value)
        except ValueError:
            continue
    return tuple(kept)


def origin_allowed(origin: str | None, partner: Partner, own_origin: str) -> bool:
    """A request without ``Origin`` is a non-browser client and is let through; a browser must
    come from our own origin (the chat iframe) or one of the partner's declared origins."""
    if origin is None:
        return True
    return origin == own_origin or origin in partner.origins
