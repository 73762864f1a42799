"""The audit log's one writer: every admin change adds its row in the change's own transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from service.clock import now_iso
from service.domain.audit import Actor


def audit(
    conn: sqlite3.Connection, actor: Actor, action: str, target: str, detail: Mapping[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, actor_id, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            now_iso(),
            actor.name,
            actor.user_id,
            action,
            target,
            json.dumps(detail, default=str, ensure_ascii=False),
        ),
    )
