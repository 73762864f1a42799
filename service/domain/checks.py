"""Validation of what admins type, shared by the admin pages, the admin API and the CLI.

Each ``check_*`` takes untrusted input and returns the value to store, or raises
``AppError(invalid_payload)`` with a message that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from service.domain.accounts import ROLES, Role
from service.domain.directory import normalise_origin
from service.domain.hours import Hours, HoursError, parse_hours
from service.errors import AppError, ErrorCode
from service.i18n import LANGS

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_PHONES = 5
MAX_ORIGINS = 20
MIN_PASSWORD = 8


def invalid(message: str) -> AppError:
    return AppError(ErrorCode.INVALID_PAYLOAD, message)


def check_key(value: str, what: str = "key") -> str:
    if not KEY.match(value):
        raise invalid(
            f"{what} {value!r}: 1–64 of a-z, 0-9, - and _, starting with a letter or digit"
        )
    return value


def check_text(value: str, what: str, *, max_length: int, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise invalid(f"{what} is required")
    if len(text) > max_length:
        raise invalid(f"{what}: at most {max_length} characters")
    return text


def check_phones(values: Iterable[str]) -> tuple[str, ...]:
    phones = tuple(v.strip() for v in values if v.strip())
    if len(phones) > MAX_PHONES:
        raise invalid(f"at most {MAX_PHONES} phone numbers")
    for phone in phones:
        if len(phone) > 60 or not any(c.isdigit() for c in phone):
            raise invalid(f"{phone!r} is not a phone number")
    return phones


def check_hours(spec: str, closures: str) -> Hours:
    try:
        return parse_hours(spec, closures)
    except HoursError as exc:
        raise invalid(str(exc)) from None


def check_origins(values: Iterable[str]) -> tuple[str, ...]:
    origins: list[str] = []
    for value in (v.strip() for v in values if v.strip()):
        try:
            origin = normalise_origin(value)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise invalid(f"at most {MAX_ORIGINS} origins")
    return tuple(origins)


def check_exit_url(value: str | None) -> str | None:
    """An absolute http(s) URL, or nothing (the widget's neutral default)."""
    if value is None or not value.strip():
        return None
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise invalid(f"exit URL {url!r}: an http(s) address such as https://www.google.com/")
    return url


def check_lang(value: str) -> str:
    if value not in LANGS:
        raise invalid(f"language {value!r}: one of {', '.join(LANGS)}")
    return value


def check_role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise invalid(f"role {value!r}: one of {', '.join(ROLES)}")


def check_username(value: str) -> str:
    if not USERNAME.match(value):
        raise invalid("username: 1–64 of A-Z, a-z, 0-9, '.', '-' and '_'")
    return value


def check_password(value: str) -> str:
    if not MIN_PASSWORD <= len(value) <= 1024:
        raise invalid(f"a password needs at least {MIN_PASSWORD} characters")
    return value
