"""Opening hours over real dates: holidays, 2nd Saturdays, New Year, the minute of opening."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from service.domain.hours import (
    TOKYO,
    WARD_HOURS,
    HoursError,
    holiday_name,
    hours_text,
    next_open_at,
    open_now,
    parse_hours,
)

WARD = parse_hours(WARD_HOURS)

# The Cabinet Office's list of 2026's national holidays, typed in by hand: an independent check
# of the holiday package (substitute holiday 5/6 and the 国民の休日 9/22 included).
HOLIDAYS_2026 = {
    date(2026, 1, 1), date(2026, 1, 12), date(2026, 2, 11), date(2026, 2, 23),
    date(2026, 3, 20), date(2026, 4, 29), date(2026, 5, 3), date(2026, 5, 4),
    date(2026, 5, 5), date(2026, 5, 6), date(2026, 7, 20), date(2026, 8, 11),
    date(2026, 9, 21), date(2026, 9, 22), date(2026, 9, 23), date(2026, 10, 12),
    date(2026, 11, 3), date(2026, 11, 23),
}  # fmt: skip


def tokyo(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def test_every_day_of_2026_follows_the_wards_hours() -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        second_saturday = day.weekday() == 5 and 8 <= day.day <= 14
        new_year = (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3)
        expected = (
            (day.weekday() < 5 or second_saturday) and day not in HOLIDAYS_2026 and not new_year
        )
        at_ten = datetime(day.year, day.month, day.day, 10, 0, tzinfo=TOKYO)
        assert open_now(WARD, at_ten) is expected, day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-11-24 08:59", False),  # a Tuesday: the minute before opening
        ("2026-11-24 09:00", True),
        ("2026-11-24 16:59", True),
        ("2026-11-24 16:59:59", True),
        ("2026-11-24 17:00", False),  # closing time closes the desk to new chats
        ("2026-11-03 10:00", False),  # 文化の日 (a Tuesday)
        ("2026-11-23 10:00", False),  # 勤労感謝の日 (a Monday)
        ("2026-05-06 10:00", False),  # 振替休日 for Constitution Day on a Sunday
        ("2026-09-22 10:00", False),  # 国民の休日 between two holidays
        ("2026-11-14 10:00", True),  # the 2nd Saturday of November
        ("2026-11-07 10:00", False),  # the 1st Saturday
        ("2026-11-21 10:00", False),  # the 3rd Saturday
        ("2026-11-15 10:00", False),  # a Sunday
        ("2026-12-28 16:59", True),  # the last working day of the year
        ("2026-12-29 10:00", False),
        ("2027-01-03 10:00", False),
        ("2027-01-04 09:00", True),
        ("2027-01-09 10:00", True),  # the 2nd Saturday of 2027
        ("2027-01-11 10:00", False),  # 成人の日 2027
        ("2026-08-08 10:00", True),  # 2nd Saturday in summer, no closure
    ],
)
def test_the_ward_desk_is_open_exactly_in_its_hours(moment: str, is_open: bool) -> None:
    assert open_now(WARD, tokyo(moment)) is is_open


def test_a_utc_instant_is_judged_in_tokyo_time() -> None:
    assert open_now(WARD, datetime(2026, 11, 24, 0, 0, tzinfo=UTC))  # 09:00 in Tokyo
    assert not open_now(WARD, datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # 17:00 in Tokyo


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        ("2026-11-24 08:59", "2026-11-24 09:00"),
        ("2026-11-24 17:00", "2026-11-25 09:00"),
        ("2026-11-20 18:00", "2026-11-24 09:00"),  # Fri evening → Mon 23rd is a holiday
        ("2026-11-02 17:30", "2026-11-04 09:00"),  # over 文化の日
        ("2026-11-13 17:00", "2026-11-14 09:00"),  # Fri → the 2nd Saturday
        ("2026-12-28 17:00", "2027-01-04 09:00"),  # over the New Year closure
        ("2026-05-01 17:00", "2026-05-07 09:00"),  # over Golden Week
    ],
)
def test_the_next_opening_skips_nights_weekends_holidays_and_closures(
    moment: str, opens: str
) -> None:
    assert next_open_at(WARD, tokyo(moment)) == tokyo(opens)


def test_an_open_desk_has_no_next_opening() -> None:
    assert next_open_at(WARD, tokyo("2026-11-24 10:00")) is None


@pytest.mark.parametrize("moment", ["2026-11-03 03:00", "2026-12-31 23:59", "2026-11-15 12:00"])
def test_a_24_7_desk_never_closes_not_even_on_holidays(moment: str) -> None:
    always = parse_hours("24/7")
    assert open_now(always, tokyo(moment))
    assert next_open_at(always, tokyo(moment)) is None


def test_a_closed_desk_never_opens() -> None:
    closed = parse_hours("closed")
    assert not open_now(closed, tokyo("2026-11-24 10:00"))
    assert next_open_at(closed, tokyo("2026-11-24 10:00")) is None


@pytest.mark.parametrize(
    ("closures", "moment", "is_open"),
    [
        ("", "2026-12-29 10:00", True),  # no extra closures: only holidays
        ("", "2027-01-01 10:00", False),  # 元日 is a public holiday anyway
        ("2026-08-13..2026-08-14", "2026-08-13 10:00", False),
        ("2026-08-13..2026-08-14", "2026-08-17 10:00", True),
        ("2026-11-25", "2026-11-25 10:00", False),
        ("08/13-08/15; 12/29-01/03", "2027-08-13 10:00", False),  # yearly
    ],
)
def test_extra_closures_close_whole_days(closures: str, moment: str, is_open: bool) -> None:
    assert open_now(parse_hours(WARD_HOURS, closures), tokyo(moment)) is is_open


@pytest.mark.parametrize(
    ("spec", "moment", "is_open"),
    [
        ("mon,wed 10:00-12:00,13:00-16:00", "2026-11-25 12:30", False),  # lunch break
        ("mon,wed 10:00-12:00,13:00-16:00", "2026-11-25 13:00", True),
        ("fri 22:00-24:00; sat 00:00-02:00", "2026-11-27 23:59", True),
        ("fri 22:00-24:00; sat 00:00-02:00", "2026-11-28 01:59", True),
        ("fri 22:00-24:00; sat 00:00-02:00", "2026-11-28 02:00", False),
        ("SAT#4  9:30-12:00", "2026-11-28 09:30", True),  # case and spaces are forgiven
    ],
)
def test_specs_with_several_ranges_and_late_nights(spec: str, moment: str, is_open: bool) -> None:
    assert open_now(parse_hours(spec, ""), tokyo(moment)) is is_open


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        (" MON-FRI  09:00-17:00 ;sat#2 09:00-17:00", "mon-fri 09:00-17:00; sat#2 09:00-17:00"),
        ("24/7", "24/7"),
        ("Closed", "closed"),
        ("tue 9:00-12:00", "tue 09:00-12:00"),
    ],
)
def test_specs_are_kept_in_a_canonical_form(spec: str, canonical: str) -> None:
    assert parse_hours(spec).spec == canonical


@pytest.mark.parametrize(
    ("spec", "closures"),
    [
        ("", ""),
        ("mon-fri", ""),  # no times
        ("monday 09:00-17:00", ""),
        ("fri-mon 09:00-17:00", ""),  # backwards
        ("sat#6 09:00-17:00", ""),
        ("mon 17:00-09:00", ""),  # crosses midnight
        ("mon 09:00-24:30", ""),
        ("mon 9-17", ""),
        ("mon 09:00-17:00", "13/01"),
        ("mon 09:00-17:00", "02/30"),
        ("mon 09:00-17:00", "2026-08-14..2026-08-13"),
        ("mon 09:00-17:00", "next tuesday"),
    ],
)
def test_bad_specs_and_closures_are_refused_with_a_reason(spec: str, closures: str) -> None:
    with pytest.raises(HoursError, match=r"\S"):
        parse_hours(spec, closures)


def test_the_wards_hours_read_as_on_the_poster() -> None:
    assert hours_text(WARD, "ja") == ("月〜金・第2土曜 9:00〜17:00（祝日、12月29日〜1月3日を除く）")
    assert hours_text(WARD, "en") == (
        "Mon–Fri, 2nd Sat 9:00–17:00 (closed on public holidays, Dec 29–Jan 3)"
    )
    assert hours_text(parse_hours("mon-fri 09:00-17:00; sat 10:00-12:00"), "ja").startswith(
        "月〜金 9:00〜17:00、土 10:00〜12:00"
    )
    assert hours_text(parse_hours("24/7"), "ja") == "24時間・年中無休"


def test_holidays_have_their_japanese_names() -> None:
    assert holiday_name(date(2026, 11, 3)) == "文化の日"
    assert holiday_name(date(2026, 11, 23)) == "勤労感謝の日"
    assert holiday_name(date(2026, 11, 24)) is None
