"""Opening hours of a desk: when a visitor may start a chat. Pure: the time is passed in.

Hours are written as a short SPEC text, so that the CLI, the admin pages and the database all
hold the same readable form. The grammar (case-insensitive, spaces around separators allowed)::

    spec     = "24/7" | "closed" | rule *( ";" rule )
    rule     = days SP range *( "," range )
    days     = day-item *( "," day-item )
    day-item = day | day "-" day | day "#" N        ; N = 1..5: the Nth such weekday of the month
    day      = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun"
    range    = HH:MM "-" HH:MM                      ; start < end, end may be 24:00

Examples: ``mon-fri 09:00-17:00; sat#2 09:00-17:00`` (the ward's hours: weekdays and the second
Saturday), ``mon,wed 10:00-12:00,13:00-16:00``, ``24/7`` (never closes), ``closed`` (suspended).
A range never crosses midnight: write ``fri 22:00-24:00; sat 00:00-02:00`` instead.

Every desk except a ``24/7`` one is also closed on Japanese public holidays (the maintained
``holidays`` package, substitute and 国民の休日 included) and on its extra CLOSURES::

    closures = [ closure *( ( ";" | "," ) closure ) ]
    closure  = MM/DD | MM/DD "-" MM/DD              ; every year; may wrap over New Year
             | YYYY-MM-DD | YYYY-MM-DD ".." YYYY-MM-DD   ; once

The default closure is the year-end break ``12/29-01/03``. Times are Asia/Tokyo (no DST).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

TOKYO = ZoneInfo("Asia/Tokyo")
WARD_HOURS = "mon-fri 09:00-17:00; sat#2 09:00-17:00"
DEFAULT_CLOSURES = "12/29-01/03"
ALWAYS = "24/7"
CLOSED = "closed"
# How far ahead next_open_at looks: a desk with hours but no opening within a year (every rule
# falls on a closure) is as good as closed.
SEARCH_DAYS = 400

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_JA = ("月", "火", "水", "木", "金", "土", "日")
_DAY_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# やさしい日本語: in kana, so that no kanji needs a reading.
DAY_EASY = (
    "げつようび",
    "かようび",
    "すいようび",
    "もくようび",
    "きんようび",
    "どようび",
    "にちようび",
)
_ORDINAL_EN = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}
_MONTH_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_TIME = r"(\d{1,2}):(\d{2})"
_RANGE = re.compile(rf"^{_TIME}\s*-\s*{_TIME}$")
_DAY_ITEM = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun)(?:\s*-\s*(mon|tue|wed|thu|fri|sat|sun)|#(\d))?$"
)
_MONTH_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})$")

# The package computes each year's holidays on first use and keeps them.
_JAPAN = holidays.country_holidays("JP", language="ja")


class HoursError(ValueError):
    """A SPEC or closure text that does not follow the grammar; the message says where."""


@dataclass(frozen=True, slots=True)
class DayRule:
    weekday: int
    """0 = Monday, as ``date.weekday()``."""
    nth: int | None
    """Only the Nth such weekday of the month (``sat#2``); None: every week."""
    start: int
    """Minutes after midnight, Tokyo time."""
    end: int

    def applies(self, day: date) -> bool:
        return day.weekday() == self.weekday and (
            self.nth is None or (day.day - 1) // 7 + 1 == self.nth
        )


@dataclass(frozen=True, slots=True)
class Closure:
    """A closed stretch of days: every year (``yearly``, year 0 in the tuples) or once."""

    first: tuple[int, int, int]
    last: tuple[int, int, int]
    yearly: bool

    def covers(self, day: date) -> bool:
        if not self.yearly:
            return self.first <= (day.year, day.month, day.day) <= self.last
        key = (0, day.month, day.day)
        if self.first <= self.last:
            return self.first <= key <= self.last
        return key >= self.first or key <= self.last  # wraps over New Year: 12/29-01/03


@dataclass(frozen=True, slots=True)
class Hours:
    spec: str
    """The canonical SPEC text (lower case, single spaces)."""
    rules: tuple[DayRule, ...]
    closures: tuple[Closure, ...]
    closures_text: str
    always: bool = False


def parse_hours(spec: str, closures: str = DEFAULT_CLOSURES) -> Hours:
    """Parse a SPEC and a closure list; :class:`HoursError` names the first bad part."""
    text = " ".join(spec.lower().split())
    closure_list = parse_closures(closures)
    closures_text = ", ".join(p.strip() for p in re.split(r"[;,]", closures) if p.strip())
    if text == ALWAYS:
        return Hours(ALWAYS, (), closure_list, closures_text, always=True)
    if text == CLOSED:
        return Hours(CLOSED, (), closure_list, closures_text)
    if not text:
        raise HoursError("hours are empty: write a rule such as 'mon-fri 09:00-17:00', or 24/7")
    rules: list[DayRule] = []
    canonical: list[str] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        days_text, _, ranges_text = part.partition(" ")
        if not ranges_text:
            raise HoursError(f"{part!r}: days and times are separated by a space")
        days = _parse_days(days_text.replace(" ", ""))
        ranges = [_parse_range(r.strip()) for r in ranges_text.replace(" ", "").split(",")]
        rules += [DayRule(wd, nth, s, e) for wd, nth in days for s, e in ranges]
        canonical.append(
            f"{days_text.replace(' ', '')} " + ",".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in ranges)
        )
    return Hours("; ".join(canonical), tuple(rules), closure_list, closures_text)


