"""`make bench`'s arithmetic: best rounds, ratios, budgets and the line scripts read.

The figures themselves are measured by `make bench`, never by a test; this checks that the
report turns raw rounds into the issue's ratios and verdicts correctly.
"""

from __future__ import annotations

from typing import Any

from bench.report import best_runs, budgets, integrity_problems, last_line

SIZES = {"loader": {"gzip": 3514}, "chat_page": {"gzip": 19402}}


def run(level: str, target: str, throughput: float, p99: float, **counts: int) -> dict[str, Any]:
    sent = counts.get("sent", 100)
    return {
        "round": 1,
        "level": level,
        "target": target,
        "offered_rate": 500 if level == "steady" else 20000,
        "throughput": throughput,
        "e2e_ms": {"p99": p99},
        "sent": sent,
        "acked": counts.get("acked", sent),
        "delivered": counts.get("delivered", sent),
        "ack_errors": 0,
        "duplicates": counts.get("duplicates", 0),
        "misrouted": 0,
    }


def idle(target: str, kib: float) -> dict[str, Any]:
    return {"target": target, "kib_per_connection": kib, "failed": 0}


ROUNDS = [
    run("saturate", "relay", 10_000, 100),
    run("saturate", "relay", 12_000, 90),
    run("saturate", "service", 9_000, 110),
    run("saturate", "service", 8_000, 95),
    run("steady", "relay", 500, 0.60),
    run("steady", "relay", 500, 0.50),
    run("steady", "service", 500, 1.20),
    run("steady", "service", 500, 0.90),
]


def test_the_best_round_is_the_fastest_when_saturated_and_the_lowest_p99_otherwise() -> None:
    best = best_runs(ROUNDS)
    assert best["saturate"]["relay"]["throughput"] == 12_000
    assert best["saturate"]["service"]["throughput"] == 9_000
    assert best["steady"]["relay"]["e2e_ms"]["p99"] == 0.50
    assert best["steady"]["service"]["e2e_ms"]["p99"] == 0.90


def test_ratios_verdicts_and_the_last_line() -> None:
    idle_runs = {"relay": idle("relay", 40.0), "service": idle("service", 50.0)}
    ratios, checks = budgets(best_runs(ROUNDS), idle_runs, SIZES)

    assert ratios["throughput_ratio"] == 0.75
    assert ratios["p99_ratio"] == 1.8
    assert ratios["idle_memory_ratio"] == 1.25
    verdicts = {check.name: check.passed for check in checks}
    assert verdicts == {
        "throughput at saturation / relay": False,  # 0.75 < 0.8
        "p99 at 500 msgs/s / relay": True,  # 1.8 ≤ 2
        "memory per idle connection / relay": False,  # 1.25 > 1.2
        "loader, gzip": True,
        "chat page JS, gzip": True,
    }
    assert last_line(ratios) == (
        "bench: throughput_ratio=0.75 p99_ratio=1.80 idle_memory_ratio=1.25"
        " loader_gz_bytes=3514 chat_js_gz_bytes=19402"
    )


def test_a_missing_level_reads_nan_and_misses() -> None:
    ratios, checks = budgets(best_runs(ROUNDS[:4]), {}, SIZES)
    assert "p99_ratio=nan" in last_line(ratios)
    assert not next(c for c in checks if c.name.startswith("p99")).passed


def test_a_lost_or_doubled_message_is_an_integrity_problem_not_a_figure() -> None:
    rounds = [
        run("steady", "service", 500, 1.0, sent=100, delivered=99),
        run("steady", "relay", 500, 1.0, duplicates=2),
        run("light", "service", 400, 1.0),
    ]
    problems = integrity_problems(rounds, [])
    assert len(problems) == 2
    assert "delivered 99" in problems[0] and "2 dup" in problems[1]
