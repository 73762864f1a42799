"""What an admin form shows when an operation refuses its input: a message beside the field at
fault, in the page's language (``admin_i18n.py``), with the operation's own words after it,
and the values as they were typed.

The ``do_*`` operations refuse with an :class:`AppError`: a stable code and a short English
message that names what is wrong (``name is required``, ``desk 'general' exists already``,
``'mon 9-17' is not a time range …``). :func:`refusal` reads the two and names the form's field
(``RULES``, first match wins) and the words to show (``FORM_MESSAGES``); a refusal that no
rule names is shown at the top of the form, never hidden. The operations stay the only judges
of what is valid: nothing here accepts or refuses anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar.datastructures import FormMultiDict

from service.admin_i18n import field_label, form_message
from service.errors import AppError, ErrorCode

# A phrase the operations use for a field, when it is not the field's own name.
WHAT: Mapping[str, tuple[str, ...]] = {
    "display name": ("display_name",),
    "text": ("body",),
    "label": ("label_ja", "label_en"),
    "note": ("note_ja", "note_en"),
    "exit URL": ("exit_url",),
    "language": ("lang",),
    "desk": ("desk", "desks"),
}

INVALID, EXISTS = ErrorCode.INVALID_PAYLOAD, ErrorCode.ALREADY_EXISTS


@dataclass(frozen=True, slots=True)
class Rule:
    """A refusal whose code and message match: the field (the named group ``what``, else
    ``fields``) and the kind of message."""

    code: ErrorCode
    pattern: re.Pattern[str]
    kind: str
    fields: tuple[str, ...] = ()


def rule(code: ErrorCode, pattern: str, kind: str, *fields: str) -> Rule:
    return Rule(code, re.compile(pattern), kind, fields)


RULES: Sequence[Rule] = (
    rule(EXISTS, r"exists already$", "exists", "key", "code", "username"),
    rule(ErrorCode.UNKNOWN_DESK, r"", "unknown", "desk", "desks"),
    rule(ErrorCode.UNKNOWN_PARTNER, r"", "unknown", "partner"),
    rule(ErrorCode.LAST_ADMIN, r"", "last_admin", "role", "active"),
    rule(ErrorCode.NOT_FOUND, r"", "not_found"),
    rule(INVALID, r"^nothing to change$", "nothing"),
    rule(INVALID, r"^the default partner cannot be disabled$", "default_partner", "enabled"),
    rule(INVALID, r"^(?P<what>[\w ]+?) is required$", "required"),
    rule(INVALID, r"^(?P<what>[\w ]+?): at most (?P<max>\d+) characters$", "too_long"),
    rule(INVALID, r"length <= (?P<max>\d+) - at `\$\.(?P<what>\w+)`", "too_long"),
    rule(INVALID, r"missing required field `(?P<what>\w+)`", "required"),
    rule(INVALID, r"^(?P<what>key|code|desk|partner) '.*': 1–64", "key_format"),
    rule(INVALID, r"^name_kana: write the reading in kana", "kana", "name_kana"),
    rule(INVALID, r"^note_easy: write the easy note in kana", "kana_note", "note_easy"),
    rule(INVALID, r"^at most (?P<max>\d+) phone numbers$", "too_many", "phones"),
    rule(INVALID, r"^'(?P<value>.*)' is not a phone number$", "phone", "phones"),
    rule(INVALID, r"^at most (?P<max>\d+) origins$", "too_many", "origins"),
    rule(INVALID, r"is not an (?:https )?origin", "origin", "origins"),
    rule(INVALID, r"^exit URL ", "exit_url", "exit_url"),
    rule(INVALID, r"^language '", "choice", "lang"),
    rule(INVALID, r"^role '", "choice", "role"),
    rule(INVALID, r"^username: ", "username", "username"),
    rule(INVALID, r"^desks: ", "no_desk", "desks"),
    rule(INVALID, r"^a password needs", "password", "password"),
    rule(INVALID, r"^at most (?P<max>\d+) emergency contacts$", "too_many", "contacts"),
    rule(INVALID, r"^closure |is not a date", "closures", "closures"),
    rule(
        INVALID,
        r"^hours are empty|is not a day|week of the month|write days in order"
        r"|is not a time range|times run from|days and times are separated",
        "hours",
        "hours",
    ),
)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    """The form control's name; "" for the form as a whole."""
    message: str
    """What to do, in the page's language."""
    detail: str
    """The operation's own words (English), shown after the message."""