def parse_closures(text: str) -> tuple[Closure, ...]:
    closures = []
    for part in (p.strip() for p in re.split(r"[;,]", text)):
        if not part:
            continue
        if ".." in part:
            first, _, last = part.partition("..")
            closures.append(Closure(_ymd(first), _ymd(last), yearly=False))
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
            closures.append(Closure(_ymd(part), _ymd(part), yearly=False))
        else:
            first, _, last = part.partition("-")
            closures.append(Closure(_md(first), _md(last or first), yearly=True))
        if not closures[-1].yearly and closures[-1].first > closures[-1].last:
            raise HoursError(f"closure {part!r} ends before it starts")
    return tuple(closures)


def holiday_name(day: date) -> str | None:
    """The Japanese public holiday on ``day`` (e.g. 文化の日), if any."""
    name = _JAPAN.get(day)
    return None if name is None else str(name)


def closed_all_day(hours: Hours, day: date) -> bool:
    """A public holiday or an extra closure (a ``24/7`` desk has neither)."""
    if hours.always:
        return False
    return day in _JAPAN or any(c.covers(day) for c in hours.closures)


def windows_on(hours: Hours, day: date) -> list[tuple[int, int]]:
    """The opening ranges of one day in minutes after midnight, sorted and merged."""
    if hours.always:
        return [(0, 24 * 60)]
    if closed_all_day(hours, day):
        return []
    merged: list[tuple[int, int]] = []
    for start, end in sorted((r.start, r.end) for r in hours.rules if r.applies(day)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def open_now(hours: Hours, at: datetime) -> bool:
    """Whether a visitor may start a chat at ``at`` (an aware datetime)."""
    local = at.astimezone(TOKYO)
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in windows_on(hours, local.date()))


