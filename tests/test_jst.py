"""Staff see Japan time, as people read it, whatever the machine's zone.

``CASES`` is shared with the browser test of the inbox's own formatter
(tests/browser/test_staff_pages.py), which must give the same text for the same instants.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from service.domain.jst import full, human, month_text, parse

# Each case: the stored instant, now, the page's language and what is shown.
CASES: list[tuple[str, str, str, str]] = [
    # 12:00:51Z is 21:00 in Tokyo, the same day: the clock only.
    ("2026-12-03T12:00:51.868Z", "2026-12-03T14:00:00.000Z", "ja", "21:00"),
    ("2026-12-03T12:00:51.868Z", "2026-12-03T14:00:00.000Z", "en", "21:00"),
    # A day later in Tokyo, though the same UTC date.
    ("2026-12-03T12:00:51.868Z", "2026-12-03T15:00:00.000Z", "ja", "12月3日（木）21:00"),
    ("2026-12-03T12:00:51.868Z", "2026-12-03T15:00:00.000Z", "en", "Thu 3 Dec 21:00"),
    # 15:00Z is already the next day in Tokyo: 00:05 on Friday.
    ("2026-12-03T15:05:00Z", "2026-12-20T00:00:00Z", "ja", "12月4日（金）00:05"),
    ("2026-12-03T15:05:00Z", "2026-12-20T00:00:00Z", "en", "Fri 4 Dec 00:05"),
    # New Year comes nine hours early: 31 Dec 2025 15:00Z is 2026 in Tokyo.
    ("2025-12-31T15:00:00Z", "2026-06-01T00:00:00Z", "ja", "1月1日（木）00:00"),
    ("2025-12-31T14:59:59.999Z", "2026-06-01T00:00:00Z", "ja", "2025年12月31日（水）23:59"),
    ("2025-12-31T14:59:59.999Z", "2026-06-01T00:00:00Z", "en", "Wed 31 Dec 2025 23:59"),
    # Seconds are cut, never rounded up.
    ("2026-04-05T23:59:59Z", "2026-04-30T00:00:00Z", "ja", "4月6日（月）08:59"),
    ("2026-04-05T23:59:59Z", "2026-04-30T00:00:00Z", "en", "Mon 6 Apr 08:59"),
    # A later year too.
    ("2027-01-10T01:00:00Z", "2026-12-31T00:00:00Z", "ja", "2027年1月10日（日）10:00"),
]


@pytest.mark.parametrize(("instant", "now", "lang", "shown"), CASES)
def test_human(instant: str, now: str, lang: str, shown: str) -> None:
    moment = parse(now)
    assert moment is not None
    assert human(instant, moment, lang) == shown


@pytest.fixture
def far_zone() -> Iterator[None]:
    """The machine's zone set to one that differs from Tokyo on every date."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.usefixtures("far_zone")
def test_machine_zone_does_not_matter() -> None:
    now = datetime(2026, 12, 3, 14, tzinfo=UTC)
    assert human("2026-12-03T12:00:51.868Z", now) == "21:00"
    # A naive time is UTC, never the machine's local time.
    assert human("2026-12-03T12:00:51", now) == "21:00"
    assert full("2026-12-03T12:00:51.868Z") == "2026-12-03T21:00:51+09:00"


def test_full_and_unreadable() -> None:
    assert full("2026-01-31T15:00:00Z") == "2026-02-01T00:00:00+09:00"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for bad in ("", None, "yesterday"):
        assert human(bad, now) == ""
        assert full(bad) == ""


def test_month_text() -> None:
    assert month_text(2026, 4) == "2026年4月"
    assert month_text(2026, 4, "en") == "Apr 2026"