@dataclass(frozen=True, slots=True)
class SummaryItem:
    href: str
    message: str
    detail: str
    """The operation's words, for an error not shown beside a field."""


def pick(
    candidates: Sequence[str],
    fields: Sequence[str],
    values: Mapping[str, Any],
    kind: str,
    limit: int,
) -> str:
    """The candidate field of this form at fault: for a blank or too long text said of two
    fields (``label``), the one whose typed value is so."""
    present = [f for f in candidates if f in fields]
    if not present:
        return ""
    for name in present:
        typed = str(values.get(name, "")).strip()
        if (kind == "required" and not typed) or (kind == "too_long" and len(typed) > limit):
            return name
    return present[0]


def refusal(
    exc: AppError, fields: Sequence[str], values: Mapping[str, Any], lang: str = "ja"
) -> FieldError:
    """The field at fault among ``fields`` (the names of the form's controls) and what to say,
    in ``lang``."""
    for r in RULES:
        if r.code != exc.code:
            continue
        found = r.pattern.search(exc.message)
        if found is None:
            continue
        groups = found.groupdict()
        what = groups.get("what")
        candidates = WHAT.get(what, (what,)) if what else r.fields
        limit = int(groups.get("max") or 0)
        name = pick(candidates, fields, values, r.kind, limit)
        label = field_label(name or (candidates[0] if candidates else ""), lang)
        message = form_message(r.kind, lang).format(
            label=label, max=limit, value=groups.get("value", "")
        )
        return FieldError(name, message, exc.message)
    return FieldError("", form_message("other", lang), exc.message)


@dataclass(slots=True)
class FormState:
    """One form on a page: its controls' ids, the values to show and the errors beside them."""

    key: str
    """Unique on the page (``new``, ``canned-12``): the prefix of its controls' ids."""
    values: Mapping[str, Any] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)

    def id(self, name: str) -> str:
        return f"{self.key}-{name}"

    def value(self, name: str, default: Any = "") -> Any:
        found = self.values.get(name)
        return default if found is None else found

    def error(self, name: str) -> FieldError | None:
        return self.errors.get(name)

    def general(self) -> list[FieldError]:
        """Errors of the form as a whole (and of a field it does not show)."""
        return [e for e in self.errors.values() if not e.field]

    def summary(self, first: str) -> list[SummaryItem]:
        """The page's error summary: each error, linked to its field (or to ``first``)."""
        return [
            SummaryItem(f"#{self.id(e.field or first)}", e.message, "" if e.field else e.detail)
            for e in self.errors.values()
        ]


class Forms:
    """The forms of a page; at most one was sent and refused."""

    def __init__(self, failed: FormState | None = None, first: str = "") -> None:
        self.failed = failed
        self.first = first

    def of(self, key: str, values: Mapping[str, Any] | None = None) -> FormState:
        """The form ``key`` showing ``values``; if it is the one refused, as it was typed (a
        control the browser did not send shows its value before)."""
        if self.failed is not None and self.failed.key == key:
            return FormState(key, {**(values or {}), **self.failed.values}, self.failed.errors)
        return FormState(key, values or {})

    @property
    def summary(self) -> list[SummaryItem]:
        return self.failed.summary(self.first) if self.failed else []


def typed(form: FormMultiDict, *lists: str) -> dict[str, Any]:
    """The form as sent: one text per control, and every value of the controls ``lists``
    (ticked boxes of one name)."""
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    for name in lists:
        values[name] = [str(v) for v in form.getall(name, [])]
    return values


def refused(
    key: str,
    exc: AppError,
    fields: Sequence[str],
    values: Mapping[str, Any],
    first: str = "",
    lang: str = "ja",
) -> Forms:
    """The page's forms after ``exc`` refused the form ``key``, whose controls are ``fields``
    and whose typed ``values`` it shows again, with the message in ``lang``."""
    error = refusal(exc, fields, values, lang)
    return Forms(FormState(key, values, {error.field: error}), first or fields[0])
