"""`make bench`'s arithmetic: best and median rounds, the floor, ratios, verdicts, the last line.

The figures themselves are measured by `make bench`, never by a test; this checks that the
report turns raw rounds into the budgets' ratios and verdicts correctly, that the tail
report sets checkpoints and collections beside the slowest messages, and that the bare commit
commits every row it times.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench import commit as bare_commit
from bench.report import (
    best_runs,
    budgets,
    floor_ms,
    integrity_problems,
    last_line,
    median_runs,
    ratios,
    rounds_table,
)
from bench.tails import annotate
from bench.watch import group_changes

SIZES = {"loader": {"gzip": 3514}, "chat_page": {"gzip": 19402}}


def run(
    level: str, target: str, throughput: float, p99: float, round_: int = 1, **counts: int
) -> dict[str, Any]:
    sent = counts.get("sent", 100)
    return {
        "round": round_,
        "level": level,
        "target": target,
        "offered_rate": 500 if level == "steady" else 20000,
        "throughput": throughput,
        "e2e_ms": {"p99": p99, "max": p99 * 2},
        "sent": sent,
        "acked": counts.get("acked", sent),
        "delivered": counts.get("delivered", sent),
        "ack_errors": 0,
        "duplicates": counts.get("duplicates", 0),
        "misrouted": 0,
    }


def commit(p99: float, round_: int) -> dict[str, Any]:
    return {"round": round_, "level": "steady", "target": "commit", "commit_ms": {"p99": p99}}


def idle(target: str, kib: float) -> dict[str, Any]:
    return {"target": target, "kib_per_connection": kib, "failed": 0}


ROUNDS = [
    run("saturate", "relay", 10_000, 100, 1),
    run("saturate", "relay", 12_000, 90, 2),
    run("saturate", "relay", 11_000, 90, 3),
    run("saturate", "service", 9_000, 110, 1),
    run("saturate", "service", 6_000, 95, 2),
    run("saturate", "service", 8_000, 95, 3),
    run("steady", "relay", 500, 0.60, 1),
    run("steady", "relay", 500, 0.50, 2),
    run("steady", "relay", 500, 0.70, 3),
    run("steady", "service", 500, 3.00, 1),
    run("steady", "service", 500, 2.00, 2),
    run("steady", "service", 500, 200.0, 3),  # one slow round: the median is not fooled
    commit(1.40, 1),
    commit(1.20, 2),
    commit(2.00, 3),
]
IDLE = {"relay": idle("relay", 40.0), "service": idle("service", 50.0)}


def test_best_and_median_rounds_of_each_server_and_of_the_bare_commit() -> None:
    best, median = best_runs(ROUNDS), median_runs(ROUNDS)
    assert best["saturate"]["service"]["throughput"] == 9_000
    assert median["saturate"]["service"]["throughput"] == 8_000
    assert best["steady"]["service"]["e2e_ms"]["p99"] == 2.00
    assert median["steady"]["service"]["e2e_ms"]["p99"] == 3.00
    assert best["steady"]["commit"]["commit_ms"]["p99"] == 1.20
    assert median["steady"]["commit"]["commit_ms"]["p99"] == 1.40


def test_of_two_rounds_the_median_is_the_worse() -> None:
    two = [run("steady", "relay", 500, 0.5, 1), run("steady", "relay", 500, 0.9, 2)]
    assert median_runs(two)["steady"]["relay"]["round"] == 2


def test_the_floor_is_the_relay_p99_plus_the_bare_commit_p99() -> None:
    assert floor_ms(best_runs(ROUNDS)) == pytest.approx(0.50 + 1.20)
    assert floor_ms(median_runs(ROUNDS)) == pytest.approx(0.60 + 1.40)


def test_verdicts_use_the_median_rounds_and_the_last_line() -> None:
    median = ratios(median_runs(ROUNDS), IDLE, SIZES)
    best = ratios(best_runs(ROUNDS), IDLE, SIZES)

    assert median["throughput_ratio"] == pytest.approx(8_000 / 11_000)
    assert median["floor_p99_ratio"] == pytest.approx(3.00 / 2.00)
    assert best["floor_p99_ratio"] == pytest.approx(2.00 / 1.70)
    assert median["idle_memory_ratio"] == 1.25
    verdicts = {check.name: check.passed for check in budgets(median, best)}
    assert verdicts == {
        "throughput at saturation / relay (median rounds)": True,  # 0.727 ≥ 0.7
        "p99 at the steady level / floor (median rounds)": True,  # 1.5 ≤ 1.5
        "memory per idle connection / relay": False,  # 1.25 > 1.2
        "loader, gzip": True,
        "chat page JS, gzip": True,
    }
    assert last_line(median) == (
        "bench: throughput_ratio=0.73 floor_p99_ratio=1.50 idle_memory_ratio=1.25"
        " loader_gz_bytes=3514 chat_js_gz_bytes=19402"
    )


def test_a_budget_line_shows_the_best_rounds_beside_the_verdict() -> None:
    median = ratios(median_runs(ROUNDS), IDLE, SIZES)
    line = budgets(median, ratios(best_runs(ROUNDS), IDLE, SIZES))[1].line()
    assert line.startswith("PASS  p99 at the steady level / floor (median rounds): 1.5×")
    assert line.endswith("best rounds 1.18×")


def test_without_the_bare_commit_there_is_no_floor_and_the_p99_budget_misses() -> None:
    median = ratios(median_runs(ROUNDS[:12]), IDLE, SIZES)
    assert "floor_p99_ratio=nan" in last_line(median)
    assert not next(c for c in budgets(median) if "floor" in c.name).passed


def test_the_rounds_table_shows_every_round_then_best_and_median() -> None:
    text = rounds_table(ROUNDS)
    service = next(line for line in text.splitlines() if line.startswith("steady service e2e p99"))
    assert service.split()[-5:] == ["3.00", "2.00", "200.00", "2.00", "3.00"]
    assert "floor p99 ms (relay + commit)" in text


def test_a_lost_or_doubled_message_is_an_integrity_problem_not_a_figure() -> None:
    rounds = [
        run("steady", "service", 500, 1.0, sent=100, delivered=99),
        run("steady", "relay", 500, 1.0, duplicates=2),
        run("light", "service", 400, 1.0),
    ]
    problems = integrity_problems(rounds, [])
    assert len(problems) == 2
    assert "delivered 99" in problems[0] and "2 dup" in problems[1]


def test_file_changes_close_together_are_one_checkpoint() -> None:
    events = group_changes([10.0, 10.01, 10.03, 11.0])
    assert [e["at"] for e in events] == [10.0, 11.0]
    assert events[0]["ms"] == pytest.approx(30.0)


def test_slowest_messages_are_marked_with_what_overlapped_them() -> None:
    slow_run = {
        **run("steady", "service", 500, 50.0),
        "window": {"from": 100.0, "to": 107.0},
        "slowest": [{"ms": 40.0, "at": 102.0}, {"ms": 30.0, "at": 105.0}],
    }
    events = {
        "checkpoints": [{"at": 102.01, "ms": 0.0}],
        "gc": [{"gen": 2, "at": 104.99, "ms": 25.0}, {"gen": 0, "at": 90.0, "ms": 3.0}],
        "disk": [{"at": 101.9, "ms": 150.0}],  # the first message was sent during it
    }
    found = annotate(slow_run, events)
    assert [m["overlaps"] for m in found["slowest"]] == [
        {"checkpoints": 0.0, "disk": 150.0},
        {"gc": 25.0},
    ]
    assert found["count"] == {"checkpoints": 1, "gc": 1, "disk": 1}
    assert (found["gc_full"], found["max_ms"]["gc"]) == (1, 25.0)


def test_the_bare_commit_commits_every_row_it_was_due_and_times_each(tmp_path: Path) -> None:
    result = bare_commit.run(tmp_path / "bare.sqlite3", rate=1000, seconds=0.1, warmup=0)
    with sqlite3.connect(tmp_path / "bare.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM row").fetchone()[0] == 100
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert result["commits"] == 100
    assert result["commit_ms"]["n"] == 100  # one latency per row, batched or not
    assert result["transaction_ms"]["n"] + result["batched_rows"] == 100
