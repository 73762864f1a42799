"""Counselor training: practice scenarios, the scripted visitor, the rubric and reviews.

Pure rules, no I/O. A practice chat is an ordinary conversation on a practice desk; what makes it
training is a ``practice_session`` row (which scenario, played how) and, once closed, a
supervisor's review: scores on the centre's rubric, comments on single messages and a word for
the trainee (the counselor who held the chat). Only that trainee and supervisors or admins ever
see a review; what a scenario asks the trainee to practise (its ``focus``) stays hidden from
the trainee until the review, so that the chat is answered as a real one would be.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from service.domain.accounts import User
from service.domain.conversations import Message
from service.errors import AppError, ErrorCode

Mode = Literal["scripted", "roleplay"]
MODES: tuple[Mode, ...] = ("scripted", "roleplay")
SCORES = (1, 2, 3, 4)
SCRIPT_ENDED = "script_ended"
"""The system message that says the scenario's script has no more lines."""

IDLE_OUTCOME = "no_reply"
"""How a scripted practice chat closes when nothing was written in it for the visitor-gone time:
its trainee gave no reply."""

MAX_TITLE = 100
MAX_TEXT = 2000
MAX_LINE = 1000
MAX_LINES = 20
MAX_COMMENT = 2000
MAX_LABEL = 60
REVIEWING_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class Scenario:
    id: int
    title: str
    topic: str
    """A topic tag's key; "" for none."""
    persona: str
    situation: str
    lines: tuple[str, ...]
    """The visitor's lines, in order: the opening line first."""
    focus: str
    """What the trainee should practise: for the player and the reviewer, and the trainee
    reads it with the review."""
    ends_with_exit: bool
    """The visitor leaves by quick exit right after the last line."""
    archived: bool


@dataclass(frozen=True, slots=True)
class RubricItem:
    id: int
    position: int
    label_ja: str
    label_en: str
    hint: str
    active: bool


@dataclass(frozen=True, slots=True)
class Score:
    rubric_item_id: int
    label_ja: str
    label_en: str
    score: int
    comment: str


@dataclass(frozen=True, slots=True)
class Mark:
    seq: int
    comment: str


@dataclass(frozen=True, slots=True)
class Review:
    conversation_id: str
    reviewer_id: int
    reviewer: str
    """The reviewer's display name."""
    trainee_id: int
    comment: str
    created_at: str
    read_at: str | None
    scores: tuple[Score, ...] = ()
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True, slots=True)
class Session:
    """One practice chat, as the trainee's page and the review list show it."""

    conversation_id: str
    mode: Mode
    scenario_id: int | None
    scenario_title: str | None
    trainee_id: int | None
    """The counselor who held it (None while nobody has taken a role-played chat)."""
    trainee: str | None
    player: str | None
    """Who played the visitor (role-play)."""
    status: str
    created_at: str
    closed_at: str | None
    reviewed: bool
    feedback_read: bool
    desk_id: int
    """The practice desk it was held at: its reviewers are the supervisors who work it."""


@dataclass(frozen=True, slots=True)
class ReviewInput:
    """A checked review: every active rubric item scored, comments trimmed."""

    comment: str
    scores: tuple[tuple[int, int, str], ...]
    """(rubric item id, score 1–4, comment)."""
    marks: tuple[tuple[int, str], ...]
    """(message seq, comment)."""


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """What one turn of the script sent: messages to deliver, and whether the visitor now
    leaves by quick exit."""

    messages: tuple[Message, ...]
    leave: bool = False


def invalid(message: str) -> AppError:
    return AppError(ErrorCode.INVALID_PAYLOAD, message)


def clean(raw: str) -> str:
    """NFC, Windows line ends as ``\\n``, no spaces around."""
    return unicodedata.normalize("NFC", raw.replace("\r\n", "\n")).strip()


