"""The report's rules without a server: Tokyo months, ranges, medians, buckets and CSV rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.domain.reports import (
    CSV_COLUMNS,
    Consultation,
    Month,
    build_report,
    check_range,
    csv_rows,
    default_range,
    figures_of,
    keys_of,
    median,
    month_of,
    percentile_90,
    utc_bounds,
)
from service.errors import AppError
from service.http.report_charts import heat_level, month_chart


@pytest.mark.parametrize(
    ("stored", "month"),
    [
        ("2026-01-31T14:59:59.999Z", "2026-01"),  # 23:59:59 on 31 January in Tokyo
        ("2026-01-31T15:00:00Z", "2026-02"),  # midnight: 1 February in Tokyo
        ("2026-01-31T15:00:00.000Z", "2026-02"),
        ("2025-12-31T14:59:59.000Z", "2025-12"),
        ("2025-12-31T15:00:00.000Z", "2026-01"),  # New Year comes nine hours early
        ("2026-03-31T15:00:00.000Z", "2026-04"),  # and so does the fiscal year
        ("2026-06-15T03:00:00.000Z", "2026-06"),
    ],
)
def test_a_consultation_counts_in_its_tokyo_month(stored: str, month: str) -> None:
    assert str(month_of(stored)) == month


@pytest.mark.parametrize(
    ("first", "last", "since", "until"),
    [
        ("2026-02", "2026-02", "2026-01-31 15:00:00+00:00", "2026-02-28 15:00:00+00:00"),
        ("2025-12", "2026-01", "2025-11-30 15:00:00+00:00", "2026-01-31 15:00:00+00:00"),
        ("2028-02", "2028-02", "2028-01-31 15:00:00+00:00", "2028-02-29 15:00:00+00:00"),
    ],
)
def test_a_range_of_months_starts_and_ends_at_tokyo_midnight(
    first: str, last: str, since: str, until: str
) -> None:
    start, end = check_range(first, last, date(2026, 5, 1))
    assert [str(t) for t in utc_bounds(start, end)] == [since, until]


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2026, 3, 15), "2025-04", "2026-03"),
        (date(2026, 4, 1), "2026-04", "2026-04"),
        (date(2026, 12, 31), "2026-04", "2026-12"),
        (date(2027, 1, 1), "2026-04", "2027-01"),
    ],
)
def test_without_a_range_the_report_covers_the_fiscal_year_so_far(
    today: date, first: str, last: str
) -> None:
    assert [str(m) for m in default_range(today)] == [first, last]
    assert [str(m) for m in check_range(None, None, today)] == [first, last]


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-1", "2026-03", "from: a month as YYYY-MM"),
        ("2026-13", "2026-12", "from: a month as YYYY-MM"),
        ("2026-00", "2026-12", "from: a month as YYYY-MM"),
        ("26-01", "2026-12", "from: a month as YYYY-MM"),
        ("2026-01", "2026-03-01", "to: a month as YYYY-MM"),
        ("2026-01", "２０２６-03", "to: a month as YYYY-MM"),
        ("2026-01", "20２６-03", "to: a month as YYYY-MM"),
        ("2026-01", "2026-03\n", "to: a month as YYYY-MM"),
        ("2026-04", "2026-03", "from (2026-04) is after to (2026-03)"),
        ("2023-01", "2026-01", "at most 36 months at once"),
    ],
)
def test_a_bad_range_is_refused_with_a_reason(first: str, last: str, message: str) -> None:
    with pytest.raises(AppError) as refused:
        check_range(first, last, date(2026, 5, 1))
    assert refused.value.code == "invalid_payload"
    assert refused.value.message.startswith(message)


def test_thirty_six_months_is_the_longest_range() -> None:
    first, last = check_range("2023-02", "2026-01", date(2026, 5, 1))
    assert last.minus(first) + 1 == 36


@pytest.mark.parametrize(
    ("values", "middle", "p90"),
    [
        ([], None, None),
        ([42], 42, 42),
        ([120, 180], 150, 180),
        ([3, 1, 2], 2, 3),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 6, 9),  # 5.5 rounds half up
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 6, 10),
        ([0.4, 0.5], 0, 1),  # 0.45 s rounds down, 0.5 s up
        ([2.5], 3, 3),
    ],
)
def test_median_and_ninetieth_percentile(
    values: list[float], middle: int | None, p90: int | None
) -> None:
    assert median(values) == middle
    assert percentile_90(values) == p90


def consultation(
    created_at: str = "2026-02-10T03:00:00.000Z",
    *,
    status: str = "waiting",
    desk: str = "general",
    lang: str = "ja",
    **facts: Any,
) -> Consultation:
    return Consultation(created_at=created_at, status=status, desk=desk, lang=lang, **facts)


@pytest.mark.parametrize(
    ("facts", "dimension", "keys"),
    [
        ({}, "total", ("all",)),
        ({"desk": "legal"}, "desk", ("legal",)),
        ({}, "source", ("direct",)),
        ({"partner": "library"}, "source", ("partner:library",)),
        ({"partner": "library", "campaign": "spring"}, "source", ("campaign:spring",)),
        ({"campaign": "spring"}, "source", ("campaign:spring",)),
        ({}, "topic", ("untagged",)),
        ({"topics": ("work", "family")}, "topic", ("family", "work")),
        ({"lang": "en"}, "language", ("en",)),
        ({"status": "active"}, "outcome", ("open",)),
        ({"status": "closed", "outcome": "resolved"}, "outcome", ("resolved",)),
    ],
)
def test_each_consultation_counts_under_its_keys(
    facts: dict[str, Any], dimension: str, keys: tuple[str, ...]
) -> None:
    assert keys_of(consultation(**facts), dimension) == keys


@pytest.mark.parametrize(
    ("facts", "left_waiting"),
    [
        ({"status": "closed", "closed_by": "visitor"}, True),
        ({"status": "closed", "closed_by": "system"}, True),
        ({"status": "closed", "closed_by": "visitor", "quick_exit": True}, True),
        ({"status": "closed", "closed_by": "counselor"}, False),
        ({"status": "closed", "closed_by": "visitor", "claimed_at": "2026-02-10T03:01:00Z"}, False),
        ({"status": "waiting"}, False),
    ],
)
def test_a_visitor_left_waiting_when_nobody_had_taken_the_chat(
    facts: dict[str, Any], left_waiting: bool
) -> None:
    assert consultation(**facts).left_waiting is left_waiting


def test_figures_count_replies_durations_referrals_and_survey_answers() -> None:
    items = [
        consultation(
            "2026-02-10T03:00:00.000Z",
            status="closed",
            claimed_at="2026-02-10T03:01:00.000Z",
            first_reply_at="2026-02-10T03:02:00.000Z",
            closed_at="2026-02-10T03:31:00.000Z",
            closed_by="counselor",
            outcome="referred_phone",
            surveyed=True,
            rating=4,
            helpful=True,
        ),
        # Claimed but never answered: no reply time; closed by the visitor after the claim.
        consultation(
            status="closed",
            claimed_at="2026-02-10T03:05:00.000Z",
            closed_at="2026-02-10T03:06:00.000Z",
            closed_by="visitor",
            outcome="visitor_left",
            surveyed=True,
        ),
        consultation(status="closed", closed_by="visitor", quick_exit=True, outcome="visitor_left"),
        consultation(status="active", claimed_at="2026-02-10T03:00:30.000Z"),
    ]
    figures = figures_of(items)
    assert figures.csv_values() == [
        *["4", "1", "120", "120", "1", "1", "3", "930", "1", "2"],
        *["0", "0", "0", "1", "0", "1", "0"],
    ]


def test_an_empty_month_still_has_its_total_row_and_nothing_else() -> None:
    items = [
        consultation("2026-01-31T14:59:59.000Z", partner="library", lang="en"),
        consultation("2026-01-31T15:00:00.000Z", topics=("work",)),
        consultation("2026-04-30T15:00:00.000Z"),  # May in Tokyo: outside the range
    ]
    rows = csv_rows(build_report(items, Month(2026, 1), Month(2026, 4)))
    assert rows[0] == list(CSV_COLUMNS)
    assert [r[:4] for r in rows[1:]] == [
        ["2026-01", "total", "all", "1"],
        ["2026-01", "desk", "general", "1"],
        ["2026-01", "source", "partner:library", "1"],
        ["2026-01", "topic", "untagged", "1"],
        ["2026-01", "language", "en", "1"],
        ["2026-01", "outcome", "open", "1"],
        ["2026-02", "total", "all", "1"],
        ["2026-02", "desk", "general", "1"],
        ["2026-02", "source", "direct", "1"],
        ["2026-02", "topic", "work", "1"],
        ["2026-02", "language", "ja", "1"],
        ["2026-02", "outcome", "open", "1"],
        ["2026-03", "total", "all", "0"],
        ["2026-04", "total", "all", "0"],
    ]
    assert rows[-1] == ["2026-04", "total", "all", "0", "0", "", "", *["0"] * 3, "", *["0"] * 9]


def test_the_weekday_and_hour_grid_is_in_tokyo_time() -> None:
    items = [
        consultation("2026-01-31T15:00:00.000Z"),  # Sunday 1 February, 00:00
        consultation("2026-01-31T14:30:00.000Z"),  # Saturday 31 January, 23:30
        consultation("2026-02-10T03:00:00.000Z"),  # Tuesday, 12:00
        consultation("2026-02-10T03:59:59.000Z"),  # Tuesday, 12:59
    ]
    grid = build_report(items, Month(2026, 1), Month(2026, 2)).by_hour
    assert {
        (day, hour): n for day, hours in enumerate(grid) for hour, n in enumerate(hours) if n
    } == {
        (6, 0): 1,
        (5, 23): 1,
        (1, 12): 2,
    }


def test_keys_are_ordered_direct_partners_campaigns_and_outcomes_as_the_inbox_lists_them() -> None:
    items = [
        consultation(campaign="spring", status="closed", outcome="visitor_left"),
        consultation(partner="library", status="closed", outcome="resolved"),
        consultation(status="active"),
        consultation(partner="clinic", status="closed", outcome="referred_agency"),
    ]
    report = build_report(items, Month(2026, 2), Month(2026, 2))
    assert [r.key for r in report.overall_of("source")] == [
        "direct",
        "partner:clinic",
        "partner:library",
        "campaign:spring",
    ]
    assert [r.key for r in report.overall_of("outcome")] == [
        "resolved",
        "referred_agency",
        "visitor_left",
        "open",
    ]


def test_a_key_that_could_start_a_spreadsheet_formula_is_quoted() -> None:
    rows = csv_rows(build_report([consultation(lang="=cmd")], Month(2026, 2), Month(2026, 2)))
    assert ["2026-02", "language", "'=cmd"] in [r[:3] for r in rows]


@pytest.mark.parametrize(
    ("count", "top", "level"),
    [(0, 0, 0), (0, 9, 0), (1, 9, 1), (3, 12, 1), (4, 12, 2), (9, 12, 3), (12, 12, 4)],
)
def test_the_hour_grid_shades_by_quarters_of_the_busiest_hour(
    count: int, top: int, level: int
) -> None:
    assert heat_level(count, top) == level


def test_the_month_chart_hatches_months_below_target_and_labels_years_without_overlap() -> None:
    chart = month_chart([("2025-12", 0), ("2026-01", 10), ("2026-02", 12)], target=10)
    assert [(b.label, b.year, b.count, b.met) for b in chart.bars] == [
        ("12月", "", 0, False),
        ("1月", "2026年", 10, True),
        ("2月", "", 12, True),
    ]
    assert chart.bars[0].height == 0 and chart.bars[0].y == chart.baseline
    assert chart.bars[1].y == chart.target_y  # a bar at the target reaches the line
    assert [b.year for b in month_chart([("2026-04", 1)], 10).bars] == ["2026年"]
