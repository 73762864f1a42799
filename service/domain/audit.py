"""Who changed what: the audit log of administration. Pure records, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CLI = "cli"


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever makes an admin change: a logged-in admin, or an operator at the command line."""

    name: str
    user_id: int | None = None


CLI_ACTOR = Actor(CLI)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
