"""The wire contract: every Socket.IO payload and acknowledgement as a msgspec Struct.

Requests forbid unknown fields so that a client can never smuggle in server-owned values such as
an author, a time or a ``seq``. Length limits that deserve their own
error code (a message body) are checked in ``domain``; everything else is checked here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec

from service.errors import AppError, ErrorCode

# Patterns end in \Z, not $: msgspec matches with re.search, where $ also matches before a
# trailing newline ("id\n" would pass).
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+\Z")]
ConversationId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+\Z")
]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*\Z")]
Lang = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?\Z", max_length=10)]
Token = Annotated[str, msgspec.Meta(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+\Z")]
# Bodies are limited again after trimming (domain.messages); this bound only keeps a hostile
# payload from costing more than a quick length check. A lone surrogate (a JavaScript string
# cut inside an emoji) can be neither stored as UTF-8 nor sent on, so it is refused here.
RawBody = Annotated[str, msgspec.Meta(max_length=20000, pattern=r"^[^\ud800-\udfff]*\Z")]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
HistoryLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]

Outcome = Literal[
    "resolved",
    "referred_phone",
    "referred_in_person",
    "referred_agency",
    "visitor_left",
    "no_reply",
]


class Request(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every client → server payload."""


class VisitorAuth(Request):
    token: Token | None = None
    partner: Key | None = None
    campaign: Key | None = None
    lang: Lang | None = None
    last_seq: Seq | None = None


class StartRequest(Request):
    desk: Key | None = None
    topic: Key | None = None
    urgent: bool = False
    """The visitor's "I am in danger right now": the conversation goes to the head of the queue."""


class VisitorMessageRequest(Request):
    client_id: ClientId
    body: RawBody


class VisitorHistoryRequest(Request):
    after_seq: Seq = 0
    limit: HistoryLimit = 500


class EmptyRequest(Request):
    pass


class LeaveRequest(Request):
    reason: Literal["quick_exit"] | None = None


class ConversationRequest(Request):
    conversation_id: ConversationId


class CounselorMessageRequest(Request):
    conversation_id: ConversationId
    client_id: ClientId
    body: RawBody


class CounselorHistoryRequest(Request):
    conversation_id: ConversationId
    after_seq: Seq = 0
    limit: HistoryLimit = 500


class CloseRequest(Request):
    conversation_id: ConversationId
    outcome: Outcome


R = TypeVar("R", bound=Request)


def decode(data: Any, kind: type[R]) -> R:
    """Validate an already JSON-decoded payload; ``None`` counts as ``{}``."""
    if data is None:
        data = {}
    try:
        return msgspec.convert(data, type=kind, strict=True)
    except msgspec.ValidationError as exc:
        raise AppError(ErrorCode.INVALID_PAYLOAD, str(exc)) from None


# -- What a visitor may add besides messages ----------------------------------------

# Trimmed and checked again in domain.visitors; these bounds only keep a hostile payload cheap.
RawCodeWord = Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[^\ud800-\udfff]*\Z")]
RawComment = Annotated[str, msgspec.Meta(max_length=10000, pattern=r"^[^\ud800-\udfff]*\Z")]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]


class CodeWordRequest(Request):
    word: RawCodeWord


class SurveyRequest(Request):
    rating: Rating | None = None
    helpful: bool | None = None
    comment: RawComment | None = None


# -- Casework of staff -----------------------------------------------------------------

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+\Z")]
Risk = Literal["none", "concern", "urgent"]


# The revision of a handoff summary the client last saw: its ``summary_at`` (None: never saved).
SummaryBase = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[0-9T:.Z-]+\Z")]


class CaseCloseRequest(Request):
    """``close``: the core contract's fields, and the handoff summary if it changed, with the
    revision it was based on (as ``summary``)."""

    conversation_id: ConversationId
    outcome: Outcome
    summary: RawBody | None = None
    base: SummaryBase | None = None


class NoteRequest(Request):
    conversation_id: ConversationId
    body: RawBody


class TagRequest(Request):
    conversation_id: ConversationId
    tags: Annotated[list[Key], msgspec.Meta(max_length=20)]


class RiskRequest(Request):
    conversation_id: ConversationId
    level: Risk


class TransferRequest(Request):
    conversation_id: ConversationId
    to_user: Username | None = None
    to_desk: Key | None = None
    note: RawBody | None = None


class SummaryRequest(Request):
    """``base``: the ``summary_at`` the text was written on; if another save came since, the
    save is refused (``summary_conflict``) instead of overwriting it."""

    conversation_id: ConversationId
    summary: RawBody
    base: SummaryBase | None = None


# -- Staff about themselves -----------------------------------------------------------------


class AvailabilityRequest(Request):
    """An account sets itself available (対応可能) or away (離席中); never another's."""

    state: Literal["available", "away"]
