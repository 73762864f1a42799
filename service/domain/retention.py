"""Retention: what people wrote is erased some days after their conversation closed. Pure rules.

The facts that reports count (times, desks, partners, outcomes, topic tags, survey numbers) are
kept; message bodies, notes, handoff summaries, code words and survey comments are not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from service.clock import iso

PURGE_INTERVAL_SECONDS = 24 * 60 * 60
"""The service purges once at start and then once a day."""

PURGE_BATCH = 200
"""Conversations erased in one write transaction, so other writes are not held up for long."""


def purge_cutoff(now: datetime, days: int) -> str:
    """Conversations closed before this moment (ISO, UTC) have their content erased."""
    if days < 1:
        raise ValueError("the retention period is at least one day")
    return iso(now - timedelta(days=days))
