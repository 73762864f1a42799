"""The one place that reads the wall clock: times are UTC, ISO 8601 with milliseconds and 'Z'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(utcnow())


def iso_minutes_ago(minutes: int) -> str:
    return iso(utcnow() - timedelta(minutes=minutes))