def text(fields: Mapping[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = clean(str(fields.get(name) or ""))
    if required and not value:
        raise invalid(f"{name} is required")
    if len(value) > limit:
        raise invalid(f"{name}: at most {limit} characters")
    return value


def parse_lines(raw: str) -> tuple[str, ...]:
    """The visitor's lines as typed in one box: one message per line, blank lines skipped."""
    lines = tuple(line.strip() for line in clean(raw).split("\n") if line.strip())
    if not lines:
        raise invalid("lines is required")
    if len(lines) > MAX_LINES:
        raise invalid(f"lines: at most {MAX_LINES} lines")
    if any(len(line) > MAX_LINE for line in lines):
        raise invalid(f"lines: at most {MAX_LINE} characters")
    return lines


def check_scenario(fields: Mapping[str, Any], topics: Iterable[str]) -> dict[str, Any]:
    """A scenario's fields as the form sent them, checked: the columns to store."""
    topic = clean(str(fields.get("topic") or ""))
    if topic and topic not in set(topics):
        raise invalid(f"topic '{topic}' is not a topic")
    return {
        "title": text(fields, "title", MAX_TITLE),
        "topic": topic,
        "persona": text(fields, "persona", MAX_TEXT),
        "situation": text(fields, "situation", MAX_TEXT),
        "lines": parse_lines(str(fields.get("lines") or "")),
        "focus": text(fields, "focus", MAX_TEXT),
        "ends_with_exit": bool(fields.get("ends_with_exit")),
    }


def check_rubric_item(fields: Mapping[str, Any]) -> dict[str, Any]:
    position = str(fields.get("position") or "").strip()
    if not position.isdigit() or not 1 <= int(position) <= 99:
        raise invalid("position: a number from 1 to 99")
    return {
        "label_ja": text(fields, "label_ja", MAX_LABEL),
        "label_en": text(fields, "label_en", MAX_LABEL, required=False),
        "hint": text(fields, "hint", MAX_TEXT, required=False),
        "position": int(position),
        "active": bool(fields.get("active")),
    }


def check_review(
    fields: Mapping[str, Any], rubric: Sequence[RubricItem], seqs: Iterable[int]
) -> ReviewInput:
    """The review form: ``score-<item id>`` (1–4) for every active rubric item, an optional
    ``note-<item id>``, ``mark-<seq>`` comments on messages of the transcript and ``comment``
    for the whole chat."""
    scores = []
    for item in (i for i in rubric if i.active):
        raw = str(fields.get(f"score-{item.id}") or "").strip()
        if not raw:
            raise invalid(f"score-{item.id} is required")
        if raw not in {str(s) for s in SCORES}:
            raise invalid(f"score-{item.id}: a score from 1 to 4")
        note = text(fields, f"note-{item.id}", MAX_COMMENT, required=False)
        scores.append((item.id, int(raw), note))
    marks = []
    for seq in sorted(set(seqs)):
        comment = text(fields, f"mark-{seq}", MAX_COMMENT, required=False)
        if comment:
            marks.append((seq, comment))
    return ReviewInput(
        text(fields, "comment", MAX_COMMENT, required=False), tuple(scores), tuple(marks)
    )


def may_review(user: User) -> bool:
    """Supervisors and admins review practice chats and keep the scenarios and the rubric."""
    return user.role in REVIEWING_ROLES


def may_review_session(user: User, session: Session) -> bool:
    """A practice chat's review: for admins, and for the supervisors who work its desk, as a
    real record is for the supervisors of its desk."""
    return user.role == "admin" or (may_review(user) and user.works_desk(session.desk_id))


def may_read_feedback(user: User, session: Session) -> bool:
    """A practice chat's feedback: its trainee's, and its reviewers'."""
    return session.trainee_id == user.id or may_review_session(user, session)


def may_see_training_of(user: User, trainee_id: int) -> bool:
    """A trainee's sessions and feedback: theirs, and their supervisors' and admins'."""
    return user.id == trainee_id or may_review(user)


def idle_key(conversation_id: str, last_seq: int) -> str:
    """How the autoclose task times a scripted practice chat's silence: per chat and last
    message, so that each new message (the trainee's, or the script's line) starts it again."""
    return f"{conversation_id}#{last_seq}"


def script_turn(
    next_line: int, line_count: int, trainee_answered: bool
) -> Literal["line", "end", "wait", "done"]:
    """What the scripted visitor does now: send its next line (the first at once, the others
    once the trainee has answered the last), say that the script ended (after the trainee's
    answer to the last line), wait for an answer, or nothing more (ended already)."""
    if next_line > line_count:
        return "done"
    if next_line > 0 and not trainee_answered:
        return "wait"
    return "line" if next_line < line_count else "end"


def score_table(
    sessions: Sequence[tuple[str, Sequence[Score]]], rubric: Sequence[RubricItem]
) -> tuple[list[RubricItem], list[tuple[str, list[int | None]]]]:
    """Scores over time: the rubric's columns (active items, and retired ones that were
    scored) and one row per reviewed session, oldest first, ``None`` where an item was not
    scored."""
    scored = {s.rubric_item_id for _, scores in sessions for s in scores}
    columns = [i for i in rubric if i.active or i.id in scored]
    rows = []
    for when, scores in sorted(sessions, key=lambda s: s[0]):
        by_item = {s.rubric_item_id: s.score for s in scores}
        rows.append((when, [by_item.get(i.id) for i in columns]))
    return columns, rows
