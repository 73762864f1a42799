"""What a training form shows when its input is refused: the field at fault, a message in the
page's language beside it and in the error summary, and everything as it was typed.

``domain/training.py`` refuses with messages that start with the field's name (``title is
required``, ``lines: at most 20 lines``, ``score-3: a score from 1 to 4``); this reads them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from service.errors import AppError
from service.http.form_errors import FieldError, Forms, FormState

_FIELD = re.compile(r"^(?P<field>[\w-]+)(?: '[^']*')?(?P<rest>.*)$")
_MAX = re.compile(r"at most (?P<max>\d+) characters")
LABEL_KEYS = {
    "title": "f_title",
    "topic": "f_topic",
    "persona": "f_persona",
    "situation": "f_situation",
    "lines": "f_lines",
    "focus": "f_focus",
    "label_ja": "f_label_ja",
    "label_en": "f_label_en",
    "hint": "f_hint",
    "position": "f_position",
    "comment": "overall",
    "scenario": "scenario",
    "desk": "practice_desk",
}


def label_of(name: str, t: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """What the page calls the control ``name``; ``labels`` names the review's own
    (``score-3``: its rubric item)."""
    if name in labels:
        return labels[name]
    return t.get(LABEL_KEYS.get(name, ""), name)


def field_error(
    exc: AppError,
    fields: Sequence[str],
    t: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
) -> FieldError:
    found = _FIELD.match(exc.message)
    name = found["field"] if found and found["field"] in fields else ""
    if not name:
        return FieldError("", t["e_other"], exc.message)
    label, rest = label_of(name, t, labels or {}), found["rest"] if found else ""
    if rest == " is required":
        kind = "e_score" if name.startswith("score-") else "e_required"
    elif name == "lines":
        kind = "e_lines"
    elif name.startswith("score-"):
        kind = "e_score"
    elif name == "position":
        kind = "e_position"
    elif (limit := _MAX.search(rest)) is not None:
        return FieldError(name, t["e_too_long"].format(label=label, max=limit["max"]), exc.message)
    else:
        kind = "e_choice"
    return FieldError(name, t[kind].format(label=label), exc.message)


def refused_form(
    key: str,
    exc: AppError,
    fields: Sequence[str],
    values: Mapping[str, Any],
    t: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
) -> Forms:
    """The page's forms after ``exc`` refused the form ``key``: shown again as typed."""
    error = field_error(exc, fields, t, labels)
    return Forms(FormState(key, dict(values), {error.field: error}), fields[0])
