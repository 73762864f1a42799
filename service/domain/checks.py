"""Validation of what admins type, shared by the admin pages, the admin API and the CLI.

Each ``check_*`` takes untrusted input and returns the value to store, or raises
``AppError(invalid_payload)`` with a message that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from service.domain.accounts import ROLES, Role
from service.domain.directory import Desk, EmergencyContact, has_han, normalise_origin
from service.domain.hours import DEFAULT_CLOSURES, WARD_HOURS, Hours, HoursError, parse_hours
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


def check_desk_fields(
    *,
    name: str | None = None,
    description: str | None = None,
    phones: Iterable[str] | None = None,
    hours: str | None = None,
    closures: str | None = None,
    name_en: str | None = None,
    name_kana: str | None = None,
    practice: bool = False,
    current: Desk | None = None,
) -> dict[str, Any]:
    """The desk fields given (None: unchanged), checked and in their stored form. Hours are
    checked together with the closures they will run with."""
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = check_text(name, "name", max_length=100)
    if name_en is not None:
        fields["name_en"] = check_text(name_en, "name_en", max_length=100, required=False)
    if name_kana is not None:
        fields["name_kana"] = check_reading(name_kana)
    if description is not None:
        fields["description"] = check_text(
            description, "description", max_length=1000, required=False
        )
    if phones is not None:
        fields["phones"] = check_phones(phones)
    if hours is not None or closures is not None:
        spec = hours if hours is not None else (current.hours if current else WARD_HOURS)
        days_off = (
            closures
            if closures is not None
            else (current.closures if current else DEFAULT_CLOSURES)
        )
        parsed = check_hours(spec, days_off)
        if hours is not None:
            fields["hours"] = parsed.spec
        if closures is not None:
            fields["closures"] = parsed.closures_text
    if practice:  # only ever given when a desk is made: the flag never changes afterwards
        fields["practice"] = True
    return fields


def check_partner_fields(
    *,
    name: str | None = None,
    origins: Iterable[str] | None = None,
    exit_url: str | None = None,
    desk: str | None = None,
    lang: str | None = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    """As :func:`check_desk_fields`; ``exit_url=""`` and ``desk=""`` set them back to none."""
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = check_text(name, "name", max_length=100)
    if origins is not None:
        fields["origins"] = check_origins(origins)
    if exit_url is not None:
        fields["exit_url"] = check_exit_url(exit_url)
    if desk is not None:
        fields["desk"] = check_key(desk, "desk") if desk else None
    if lang is not None:
        fields["lang"] = check_lang(lang)
    if enabled is not None:
        fields["enabled"] = enabled
    return fields


def check_campaign_fields(
    *,
    name: str | None = None,
    desk: str | None = None,
    partner: str | None = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = check_text(name, "name", max_length=100)
    if desk is not None:
        fields["desk"] = check_key(desk, "desk") if desk else None
    if partner is not None:
        fields["partner"] = check_key(partner, "partner") if partner else None
    if enabled is not None:
        fields["enabled"] = enabled
    return fields


ALL_DESKS = "all"
"""How every interface names "every desk, now and future" for an account: the API's ``"all"``,
the form's choice of that value, the command line's ``--all-desks``."""


def check_desks(value: str | Iterable[str]) -> list[str] | None:
    """An account's desks: ``"all"`` (stored as None) or a non-empty list of desk keys. An empty
    list is refused rather than guessed at: it would be an account that sees no chat."""
    if isinstance(value, str):
        if value != ALL_DESKS:
            raise invalid(f'desks: "{ALL_DESKS}" or a list of desk keys')
        return None
    keys = list(dict.fromkeys(check_key(k, "desk") for k in value))
    if not keys:
        raise invalid(f'desks: choose at least one desk, or "{ALL_DESKS}"')
    return keys


def check_display_name(value: str) -> str:
    return check_text(value, "display name", max_length=50)


def check_user_fields(
    *,
    display_name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    desks: str | Iterable[str] | None = None,
) -> dict[str, Any]:
    """As :func:`check_desk_fields`, for an account (its password aside)."""
    fields: dict[str, Any] = {}
    if display_name is not None:
        fields["display_name"] = check_display_name(display_name)
    if role is not None:
        fields["role"] = check_role(role)
    if active is not None:
        fields["active"] = active
    if desks is not None:
        fields["desks"] = check_desks(desks)
    return fields


def check_canned_fields(
    *, title: str | None = None, body: str | None = None, desk: str | None = None
) -> dict[str, Any]:
    """A canned response's fields; ``desk=""`` offers it on every desk."""
    fields: dict[str, Any] = {}
    if title is not None:
        fields["title"] = check_text(title, "title", max_length=100)
    if body is not None:
        fields["body"] = check_text(body, "text", max_length=4000)
    if desk is not None:
        fields["desk"] = check_key(desk, "desk") if desk else None
    return fields


def check_tag_fields(
    *, label_ja: str | None = None, label_en: str | None = None, enabled: bool | None = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if label_ja is not None:
        fields["label_ja"] = check_text(label_ja, "label", max_length=50)
    if label_en is not None:
        fields["label_en"] = check_text(label_en, "label", max_length=50, required=False)
    if enabled is not None:
        fields["enabled"] = enabled
    return fields


MAX_CONTACTS = 20


def check_reading(text: str) -> str:
    """A name's reading: kana (and the letters, digits and signs a name may have), no kanji."""
    reading = check_text(text, "name_kana", max_length=200, required=False)
    if has_han(reading):
        raise invalid("name_kana: write the reading in kana, without kanji")
    return reading


def check_easy_note(text: str) -> str:
    """A note in やさしい日本語: kana, as the rest of those pages, which show no furigana on
    notes."""
    note = check_text(text, "note_easy", max_length=200, required=False)
    if has_han(note):
        raise invalid("note_easy: write the easy note in kana, without kanji")
    return note


def check_contacts(
    contacts: Iterable[tuple[str, str, str, str, str, str, str]],
) -> list[EmergencyContact]:
    """The emergency lines, in the order the widget shows them: (name, number, note in
    Japanese, note in English, English name, reading in kana, note in やさしい日本語)."""
    checked = [
        EmergencyContact(
            check_text(name, "name", max_length=100),
            check_text(number, "number", max_length=40),
            check_text(note_ja, "note", max_length=200, required=False),
            check_text(note_en, "note", max_length=200, required=False),
            check_text(name_en, "name_en", max_length=100, required=False),
            check_reading(name_kana),
            check_easy_note(note_easy),
        )
        for name, number, note_ja, note_en, name_en, name_kana, note_easy in contacts
    ]
    if len(checked) > MAX_CONTACTS:
        raise invalid(f"at most {MAX_CONTACTS} emergency contacts")
    return checked
