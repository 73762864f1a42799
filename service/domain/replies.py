"""What admins prepare for counselors: canned responses and topic tags (the inbox uses them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CannedResponse:
    id: int
    desk_id: int | None
    """None: offered on every desk."""
    title: str
    body: str


POSTER_TOPICS = (
    "oneself",
    "family",
    "work",
    "sexuality",
    "domestic_violence",
    "harassment",
    "other",
)
"""The seeded topics, in the order the centre's poster lists them: the visitor chooses from them
in this order, and staff see tags in it too (their creation order, with その他 always last)."""


@dataclass(frozen=True, slots=True)
class TopicTag:
    id: int
    key: str
    label_ja: str
    label_en: str
    enabled: bool
