"""What the centre reports: consultations per month and what they tell about outreach and
service. Pure: no I/O; the facts of each conversation come in, figures and CSV rows go out.

A consultation is a conversation a visitor started, counted in the month it started in
Asia/Tokyo time: the ward's months, not UTC's (2026-01-31T15:00:00Z is 1 February in Tokyo).
Reports hold aggregates only; a :class:`Consultation` carries no text a person wrote, so no
figure can leak one.

Medians are the middle value (the mean of the two middle ones for an even count); the 90th
percentile is the nearest rank (the smallest value with at least 90 % at or below it), so it is
always a time that really occurred. Both are rounded to whole seconds.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from service.domain.conversations import OUTCOMES, source_of
from service.errors import AppError, ErrorCode

TOKYO = ZoneInfo("Asia/Tokyo")
# Three fiscal years: enough for a ward's multi-year plan, small enough for one page.
MAX_MONTHS = 36
# The Japanese fiscal year (年度) starts in April: the default range is the current one so far.
FISCAL_YEAR_START = 4

DIMENSIONS = ("total", "desk", "source", "topic", "language", "outcome")
ALL = "all"
UNTAGGED = "untagged"
OPEN = "open"
"""The outcome key of a conversation that has not ended yet."""

CSV_COLUMNS = (
    "month",
    "dimension",
    "key",
    "consultations",
    "answered",
    "first_reply_median_s",
    "first_reply_p90_s",
    "left_waiting",
    "quick_exits",
    "closed",
    "duration_median_s",
    "referred",
    "survey_responses",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
    "helpful_yes",
    "helpful_no",
)

_MONTH = re.compile(r"(20[0-9][0-9])-(0[1-9]|1[0-2])")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def minus(self, other: Month) -> int:
        """How many months ``other`` lies before this one."""
        return (self.year - other.year) * 12 + self.month - other.month

    def start_utc(self) -> datetime:
        """The first instant of the month in Tokyo, as a UTC time."""
        return datetime(self.year, self.month, 1, tzinfo=TOKYO).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Consultation:
    """The facts of one conversation that a report may use: times, keys and survey numbers."""

    created_at: str
    status: str
    desk: str
    lang: str
    claimed_at: str | None = None
    first_reply_at: str | None = None
    """When a counselor first wrote; a claim alone is no reply."""
    closed_at: str | None = None
    closed_by: str | None = None
    outcome: str | None = None
    quick_exit: bool = False
    partner: str | None = None
    """The partner's key; None for the ward's default partner, which counts as ``direct``."""
    campaign: str | None = None
    topics: tuple[str, ...] = ()
    surveyed: bool = False
    rating: int | None = None
    helpful: bool | None = None

    @property
    def source(self) -> str:
        return source_of(self.partner, self.campaign)

    @property
    def left_waiting(self) -> bool:
        """Gone before any counselor took the chat (quick exits included)."""
        return self.status == "closed" and self.claimed_at is None and self.closed_by != "counselor"


@dataclass(frozen=True, slots=True)
class Figures:
    consultations: int
    answered: int
    first_reply_median_s: int | None
    first_reply_p90_s: int | None
    left_waiting: int
    quick_exits: int
    closed: int
    duration_median_s: int | None
    referred: int
    survey_responses: int
    ratings: tuple[int, int, int, int, int]
    """How many answers gave 1, 2, 3, 4 and 5."""
    helpful_yes: int
    helpful_no: int

    def csv_values(self) -> list[str]:
        values: list[int | None] = [
            self.consultations,
            self.answered,
            self.first_reply_median_s,
            self.first_reply_p90_s,
            self.left_waiting,
            self.quick_exits,
            self.closed,
            self.duration_median_s,
            self.referred,
            self.survey_responses,
            *self.ratings,
            self.helpful_yes,
            self.helpful_no,
        ]
        return ["" if v is None else str(v) for v in values]


@dataclass(frozen=True, slots=True)
class Row:
    """The figures of one month (or of the whole range), one dimension and one key."""

    month: Month | None
    dimension: str
    key: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class Report:
    first: Month
    last: Month
    months: tuple[Month, ...]
    rows: tuple[Row, ...]
    """Per month: its ``total`` row first, then every key seen in each dimension."""
    overall: tuple[Row, ...]
    """The same over the whole range (``month`` None)."""
    by_hour: tuple[tuple[int, ...], ...]
    """Consultations by weekday (Monday first) and hour of day, in Tokyo time."""

    def totals(self) -> list[Row]:
        return [r for r in self.rows if r.dimension == "total"]

    def overall_of(self, dimension: str) -> list[Row]:
        return [r for r in self.overall if r.dimension == dimension]


# -- months --------------------------------------------------------------------------------------


class RangeRefused(AppError):
    """A range that cannot be reported on. ``problem`` says which, for a page to put it in its
    own language: ``from`` or ``to`` (not a month), ``order`` (``from`` after ``to``) or
    ``length`` (over :data:`MAX_MONTHS`); the message is the API's, in English."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(ErrorCode.INVALID_PAYLOAD, message)
        self.problem = problem

    def __reduce__(self) -> tuple[type[AppError], tuple[ErrorCode, str]]:
        # Pickled, it is the plain refusal: AppError's own way assumes AppError's arguments.
        return AppError, (self.code, self.message)


