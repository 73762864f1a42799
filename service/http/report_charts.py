"""The geometry of the report's charts, drawn on the server as inline SVG.

No script and no ``style=`` attribute (the CSP allows neither): the template places these
numbers in ``x``/``y``/``width``/``height`` and the look comes from classes in
``static/reports.css``. Nothing depends on colour alone: a month below the target is hatched,
the target is a dashed line with its own label, and every bar carries its number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.jst import MONTHS_EN

# In SVG user units, drawn one unit a CSS pixel (smaller only when the page is narrower), so
# the text keeps its size whether the range has one month or thirty-six.
SLOT = 40
BAR = 28
LEFT = 8
RIGHT = 72
"""Room for the target's label, right of the last bar."""
TOP = 24
PLOT_HEIGHT = 180
BOTTOM = 40


@dataclass(frozen=True, slots=True)
class MonthBar:
    month: str
    label: str
    """The month, e.g. ``4月`` or ``Apr``."""
    year: str
    """The year (``2026年``, ``2026``) under January and under the first month; empty elsewhere."""
    count: int
    met: bool
    x: float
    y: float
    height: float
    centre: float


@dataclass(frozen=True, slots=True)
class MonthChart:
    width: int
    height: int
    baseline: float
    target: int
    target_y: float
    bars: tuple[MonthBar, ...]
    bar_width: int = BAR
    plot_right: int = 0
    """Where the target line ends and its label starts."""


def month_chart(counts: Sequence[tuple[str, int]], target: int, lang: str = "ja") -> MonthChart:
    """Bars of consultations per month (``YYYY-MM``) against the monthly target, labelled in
    ``lang``."""
    top = max([target, *(n for _, n in counts), 1])
    scale = PLOT_HEIGHT / (top * 1.1)
    baseline = TOP + PLOT_HEIGHT
    english = lang == "en"
    bars = []
    for i, (month, count) in enumerate(counts):
        x = LEFT + i * SLOT + (SLOT - BAR) / 2
        height = round(count * scale, 1)
        year, number = month.split("-")
        bars.append(
            MonthBar(
                month=month,
                label=MONTHS_EN[int(number) - 1] if english else f"{int(number)}月",
                year=(year if english else f"{year}年")
                if _shows_year(i, number, len(counts))
                else "",
                count=count,
                met=count >= target,
                x=x,
                y=round(baseline - height, 1),
                height=height,
                centre=x + BAR / 2,
            )
        )
    plot_right = LEFT + SLOT * max(len(counts), 1)
    return MonthChart(
        width=plot_right + RIGHT,
        height=TOP + PLOT_HEIGHT + BOTTOM,
        baseline=baseline,
        target=target,
        target_y=round(baseline - target * scale, 1),
        bars=tuple(bars),
        plot_right=plot_right,
    )


def _shows_year(index: int, month: str, months: int) -> bool:
    """Under each January, and under the first month unless a January follows right after
    (the two labels would overlap)."""
    if month == "01":
        return True
    return index == 0 and (month != "12" or months == 1)


def share_width(count: int, total: int) -> float:
    """The length of a share bar, 0 to 100 units."""
    return 0.0 if total <= 0 else round(100 * count / total, 1)


def heat_level(count: int, top: int) -> int:
    """0 for none, then 1 to 4 by quarters of the busiest hour; printed with its number."""
    if count <= 0 or top <= 0:
        return 0
    return min(4, math.ceil(4 * count / top))
