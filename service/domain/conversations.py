"""Conversation states, outcomes and the order of the queue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["waiting", "active", "closed"]
Author = Literal["visitor", "counselor", "system"]

OUTCOMES = (
    "resolved",
    "referred_phone",
    "referred_in_person",
    "referred_agency",
    "visitor_left",
    "no_reply",
)


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    desk_id: int
    partner_id: int | None
    campaign: str | None
    lang: str
    status: Status
    counselor_id: int | None
    urgent: bool
    created_at: str
    last_seq: int
    topic: str | None = None
    outcome: str | None = None
    counselor_name: str | None = None
    """The holding counselor's display name (never the login name)."""
    risk: str = "none"
    """The counselor's risk level: ``none``, ``concern`` or ``urgent`` (domain/casework.py)."""
    claimed_at: str | None = None

    @property
    def pressing(self) -> bool:
        """The visitor said they are in danger now, or a counselor flagged the risk urgent."""
        return self.urgent or self.risk == "urgent"


@dataclass(frozen=True, slots=True)
class Message:
    conversation_id: str
    seq: int
    author: Author
    body: str
    created_at: str
    client_id: str | None
    user_id: int | None = None
    """The counselor who wrote it (a ``counselor`` message): for staff only, never visitors."""
    writer: str | None = None
    """That counselor's display name, for staff only (``wire.message_payload``)."""

    def __reduce__(self) -> tuple[type[Message], tuple[Any, ...]]:
        # Messages cross from the writer process pickled; by their fields, that is several
        # times faster than a frozen dataclass's default state (service/db/writer.py).
        return Message, (
            self.conversation_id,
            self.seq,
            self.author,
            self.body,
            self.created_at,
            self.client_id,
            self.user_id,
            self.writer,
        )


def queue_order(conversations: Iterable[Conversation]) -> list[Conversation]:
    """Urgent first (the visitor's choice or a counselor's flag), then longest waiting: the
    order in which counselors should answer."""
    return sorted(conversations, key=lambda c: (not c.pressing, c.created_at, c.id))


def queue_positions(waiting: Sequence[Conversation]) -> dict[str, int]:
    """1-based place in line of each waiting conversation of one desk."""
    ordered = queue_order(c for c in waiting if c.status == "waiting")
    return {c.id: i for i, c in enumerate(ordered, start=1)}


def source_of(partner_key: str | None, campaign: str | None) -> str:
    """Where a visitor came from, as counselors and reports name it."""
    if campaign:
        return f"campaign:{campaign}"
    if partner_key:
        return f"partner:{partner_key}"
    return "direct"