def parse_month(text: str, what: str) -> Month:
    match = _MONTH.fullmatch(text)
    if match is None:
        raise RangeRefused(what, f"{what}: a month as YYYY-MM, e.g. 2026-04")
    return Month(int(match.group(1)), int(match.group(2)))


def month_of(moment: str) -> Month:
    """The Tokyo month of a stored UTC time (ISO 8601 with ``Z``)."""
    local = tokyo_time(moment)
    return Month(local.year, local.month)


def tokyo_time(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(TOKYO)


def default_range(today: date) -> tuple[Month, Month]:
    """The current fiscal year so far: April (or the April before) to this month."""
    this = Month(today.year, today.month)
    year = today.year if today.month >= FISCAL_YEAR_START else today.year - 1
    return Month(year, FISCAL_YEAR_START), this


def check_range(first: str | None, last: str | None, today: date) -> tuple[Month, Month]:
    """The months asked for, ``YYYY-MM`` each; a missing one defaults to the fiscal year."""
    default_first, default_last = default_range(today)
    start = parse_month(first, "from") if first else default_first
    end = parse_month(last, "to") if last else default_last
    if start > end:
        raise RangeRefused("order", f"from ({start}) is after to ({end})")
    if end.minus(start) + 1 > MAX_MONTHS:
        raise RangeRefused("length", f"at most {MAX_MONTHS} months at once")
    return start, end


def months_between(first: Month, last: Month) -> tuple[Month, ...]:
    return tuple(first.plus(i) for i in range(last.minus(first) + 1))


def utc_bounds(first: Month, last: Month) -> tuple[datetime, datetime]:
    """From the first instant of ``first`` to the first instant after ``last``, in UTC."""
    return first.start_utc(), last.plus(1).start_utc()


# -- statistics ----------------------------------------------------------------------------------


def _whole(seconds: float) -> int:
    # Half up: 2.5 s is 3 s (Python's round() would give 2).
    return math.floor(seconds + 0.5)


def median(values: Sequence[float]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return _whole(ordered[middle])
    return _whole((ordered[middle - 1] + ordered[middle]) / 2)


def percentile_90(values: Sequence[float]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(0.9 * len(ordered))
    return _whole(ordered[rank - 1])


def seconds_between(start: str, end: str) -> float:
    elapsed = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return max(elapsed, 0.0)


def figures_of(items: Sequence[Consultation]) -> Figures:
    waits = [seconds_between(c.created_at, c.first_reply_at) for c in items if c.first_reply_at]
    durations = [
        seconds_between(c.claimed_at, c.closed_at)
        for c in items
        if c.status == "closed" and c.claimed_at and c.closed_at
    ]
    ratings = [sum(1 for c in items if c.rating == r) for r in range(1, 6)]
    return Figures(
        consultations=len(items),
        answered=len(waits),
        first_reply_median_s=median(waits),
        first_reply_p90_s=percentile_90(waits),
        left_waiting=sum(1 for c in items if c.left_waiting),
        quick_exits=sum(1 for c in items if c.quick_exit),
        closed=sum(1 for c in items if c.status == "closed"),
        duration_median_s=median(durations),
        referred=sum(1 for c in items if (c.outcome or "").startswith("referred_")),
        survey_responses=sum(1 for c in items if c.surveyed),
        ratings=(ratings[0], ratings[1], ratings[2], ratings[3], ratings[4]),
        helpful_yes=sum(1 for c in items if c.helpful is True),
        helpful_no=sum(1 for c in items if c.helpful is False),
    )


# -- the report ----------------------------------------------------------------------------------


def keys_of(item: Consultation, dimension: str) -> tuple[str, ...]:
    """The keys a consultation counts under; with several topic tags, under each of them."""
    if dimension == "total":
        return (ALL,)
    if dimension == "desk":
        return (item.desk,)
    if dimension == "source":
        return (item.source,)
    if dimension == "topic":
        return tuple(sorted(set(item.topics))) or (UNTAGGED,)
    if dimension == "language":
        return (item.lang,)
    if dimension == "outcome":
        return (item.outcome or "none",) if item.status == "closed" else (OPEN,)
    raise ValueError(dimension)


def _key_order(dimension: str, key: str) -> tuple[int, str]:
    if dimension == "outcome":
        known = (*OUTCOMES, OPEN)
        return (known.index(key), "") if key in known else (len(known), key)
    if dimension == "source":
        kinds = ("direct", "partner", "campaign")
        kind = key.split(":", 1)[0]
        return (kinds.index(kind) if kind in kinds else len(kinds), key)
    return (1 if key == UNTAGGED else 0, key)


def _rows(month: Month | None, items: Sequence[Consultation]) -> list[Row]:
    rows = [Row(month, "total", ALL, figures_of(items))]
    for dimension in DIMENSIONS[1:]:
        groups: dict[str, list[Consultation]] = defaultdict(list)
        for item in items:
            for key in keys_of(item, dimension):
                groups[key].append(item)
        for key in sorted(groups, key=lambda k: _key_order(dimension, k)):
            rows.append(Row(month, dimension, key, figures_of(groups[key])))
    return rows


def build_report(items: Iterable[Consultation], first: Month, last: Month) -> Report:
    """Every figure of the months ``first`` to ``last``; consultations outside are ignored."""
    months = months_between(first, last)
    by_month: dict[Month, list[Consultation]] = defaultdict(list)
    for item in items:
        month = month_of(item.created_at)
        if first <= month <= last:
            by_month[month].append(item)
    in_range = [c for m in months for c in by_month[m]]
    grid = [[0] * 24 for _ in range(7)]
    for item in in_range:
        local = tokyo_time(item.created_at)
        grid[local.weekday()][local.hour] += 1
    return Report(
        first=first,
        last=last,
        months=months,
        rows=tuple(row for m in months for row in _rows(m, by_month[m])),
        overall=tuple(_rows(None, in_range)),
        by_hour=tuple(tuple(hours) for hours in grid),
    )


def csv_rows(report: Report) -> list[list[str]]:
    """The export: the header, then one row per month, dimension and key."""
    body = [
        [str(row.month), row.dimension, _cell(row.key), *row.figures.csv_values()]
        for row in report.rows
    ]
    return [list(CSV_COLUMNS), *body]


def _cell(text: str) -> str:
    # Keys are checked to start with a letter or digit; should one ever not, a spreadsheet must
    # still not read it as a formula (OWASP "CSV injection").
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