def next_open_at(hours: Hours, at: datetime) -> datetime | None:
    """When the desk next opens after ``at`` (Tokyo time); None if open now or never opens."""
    if hours.always or open_now(hours, at):
        return None
    local = at.astimezone(TOKYO)
    minute = local.hour * 60 + local.minute
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        for start, _ in windows_on(hours, day):
            if offset > 0 or start > minute:
                return datetime.combine(day, time(start // 60, start % 60), tzinfo=TOKYO)
    return None


def hours_text(hours: Hours, lang: str = "ja") -> str:
    """The hours as a visitor reads them, e.g. 月〜金・第2土曜 9:00〜17:00（祝日、12月29日〜1月3日を
    除く）. Days with the same times share one phrase. ``lang``: ``ja``, ``en`` or ``ja-easy``
    (やさしい日本語, in kana)."""
    if lang == "ja-easy":
        return _easy_hours_text(hours)
    en = lang == "en"
    if hours.always:
        return "24 hours, every day" if en else "24時間・年中無休"
    if not hours.rules:
        return "Not open at the moment" if en else "現在、受付を休止しています"
    groups: dict[tuple[tuple[int, int], ...], list[tuple[int, int | None]]] = {}
    by_day: dict[tuple[int, int | None], list[tuple[int, int]]] = {}
    for rule in hours.rules:
        by_day.setdefault((rule.weekday, rule.nth), []).append((rule.start, rule.end))
    for day, day_ranges in by_day.items():
        groups.setdefault(tuple(sorted(day_ranges)), []).append(day)
    parts = []
    for ranges, days in groups.items():
        times = ("," if en else "、").join(
            f"{_clock(s)}{'–' if en else '〜'}{_clock(e)}" for s, e in ranges
        )
        parts.append(f"{_days_text(sorted(days, key=_day_order), en)} {times}")
    text = ("; " if en else "、").join(parts)
    excluded = ["public holidays" if en else "祝日"]
    excluded += [_closure_text(c, en) for c in hours.closures]
    if en:
        return f"{text} (closed on {', '.join(excluded)})"
    return f"{text}（{'、'.join(excluded)}を除く）"


def _easy_hours_text(hours: Hours) -> str:
    """In kana, e.g. げつようび〜きんようび・だい2どようび 9:00〜17:00（しゅくじつ、12がつ29にち〜
    1がつ3にちは やすみ）."""
    if hours.always:
        return "24じかん・まいにち"
    if not hours.rules:
        return "いまは うけつけを やすんで います"
    by_day: dict[tuple[int, int | None], list[tuple[int, int]]] = {}
    for rule in hours.rules:
        by_day.setdefault((rule.weekday, rule.nth), []).append((rule.start, rule.end))
    groups: dict[tuple[tuple[int, int], ...], list[tuple[int, int | None]]] = {}
    for day, day_ranges in by_day.items():
        groups.setdefault(tuple(sorted(day_ranges)), []).append(day)
    parts = []
    for ranges, days in groups.items():
        times = "、".join(f"{_clock(s)}〜{_clock(e)}" for s, e in ranges)
        parts.append(f"{_easy_days_text(sorted(days, key=_day_order))} {times}")
    excluded = ["しゅくじつ", *(_easy_closure_text(c) for c in hours.closures)]
    return f"{'、'.join(parts)}（{'、'.join(excluded)}は やすみ）"


def _easy_days_text(days: list[tuple[int, int | None]]) -> str:
    out: list[str] = []
    weekly = [wd for wd, nth in days if nth is None]
    runs: list[list[int]] = []
    for wd in weekly:
        if runs and runs[-1][-1] == wd - 1:
            runs[-1].append(wd)
        else:
            runs.append([wd])
    for run in runs:
        if len(run) >= 3:
            out.append(f"{DAY_EASY[run[0]]}〜{DAY_EASY[run[-1]]}")
        else:
            out += [DAY_EASY[wd] for wd in run]
    out += [f"だい{nth}{DAY_EASY[wd]}" for wd, nth in days if nth is not None]
    return "・".join(out)


def _easy_closure_text(closure: Closure) -> str:
    def one(ymd: tuple[int, int, int]) -> str:
        year, month, day = ymd
        return (f"{year}ねん" if year else "") + f"{month}がつ{day}にち"

    if closure.first == closure.last:
        return one(closure.first)
    return f"{one(closure.first)}〜{one(closure.last)}"


def _day_order(day: tuple[int, int | None]) -> tuple[int, int]:
    return (0 if day[1] is None else 1, day[0])


def _days_text(days: list[tuple[int, int | None]], en: bool) -> str:
    names = _DAY_EN if en else _DAY_JA
    out: list[str] = []
    weekly = [wd for wd, nth in days if nth is None]
    runs: list[list[int]] = []
    for wd in weekly:
        if runs and runs[-1][-1] == wd - 1:
            runs[-1].append(wd)
        else:
            runs.append([wd])
    for run in runs:
        if len(run) >= 3:
            out.append(f"{names[run[0]]}{'–' if en else '〜'}{names[run[-1]]}")
        else:
            out += [names[wd] for wd in run]
    for wd, nth in days:
        if nth is not None:
            out.append(f"{_ORDINAL_EN[nth]} {names[wd]}" if en else f"第{nth}{names[wd]}曜")
    return ", ".join(out) if en else "・".join(out)


def _closure_text(closure: Closure, en: bool) -> str:
    def one(ymd: tuple[int, int, int]) -> str:
        year, month, day = ymd
        if en:
            return f"{_MONTH_EN[month - 1]} {day}" + (f", {year}" if year else "")
        return (f"{year}年" if year else "") + f"{month}月{day}日"

    if closure.first == closure.last:
        return one(closure.first)
    return f"{one(closure.first)}{'–' if en else '〜'}{one(closure.last)}"


def _parse_days(text: str) -> list[tuple[int, int | None]]:
    days: list[tuple[int, int | None]] = []
    for item in text.split(","):
        match = _DAY_ITEM.match(item)
        if not match:
            raise HoursError(f"{item!r} is not a day: use mon…sun, mon-fri or sat#2")
        first, last, nth = match.groups()
        if nth is not None:
            if not 1 <= int(nth) <= 5:
                raise HoursError(f"{item!r}: the week of the month is 1 to 5")
            days.append((DAYS.index(first), int(nth)))
            continue
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise HoursError(f"{item!r}: write days in order, Monday first")
        days += [(wd, None) for wd in range(start, end + 1)]
    return days


def _parse_range(text: str) -> tuple[int, int]:
    match = _RANGE.match(text)
    if not match:
        raise HoursError(f"{text!r} is not a time range such as 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
        raise HoursError(f"{text!r}: times run from 00:00 to 24:00 and must end after they start")
    return start, end


def _md(text: str) -> tuple[int, int, int]:
    match = _MONTH_DAY.match(text.strip())
    if not match:
        raise HoursError(f"{text.strip()!r} is not a date: use MM/DD or YYYY-MM-DD")
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2024, month, day)  # a leap year, so 02/29 is allowed
    except ValueError:
        raise HoursError(f"{text.strip()!r} is not a date") from None
    return (0, month, day)


def _ymd(text: str) -> tuple[int, int, int]:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise HoursError(f"{text.strip()!r} is not a date: use YYYY-MM-DD") from None
    return (day.year, day.month, day.day)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"
