"""Counselor accounts and roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["counselor", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("counselor", "supervisor", "admin")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    desk_ids: frozenset[int] | None
    """The desks this person works; ``None`` means every desk."""

    def works_desk(self, desk_id: int) -> bool:
        return self.desk_ids is None or desk_id in self.desk_ids
