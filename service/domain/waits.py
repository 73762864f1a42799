"""How long a new visitor may expect to wait, told honestly.

The estimate comes from the desk's recent first replies: how long each of its last claimed
conversations waited from being started to being claimed. Below ``MIN_SAMPLES`` such waits in
the window there is too little to go on, and the answer is "unknown" rather than a guess. Above
it, the middle half of the waits (first to third quartile), widened to round minutes, so that
the visitor reads a range, never a false precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(days=14)
"""Waits older than this say little about today's desk."""
SAMPLES = 40
"""At most this many of the newest claimed conversations count."""
MIN_SAMPLES = 5


@dataclass(frozen=True)
class ExpectedWait:
    """A range in whole minutes; ``low`` 0 means "up to ``high`` minutes"."""

    low: int
    high: int

    def wire(self) -> dict[str, int]:
        return {"min": self.low, "max": self.high}


def waited_seconds(created_at: str, claimed_at: str) -> float:
    """From the chat's start to its claim, in seconds (never negative)."""
    waited = datetime.fromisoformat(claimed_at) - datetime.fromisoformat(created_at)
    return max(waited.total_seconds(), 0.0)


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks of an ascending sequence."""
    at = (len(ordered) - 1) * q
    below = math.floor(at)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (at - below)


def _step(minutes: float) -> int:
    """Round minutes: 5 under half an hour, 10 under two hours, 30 beyond."""
    if minutes < 30:
        return 5
    return 10 if minutes < 120 else 30


def expected_wait(waits: Sequence[float]) -> ExpectedWait | None:
    """The expected wait from recent waits in seconds, or None when there are too few."""
    if len(waits) < MIN_SAMPLES:
        return None
    ordered = sorted(waits)
    low = _quantile(ordered, 0.25) / 60
    high = _quantile(ordered, 0.75) / 60
    low_step, high_step = _step(low), _step(high)
    rounded_low = int(low // low_step) * low_step
    rounded_high = max(math.ceil(high / high_step) * high_step, rounded_low + low_step)
    return ExpectedWait(rounded_low, rounded_high)
