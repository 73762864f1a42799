"""Settings read once from ``MADOGUCHI_*`` environment variables and passed down.

Nothing else in the service reads ``os.environ``: a test can build any configuration it needs
by constructing :class:`Settings` directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.domain.hours import WARD_HOURS, HoursError, parse_hours
from service.domain.proxies import Network, parse_trusted

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("var/madoguchi.sqlite3")
    """``MADOGUCHI_DB``: the SQLite database file (created with its folder on first start)."""

    database_url: str = ""
    """``MADOGUCHI_DATABASE_URL``: ``postgresql://USER:PASSWORD@HOST:PORT/DB`` keeps everything
    in PostgreSQL instead of the SQLite file (``MADOGUCHI_DB`` is then ignored). Needed when
    several processes or machines serve as one; the role needs no superuser rights."""

    redis_url: str = ""
    """``MADOGUCHI_REDIS_URL``: ``redis://HOST:PORT/N`` makes several processes one service:
    Socket.IO rooms, presence, limits and throttles are shared there. Unset: one process keeps
    them in its memory."""

    host: str = "127.0.0.1"
    """``MADOGUCHI_HOST``: the address the server listens on."""

    port: int = 8000
    """``MADOGUCHI_PORT``: the TCP port the server listens on."""

    public_url: str = ""
    """``MADOGUCHI_PUBLIC_URL``: the service's own origin as browsers see it, e.g.
    ``https://chat.example.jp``. Used for origin checks, the demo page and snippets.
    Default: ``http://HOST:PORT``."""

    static_dir: Path = field(default=PROJECT_DIR / "widget" / "dist")
    """``MADOGUCHI_STATIC_DIR``: where the built widget and inbox scripts are served from."""

    visitor_message_rate: float = 5.0
    """``MADOGUCHI_VISITOR_MESSAGE_RATE``: messages a second one connection may keep sending."""

    visitor_message_burst: int = 20
    """``MADOGUCHI_VISITOR_MESSAGE_BURST``: messages one connection may send at once."""

    counselor_message_rate: float = 10.0
    """``MADOGUCHI_COUNSELOR_MESSAGE_RATE``: messages a second one counselor socket may keep
    sending (one socket serves all of a counselor's chats)."""

    counselor_message_burst: int = 40
    """``MADOGUCHI_COUNSELOR_MESSAGE_BURST``: messages one counselor socket may send at once."""

    visitor_connections_per_address: int = 20
    """``MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS``: visitor connections one client address may
    hold open at once (a ward's shared network or a carrier's NAT puts several people behind
    one address); one more is refused with ``rate_limited``. Addresses are kept in memory only,
    or in Redis (with ``MADOGUCHI_REDIS_URL``) as keyed hashes, never in clear."""

    visitor_starts_per_minute: float = 10.0
    """``MADOGUCHI_VISITOR_STARTS_PER_MINUTE``: ``start`` calls a minute one client address may
    keep making, across all its connections; beyond it ``start`` answers ``rate_limited``."""

    visitor_start_burst: int = 5
    """``MADOGUCHI_VISITOR_START_BURST``: ``start`` calls one client address may make at once."""

    session_idle_minutes: int = 120
    """``MADOGUCHI_SESSION_IDLE_MINUTES``: a counselor's login ends after this long unused."""

    max_payload_bytes: int = 65536
    """``MADOGUCHI_MAX_PAYLOAD_BYTES``: the largest Engine.IO packet accepted. A message of
    2,000 characters needs at most about 24 KiB of JSON."""

    polling_quiet_seconds: float = 60.0
    """``MADOGUCHI_POLLING_QUIET_SECONDS``: how long a long-polling session may keep sending
    without fetching its answers; past it, its next send ends the session, so answers it never
    fetches cannot pile up on the server. A live client always has a fetch open."""

    log_level: str = "info"
    """``MADOGUCHI_LOG_LEVEL``: ``debug``, ``info``, ``warning`` or ``error``."""

    default_desk_hours: str = WARD_HOURS
    """``MADOGUCHI_DEFAULT_DESK_HOURS``: the hours (SPEC of ``domain/hours.py``) that the default
    desk gets when the first start creates it; later changes are made with ``madoguchi desk
    update`` or the admin pages. ``24/7`` suits a demo or a test machine."""

    max_concurrent_chats: int = 3
    """``MADOGUCHI_MAX_CONCURRENT_CHATS``: how many chats one counselor may hold at once; a
    claim or a transfer beyond it is refused with ``chat_limit``."""

    visitor_gone_minutes: float = 10.0
    """``MADOGUCHI_VISITOR_GONE_MINUTES``: an open conversation whose visitor has had no
    connection this long closes as "visitor left" (fractions allowed; ``0``: never)."""

    login_failures_per_account: int = 5
    """``MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT``: login attempts for one username within
    ``MADOGUCHI_LOGIN_LOCKOUT_MINUTES`` that go through at once; after them each further try
    must wait a delay that starts at a 64th of that window and doubles each time, up to the
    whole window (15 minutes: 14 s, 28 s, 56 s, …). A success resets the account's count."""

    login_failures_per_address: int = 20
    """``MADOGUCHI_LOGIN_FAILURES_PER_ADDRESS``: the same, for one client address (kept in
    memory only, or in Redis as keyed hashes, never stored); a success takes back only its own
    attempt."""

    login_lockout_minutes: float = 15.0
    """``MADOGUCHI_LOGIN_LOCKOUT_MINUTES``: the window in which login attempts are counted, and
    the longest delay a throttled account or address must wait before its next try."""

    trusted_proxies: str = ""
    """``MADOGUCHI_TRUSTED_PROXIES``: addresses or networks (``10.0.0.1, 10.1.0.0/16``) of the
    reverse proxies in front of the service; only from them is ``X-Forwarded-For`` believed.
    Default none: the socket's peer address is the client's."""

    max_request_bytes: int = 65536
    """``MADOGUCHI_MAX_REQUEST_BYTES``: the largest HTTP request body (forms, JSON) accepted;
    a larger one is answered 413 before it is read."""

    max_form_fields: int = 1000
    """``MADOGUCHI_MAX_FORM_FIELDS``: the most fields a form may have; more are answered 400
    before the form is parsed."""

    report_monthly_target: int = 10
    """``MADOGUCHI_REPORT_MONTHLY_TARGET``: the consultations a month the ward aims at (10 in
    the first year); the reports page sets each month's count against it."""

    retention_days: int = 90
    """``MADOGUCHI_RETENTION_DAYS``: days after a conversation closed until what was written in
    it (messages, notes, summary, code word, survey comment) is erased; what reports count is
    kept. At least 1: there is no "keep forever" (``docs/security.md``, Retention)."""

    practice_retention_days: int = 7
    """``MADOGUCHI_PRACTICE_RETENTION_DAYS``: the same for the conversations of practice desks
    (counselor training), whatever ``retention_days`` says: a role-play keeps no longer than
    its review needs."""

    encryption_key: str = ""
    """``MADOGUCHI_ENCRYPTION_KEY``: the key that seals messages, notes, summaries, code words
    and survey comments (32 bytes, URL-safe base64; ``madoguchi new-key`` prints one). Several,
    separated by commas, while rotating: the first seals, all open. Unset: the key file."""

    key_file: Path = Path("")
    """``MADOGUCHI_KEY_FILE``: the file holding the key when ``MADOGUCHI_ENCRYPTION_KEY`` is
    unset; ``madoguchi serve`` creates it (mode 0600) on first start. Default: ``madoguchi.key``
    beside the database (``var/madoguchi.key``); in production keep it away from the database
    and its backups."""

    write_deadline: float = 4.0
    """``MADOGUCHI_WRITE_DEADLINE``: seconds a batch of writes has to commit. A write that
    cannot commit is answered ``internal_error`` (retry-safe) within about this, twice it at
    worst; a writer that does not answer in time is replaced. The writer waits a quarter of it
    for a lock that another program holds on the database."""

    write_queue_limit: int = 10_000
    """``MADOGUCHI_WRITE_QUEUE_LIMIT``: writes that may wait for the writer at once; beyond it a
    new write is refused at once with ``rate_limited``."""

    health_deadline: float = 2.0
    """``MADOGUCHI_HEALTH_DEADLINE``: seconds ``/healthz`` waits for its probe write to commit
    before it answers 503."""

    def __post_init__(self) -> None:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"MADOGUCHI_PUBLIC_URL must be an http(s) origin: {self.public_url!r}")
        if self.database_url and urlsplit(self.database_url).scheme not in (
            "postgresql",
            "postgres",
        ):
            raise ValueError("MADOGUCHI_DATABASE_URL must be a postgresql:// URL")
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("MADOGUCHI_REDIS_URL must be a redis:// URL")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"MADOGUCHI_PORT out of range: {self.port}")
        if self.visitor_message_rate <= 0 or self.visitor_message_burst < 1:
            raise ValueError("message rate and burst must be positive")
        if self.visitor_connections_per_address < 1:
            raise ValueError("MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS must be at least 1")
        if self.visitor_starts_per_minute <= 0 or self.visitor_start_burst < 1:
            raise ValueError("start rate and burst per address must be positive")
        if self.max_concurrent_chats < 1:
            raise ValueError("MADOGUCHI_MAX_CONCURRENT_CHATS must be at least 1")
        if self.visitor_gone_minutes < 0:
            raise ValueError("MADOGUCHI_VISITOR_GONE_MINUTES must not be negative")
        if min(self.login_failures_per_account, self.login_failures_per_address) < 1:
            raise ValueError("login failure limits must be at least 1")
        if self.login_lockout_minutes <= 0:
            raise ValueError("MADOGUCHI_LOGIN_LOCKOUT_MINUTES must be positive")
        if self.max_request_bytes < 1024 or self.max_form_fields < 10:
            raise ValueError("request limits too small (at least 1024 bytes and 10 fields)")
        try:
            parse_trusted(self.trusted_proxies)
        except ValueError as exc:
            raise ValueError(f"MADOGUCHI_TRUSTED_PROXIES: {exc}") from None
        if self.report_monthly_target < 1:
            raise ValueError("MADOGUCHI_REPORT_MONTHLY_TARGET must be at least 1")
        if self.retention_days < 1:
            raise ValueError("MADOGUCHI_RETENTION_DAYS must be at least 1")
        if self.practice_retention_days < 1:
            raise ValueError("MADOGUCHI_PRACTICE_RETENTION_DAYS must be at least 1")
        if min(self.write_deadline, self.health_deadline) <= 0 or self.write_queue_limit < 1:
            raise ValueError("write and health deadlines and the write queue must be positive")
        try:
            parse_hours(self.default_desk_hours)
        except HoursError as exc:
            raise ValueError(f"MADOGUCHI_DEFAULT_DESK_HOURS: {exc}") from None

    @property
    def key_path(self) -> Path:
        return (
            self.key_file
            if str(self.key_file) not in ("", ".")
            else self.db_path.with_name("madoguchi.key")
        )

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_trusted(self.trusted_proxies)

    @property
    def origin(self) -> str:
        """The service's own origin (scheme://host[:port]) without a path."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies get ``Secure`` whenever browsers reach us over HTTPS."""
        return self.origin.startswith("https://")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def env_name(field_name: str) -> str:
    special = {"db_path": "DB"}
    return "MADOGUCHI_" + special.get(field_name, field_name.upper())


def _parse(type_name: object, raw: str) -> Any:
    kind = str(type_name)
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "Path":
        return Path(raw)
    return raw
