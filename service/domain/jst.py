"""Times as staff read them: Japan time (Asia/Tokyo), whatever the machine's own zone.

Stored times are UTC ISO 8601 (``2026-12-03T12:00:51.868Z``). On a staff page they read
``21:00`` when they fall on today's date in Tokyo, ``12月3日（木）21:00`` within the current year
and ``2025年12月3日（水）21:00`` before or after it; in English ``21:00``, ``Thu 3 Dec 21:00`` and
``Wed 3 Dec 2025 21:00``. Minutes are cut, never rounded, as a clock shows them. The full time,
to the second and with its offset (``2026-12-03T21:00:51+09:00``), is for a tooltip and exports.

The inbox's script follows the same rules (``widget/src/inbox-time.js``); tests pin both to the
same output for the same instants. Pure: the caller passes "now".
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse(moment: str | datetime | None) -> datetime | None:
    """A stored time as an aware datetime; a naive one is UTC; None for anything unreadable."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_tokyo(moment: datetime) -> datetime:
    return moment.astimezone(TOKYO)


def full(moment: str | datetime | None) -> str:
    """The exact time in Japan time with its offset, to the second: for tooltips and exports."""
    parsed = parse(moment)
    return "" if parsed is None else in_tokyo(parsed).isoformat(timespec="seconds")


def day_text(moment: datetime, lang: str = "ja", *, year: bool = True) -> str:
    """A Tokyo date: ``2026年12月3日（木）`` / ``Thu 3 Dec 2026`` (without the year if told)."""
    t = in_tokyo(moment)
    if lang == "en":
        text = f"{WEEKDAYS_EN[t.weekday()]} {t.day} {MONTHS_EN[t.month - 1]}"
        return f"{text} {t.year}" if year else text
    text = f"{t.month}月{t.day}日（{WEEKDAYS_JA[t.weekday()]}）"
    return f"{t.year}年{text}" if year else text


def human(moment: str | datetime | None, now: datetime, lang: str = "ja") -> str:
    """The time as people read it, relative to ``now``: see the module's docstring."""
    parsed = parse(moment)
    if parsed is None:
        return ""
    t, today = in_tokyo(parsed), in_tokyo(now)
    clock = f"{t.hour:02d}:{t.minute:02d}"
    if t.date() == today.date():
        return clock
    return f"{day_text(t, lang, year=t.year != today.year)}{' ' if lang == 'en' else ''}{clock}"


def month_text(year: int, month: int, lang: str = "ja") -> str:
    """A report month: ``2026年4月`` / ``Apr 2026``."""
    return f"{MONTHS_EN[month - 1]} {year}" if lang == "en" else f"{year}年{month}月"
