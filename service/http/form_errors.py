"""What an admin form shows when an operation refuses its input: a message beside the field at
fault, in Japanese, with the operation's own words after it, and the values as they were typed.

The ``do_*`` operations refuse with an :class:`AppError`: a stable code and a short English
message that names what is wrong (``name is required``, ``desk 'general' exists already``,
``'mon 9-17' is not a time range …``). :func:`refusal` reads the two and names the form's field
(``RULES``, first match wins) and the words to show (``MESSAGES``); a refusal that no rule names
is shown at the top of the form, never hidden. The operations stay the only judges of what is
valid: nothing here accepts or refuses anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar.datastructures import FormMultiDict

from service.errors import AppError, ErrorCode

SUMMARY_TITLE = "入力内容を確認してください"

# What each field is called on the admin pages, as its label says.
LABELS: Mapping[str, str] = {
    "key": "キー",
    "code": "コード",
    "name": "名前",
    "name_en": "英語の名前",
    "name_kana": "よみがな",
    "description": "説明",
    "phones": "電話番号",
    "hours": "受付時間",
    "closures": "休業日",
    "origins": "許可するオリジン",
    "exit_url": "緊急退出の移動先 URL",
    "desk": "窓口",
    "desks": "担当窓口",
    "partner": "連携団体",
    "lang": "言語",
    "enabled": "有効",
    "username": "ユーザー名",
    "display_name": "表示名",
    "role": "役割",
    "active": "状態",
    "title": "題名",
    "body": "本文",
    "label_ja": "日本語の名前",
    "label_en": "英語の名前",
    "contacts": "緊急連絡先",
    "number": "番号",
    "note_ja": "注記",
    "note_en": "英語の注記",
}

MESSAGES: Mapping[str, str] = {
    "required": "{label}を入力してください。",
    "too_long": "{label}は{max}文字以内で入力してください。",
    "exists": "この{label}はすでに使われています。別の{label}を入力してください。",
    "key_format": "{label}は半角の英小文字・数字・「-」「_」で、64文字以内で入力してください"
    "（先頭は英小文字か数字）。",
    "unknown": "その{label}はありません。一覧から選んでください。",
    "phone": "「{value}」は電話番号として読めません。数字を含めて、1行に1つ入力してください。",
    "too_many": "{label}は{max}件までにしてください。",
    "hours": "受付時間の書き方が正しくありません。例：mon-fri 09:00-17:00",
    "closures": "休業日の書き方が正しくありません。例：12/29-01/03、2026-08-13..2026-08-14",
    "origin": "オリジンは https://www.example.jp の形で、1行に1つ入力してください"
    "（パスや「/」より後ろは付けません）。",
    "exit_url": "緊急退出の移動先は https:// で始まる URL で入力してください。",
    "choice": "{label}を一覧から選んでください。",
    "username": "ユーザー名は半角の英字・数字・「.」「-」「_」で、64文字以内で入力してください。",
    "no_desk": "担当する窓口を1つ以上選ぶか、「すべての窓口」を選んでください。",
    "kana": "よみがなは、漢字を使わずにひらがなかカタカナで入力してください。",
    "default_partner": "既定の連携団体（区ホームページ）は無効にできません。",
    "last_admin": "有効な管理者が1人もいなくなるため、この変更はできません。",
    "password": "パスワードは8文字以上にしてください。",
    "nothing": "変更された項目がありません。",
    "contact_format": "「名前 | 番号」の形で、縦線（|）で区切って入力してください。",
    "not_found": "見つかりません。一覧からもう一度選んでください。",
    "other": "保存できませんでした。",
}

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
    rule(INVALID, r": name \| number \|", "contact_format", "contacts"),
)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    """The form control's name; "" for the form as a whole."""
    message: str
    """What to do, in Japanese."""
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


def refusal(exc: AppError, fields: Sequence[str], values: Mapping[str, Any]) -> FieldError:
    """The field at fault among ``fields`` (the names of the form's controls) and what to say."""
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
        label = LABELS.get(name or (candidates[0] if candidates else ""), "入力")
        message = MESSAGES[r.kind].format(label=label, max=limit, value=groups.get("value", ""))
        return FieldError(name, message, exc.message)
    return FieldError("", MESSAGES["other"], exc.message)


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
    key: str, exc: AppError, fields: Sequence[str], values: Mapping[str, Any], first: str = ""
) -> Forms:
    """The page's forms after ``exc`` refused the form ``key``, whose controls are ``fields``
    and whose typed ``values`` it shows again."""
    error = refusal(exc, fields, values)
    return Forms(FormState(key, values, {error.field: error}), first or fields[0])
