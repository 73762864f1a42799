"""Casework rules: who may send which staff event, notes, tags, risk, the handoff summary, the
closed-conversation filters and when a gone visitor's chat closes. Pure: no I/O, times are
passed in.

Roles follow the centre's practice: a counselor works the queue of their
desks and the conversations they hold; a supervisor sees everything on their desks, watches
live chats and writes private notes to the counselor; an admin manages the service and, in the
inbox, has a supervisor's rights (a small centre's admin is one of its senior counselors).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from service.clock import iso
from service.domain.accounts import Role
from service.errors import AppError, ErrorCode

Risk = Literal["none", "concern", "urgent"]
RISKS: tuple[Risk, ...] = ("none", "concern", "urgent")
NoteKind = Literal["note", "transfer", "supervisor"]

MAX_NOTE_CHARS = 2000
MAX_SUMMARY_CHARS = 4000
MAX_TAGS = 20
# Why an opening of a closed conversation happens: recorded in the audit log with it.
PURPOSES = ("handoff", "supervision", "follow_up", "records")

COUNSELOR_EVENTS = frozenset(
    {"claim", "message", "history", "typing", "close", "case", "note", "tag", "risk"}
    | {"transfer", "summary", "availability"}
)
SUPERVISOR_EVENTS = COUNSELOR_EVENTS | {"monitor", "unmonitor", "supervisor_note", "board"}
STAFF_EVENTS: dict[Role, frozenset[str]] = {
    "counselor": COUNSELOR_EVENTS,
    "supervisor": SUPERVISOR_EVENTS,
    "admin": SUPERVISOR_EVENTS,
}
INBOX_ROLES: frozenset[Role] = frozenset({"counselor", "supervisor", "admin"})
SUPERVISING_ROLES: frozenset[Role] = frozenset({"supervisor", "admin"})


def may_send(role: Role, event: str) -> bool:
    """Whether a role may ever send ``event`` on ``/counselor`` (else: ``forbidden``)."""
    return event in STAFF_EVENTS.get(role, frozenset())


def works_inbox(role: Role) -> bool:
    """Every staff role answers chats; what each may see is narrowed by ``is_supervisor``."""
    return role in INBOX_ROLES


def is_supervisor(role: Role) -> bool:
    """Supervisors, and admins above them, see everything on their desks."""
    return role in SUPERVISING_ROLES


def _text(raw: str, max_chars: int, *, required: bool = True) -> str:
    text = raw.strip()
    if required and not text:
        raise AppError(ErrorCode.EMPTY_BODY, "write something first")
    if len(text) > max_chars:
        raise AppError(ErrorCode.TOO_LARGE, f"at most {max_chars} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise AppError(ErrorCode.INVALID_PAYLOAD, "plain text only")
    return text.replace("\r\n", "\n")


def normalise_note(raw: str) -> str:
    return _text(raw.replace("\r\n", "\n"), MAX_NOTE_CHARS)


def normalise_summary(raw: str) -> str | None:
    """A handoff summary; empty means none."""
    return _text(raw.replace("\r\n", "\n"), MAX_SUMMARY_CHARS, required=False) or None


def check_summary_base(stored_at: str | None, base: str | None, same_text: bool) -> None:
    """A summary save must be based on the revision stored now (``summary_at``, None before
    the first save): otherwise someone else saved meanwhile and their text would be lost
    unseen, so it is refused with ``summary_conflict``. Saving the very text stored already
    overwrites nothing and passes."""
    if base != stored_at and not same_text:
        raise AppError(ErrorCode.SUMMARY_CONFLICT, "someone else saved the summary meanwhile")


def next_summary_at(stored_at: str | None, now: str) -> str:
    """The new revision: now, or a millisecond past the stored one if the clock has not moved
    on (two saves in one millisecond, or a clock stepped back), so every save has a new one."""
    if stored_at is None or now > stored_at:
        return now
    later = datetime.fromisoformat(stored_at) + timedelta(milliseconds=1)
    return iso(later)


def check_tags(keys: Sequence[str], enabled: Iterable[str]) -> list[str]:
    """The tags to keep, each once, in the order given; a key not in the list is refused."""
    known = set(enabled)
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise AppError(ErrorCode.INVALID_PAYLOAD, f"unknown tags: {', '.join(unknown[:3])}")
    return list(dict.fromkeys(keys))[:MAX_TAGS]


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    kind: NoteKind
    author: str
    """The writer's display name."""
    body: str
    created_at: str
    to: str | None = None
    """A supervisor note's reader (display name)."""


@dataclass(frozen=True, slots=True)
class Case:
    """What staff keep about a conversation beside its messages."""

    conversation_id: str
    desk_id: int
    status: str
    risk: Risk
    tags: tuple[str, ...]
    code_word: str | None
    quick_exit: bool
    summary: str | None
    notes: tuple[Note, ...] = ()
    summary_at: str | None = None
    """When the summary was last saved: the revision a save must be based on (None: never)."""
    summary_by: str | None = None
    """Who saved it last (display name)."""


def case_payload(case: Case) -> dict[str, Any]:
    """The ``case`` event: everything staff keep, for the holder and their supervisors only."""
    return {
        "conversation_id": case.conversation_id,
        "risk": case.risk,
        "tags": list(case.tags),
        "code_word": case.code_word,
        "quick_exit": case.quick_exit,
        "summary": case.summary,
        "summary_at": case.summary_at,
        "summary_by": case.summary_by,
        "notes": [
            {
                "id": n.id,
                "kind": n.kind,
                "author": n.author,
                "body": n.body,
                "created_at": n.created_at,
                **({"to": n.to} if n.to else {}),
            }
            for n in case.notes
        ],
    }


# -- closed conversations -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClosedFilter:
    """What the list of closed conversations is narrowed to; dates are local (Asia/Tokyo)."""

    date_from: date | None = None
    date_to: date | None = None
    desk_id: int | None = None
    tag: str | None = None
    outcome: str | None = None
    code_word: str | None = None


@dataclass(frozen=True, slots=True)
class ClosedItem:
    id: str
    desk_id: int
    created_at: str
    closed_at: str | None
    outcome: str | None
    risk: Risk
    quick_exit: bool
    counselor: str | None
    tags: tuple[str, ...]
    has_summary: bool


def parse_day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "dates are YYYY-MM-DD") from None


def check_purpose(raw: str) -> str:
    if raw not in PURPOSES:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "say why the conversation is opened")
    return raw


# -- the visitor who left -------------------------------------------------------------------------


def gone_too_long(missing_since: float, now: float, minutes: float) -> bool:
    """A visitor away from their conversation this long has left it (0 minutes: never)."""
    return minutes > 0 and now - missing_since >= minutes * 60


def autoclose_interval(minutes: float) -> float:
    """How often to look for visitors who left: a fifth of the limit, between 0.2 s and 30 s."""
    return min(30.0, max(0.2, minutes * 60 / 5))
