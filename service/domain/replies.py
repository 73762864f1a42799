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


@dataclass(frozen=True, slots=True)
class TopicTag:
    id: int
    key: str
    label_ja: str
    label_en: str
    enabled: bool
