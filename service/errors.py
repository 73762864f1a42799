"""Stable error codes: part of the public contract (see docs/protocol.md)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_PAYLOAD = "invalid_payload"
    TOO_LARGE = "too_large"
    EMPTY_BODY = "empty_body"
    NOT_FOUND = "not_found"
    NO_CONVERSATION = "no_conversation"
    ALREADY_CLAIMED = "already_claimed"
    CONVERSATION_CLOSED = "conversation_closed"
    RATE_LIMITED = "rate_limited"
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_DESK = "unknown_desk"
    DESK_CLOSED = "desk_closed"
    UNKNOWN_PARTNER = "unknown_partner"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (an error code, not a secret)
    UNAUTHORIZED = "unauthorized"
    INTERNAL_ERROR = "internal_error"
    ALREADY_EXISTS = "already_exists"
    LAST_ADMIN = "last_admin"
    CONVERSATION_OPEN = "conversation_open"
    ALREADY_ANSWERED = "already_answered"
    FORBIDDEN = "forbidden"
    CHAT_LIMIT = "chat_limit"
    UNKNOWN_USER = "unknown_user"
    SUMMARY_CONFLICT = "summary_conflict"


class AppError(Exception):
    """A refusal the client should see, with a stable code and a short human message."""

    def __init__(self, code: ErrorCode, message: str = "") -> None:
        super().__init__(message or code.value)
        self.code = code
        self.message = message or code.value.replace("_", " ")

    def __reduce__(self) -> tuple[type[AppError], tuple[ErrorCode, str]]:
        # Refusals cross from the writer process (db/writer.py) pickled.
        return type(self), (self.code, self.message)
