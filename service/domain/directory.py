"""Desks and partners, and which browser origins may talk to us for a partner."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


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

    @property
    def tel(self) -> str:
        """A ``tel:`` link; ``#`` must be escaped there (#8008 → tel:%238008)."""
        return "tel:" + self.number.replace("-", "").replace("#", "%23")


def normalise_origin(value: str) -> str:
    """``https://Example.jp:443/x`` → ``https://example.jp``; ValueError if not http(s)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) origin: {value!r}")
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


def origin_allowed(origin: str | None, partner: Partner, own_origin: str) -> bool:
    """A request without ``Origin`` is a non-browser client and is let through; a browser must
    come from our own origin (the chat iframe) or one of the partner's declared origins."""
    if origin is None:
        return True
    return origin == own_origin or origin in partner.origins
