"""The audit log's one writer (PostgreSQL): every admin change adds its row in the change's own
transaction. The detail is stored as SQLite's ``service/db/audit_log.py`` stores it (the same
JSON text), so the log reads the same on both backends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from service.clock import now_iso
from service.domain.audit import Actor
from service.pg.sealing import Db


async def audit(db: Db, actor: Actor, action: str, target: str, detail: Mapping[str, Any]) -> None:
    await db.conn.execute(
        "INSERT INTO audit_log (at, actor, actor_id, action, target, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        now_iso(),
        actor.name,
        actor.user_id,
        action,
        target,
        json.dumps(detail, default=str, ensure_ascii=False),
    )
