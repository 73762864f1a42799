"""From raw runs to the budgets: best and median rounds, the floor, ratios, tables, one line.

Each server's figure for a level is reported from two rounds: its best (the highest throughput
at the saturating level, the lowest p99 elsewhere; for the bare commit, the lowest commit p99)
and its median. The best round is the closest to what the code costs when nothing else runs,
but it hides a tail that the code itself causes now and then; the verdicts therefore use the
median round (of an even count of rounds, the worse of the middle two). Every round is kept in
the JSON and shown in the rounds table.

The p99 budget is set against a floor rather than the relay alone: an acked message is durable,
so the least it can cost is the relay's path plus one durable commit. floor = relay p99 + bare
commit p99 (bench/commit.py), both at the steady level and measured in the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Run = dict[str, Any]
SATURATE = "saturate"
STEADY = "steady"
COMMIT = "commit"
COMMIT_MS = "commit_ms"
# The same service on PostgreSQL, beside the SQLite one (``--compare-postgres``); the budgets
# stay the SQLite service's.
PG_TARGET = "service-pg"
TARGETS = ("relay", "service", PG_TARGET)
# The budgets: saturated throughput ≥ 0.7 × the relay's; p99 at the steady level ≤ 1.5 × the
# floor; memory per idle connection ≤ 1.2 × the relay's; the widget's scripts in gzip bytes.
THROUGHPUT_MIN = 0.7
FLOOR_P99_MAX = 1.5
IDLE_MEMORY_MAX = 1.2
LOADER_GZ_MAX = 4000
CHAT_JS_GZ_MAX = 25000


@dataclass(frozen=True)
class Budget:
    name: str
    value: float | None
    limit: float
    at_most: bool  # True: value ≤ limit passes; False: value ≥ limit passes
    unit: str = "×"
    best: float | None = None  # the same figure from the best rounds, shown beside

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        sign = "≤" if self.at_most else "≥"
        verdict = "PASS" if self.passed else "MISS"
        text = f"{verdict}  {self.name}: {_short(self.value)}{self.unit}"
        text += f" ({sign} {self.limit:,g}{self.unit})"
        if self.best is not None:
            text += f"; best rounds {_short(self.best)}{self.unit}"
        return text


def _short(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def key_figure(run: Run) -> float:
    """What ranks a run, lower is better: its p99 (the bare commit's, or end to end), or at
    the saturating level its throughput, negated."""
    if COMMIT_MS in run:
        value = run[COMMIT_MS]["p99"]
    elif run["level"] == SATURATE:
        value = None if run["throughput"] is None else -run["throughput"]
    else:
        value = run["e2e_ms"]["p99"]
    return float("inf") if value is None else float(value)


def ranked(runs: Sequence[Run]) -> dict[str, dict[str, list[Run]]]:
    """level → target → its rounds, best first."""
    found: dict[str, dict[str, list[Run]]] = {}
    for run in runs:
        found.setdefault(run["level"], {}).setdefault(run["target"], []).append(run)
    for targets in found.values():
        for rounds in targets.values():
            rounds.sort(key=key_figure)
    return found


def best_runs(runs: Sequence[Run]) -> dict[str, dict[str, Run]]:
    """level → target → the best round of that server (or of the bare commit) at that level."""
    return {lv: {t: rs[0] for t, rs in ts.items()} for lv, ts in ranked(runs).items()}


def median_runs(runs: Sequence[Run]) -> dict[str, dict[str, Run]]:
    """level → target → the median round; of an even count, the worse of the middle two."""
    return {lv: {t: rs[len(rs) // 2] for t, rs in ts.items()} for lv, ts in ranked(runs).items()}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def integrity_problems(chat: Sequence[Run], idle: Sequence[Run]) -> list[str]:
    """Anything but 'every message sent was acked and delivered exactly once, to its pair'."""
    problems = []
    for run in chat:
        where = f"round {run['round']} {run['level']} {run['target']}"
        if run["ack_errors"]:
            problems.append(f"{where}: refused acks {run['ack_errors']}")
        if run["delivered"] != run["sent"] or run["acked"] != run["sent"]:
            problems.append(
                f"{where}: sent {run['sent']}, acked {run['acked']}, delivered {run['delivered']}"
            )
        if run["duplicates"] or run["misrouted"]:
            problems.append(f"{where}: {run['duplicates']} dup, {run['misrouted']} misrouted")
    problems += [
        f"idle {r['target']}: {r['failed']} connects failed ({r['first_error']})"
        for r in idle
        if r["failed"]
    ]
    return problems


def floor_ms(runs: dict[str, dict[str, Run]]) -> float | None:
    """The relay's e2e p99 plus the bare commit's p99, at the steady level."""
    steady = runs.get(STEADY, {})
    relay = _get(steady, "relay", lambda r: r["e2e_ms"]["p99"])
    commit = _get(steady, COMMIT, lambda r: r[COMMIT_MS]["p99"])
    return None if relay is None or commit is None else relay + commit


def ratios(
    runs: dict[str, dict[str, Run]], idle: dict[str, Run], sizes: dict[str, Any]
) -> dict[str, Any]:
    """The last line's figures, from the rounds chosen (median for the verdicts)."""
    sat, steady = runs.get(SATURATE, {}), runs.get(STEADY, {})
    return {
        "throughput_ratio": ratio(
            _get(sat, "service", lambda r: r["throughput"]),
            _get(sat, "relay", lambda r: r["throughput"]),
        ),
        "floor_p99_ratio": ratio(
            _get(steady, "service", lambda r: r["e2e_ms"]["p99"]), floor_ms(runs)
        ),
        "idle_memory_ratio": ratio(
            _get(idle, "service", lambda r: r["kib_per_connection"]),
            _get(idle, "relay", lambda r: r["kib_per_connection"]),
        ),
        "loader_gz_bytes": sizes["loader"]["gzip"] if sizes["loader"] else None,
        "chat_js_gz_bytes": sizes["chat_page"]["gzip"] if sizes["chat_page"] else None,
    }


def budgets(median: dict[str, Any], best: dict[str, Any] | None = None) -> list[Budget]:
    """Verdicts on the median rounds' ratios; the best rounds' are shown beside them."""
    best = best or {}
    return [
        Budget(
            "throughput at saturation / relay (median rounds)",
            median["throughput_ratio"],
            THROUGHPUT_MIN,
            False,
            best=best.get("throughput_ratio"),
        ),
        Budget(
            "p99 at the steady level / floor (median rounds)",
            median["floor_p99_ratio"],
            FLOOR_P99_MAX,
            True,
            best=best.get("floor_p99_ratio"),
        ),
        Budget(
            "memory per idle connection / relay",
            median["idle_memory_ratio"],
            IDLE_MEMORY_MAX,
            True,
        ),
        Budget("loader, gzip", median["loader_gz_bytes"], LOADER_GZ_MAX, True, " B"),
        Budget("chat page JS, gzip", median["chat_js_gz_bytes"], CHAT_JS_GZ_MAX, True, " B"),
    ]


def _get(runs: dict[str, Run], target: str, pick: Callable[[Run], Any]) -> float | None:
    run = runs.get(target)
    return None if run is None else pick(run)


def last_line(ratios: dict[str, Any]) -> str:
    def fmt(value: float | None, digits: int) -> str:
        return "nan" if value is None else f"{value:.{digits}f}"

    return (
        f"bench: throughput_ratio={fmt(ratios['throughput_ratio'], 2)}"
        f" floor_p99_ratio={fmt(ratios['floor_p99_ratio'], 2)}"
        f" idle_memory_ratio={fmt(ratios['idle_memory_ratio'], 2)}"
        f" loader_gz_bytes={fmt(ratios['loader_gz_bytes'], 0)}"
        f" chat_js_gz_bytes={fmt(ratios['chat_js_gz_bytes'], 0)}"
    )


# -- text tables ----------------------------------------------------------------------------


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def chat_table(chosen: dict[str, dict[str, Run]], which: str = "median") -> str:
    columns = [(lv, t) for lv in chosen for t in TARGETS if t in chosen[lv]]
    runs = [chosen[level][target] for level, target in columns]
    header = [f"{which} round of each"] + [f"{level} {target}" for level, target in columns]

    def row(label: str, pick: Callable[[Run], str]) -> list[str]:
        return [label] + [pick(r) for r in runs]

    return table(
        [
            header,
            row("offered msgs/s", lambda r: f"{r['offered_rate']:,}"),
            row("sent (skipped)", lambda r: f"{r['sent']:,} ({r['skipped']:,})"),
            row("delivered/sent", lambda r: _num(r["delivered_ratio"], 4)),
            row("msgs/s delivered", lambda r: _num(r["throughput"], 0)),
            row("e2e p50 ms", lambda r: _num(r["e2e_ms"]["p50"])),
            row("e2e p95 ms", lambda r: _num(r["e2e_ms"]["p95"])),
            row("e2e p99 ms", lambda r: _num(r["e2e_ms"]["p99"])),
            row("e2e max ms", lambda r: _num(r["e2e_ms"]["max"])),
            row("  v→c p99 ms", lambda r: _num(r["e2e_visitor_to_counselor_ms"]["p99"])),
            row("  c→v p99 ms", lambda r: _num(r["e2e_counselor_to_visitor_ms"]["p99"])),
            row("ack p50 ms", lambda r: _num(r["ack_ms"]["p50"])),
            row("ack p99 ms", lambda r: _num(r["ack_ms"]["p99"])),
            row("server CPU ms/msg", lambda r: _num(r["server_cpu_ms_per_msg"], 3)),
            row("server cores busy", lambda r: _num(r["server_cores"])),
            row("  event loop thread", lambda r: _num(r["server_main_thread_cores"])),
            row("  other threads", lambda r: _num(r["server_other_threads_cores"])),
            row("  writer process", lambda r: _num(r.get("server_child_processes_cores"))),
            row("server RSS MiB", lambda r: _num(r["server_rss_kib"] / 1024, 0)),
            row("generator cores", lambda r: _num(r["generator_cores"])),
            row("generator loop lag p99 ms", lambda r: _num(r["generator_loop_lag_p99_ms"])),
            row("machine cores busy (all)", lambda r: _num(r.get("machine_cores_busy"))),
            row("machine cores stolen", lambda r: _num(r.get("machine_cores_stolen"))),
        ]
    )


def rounds_table(runs: Sequence[Run]) -> str:
    """Each level's key figure in every round, then the best and the median round's."""
    count = max((r["round"] for r in runs), default=0)
    rows = [["per round"] + [f"round {n}" for n in range(1, count + 1)] + ["best", "median"]]
    for level, targets in ranked(runs).items():
        for target in (t for t in (*TARGETS, COMMIT) if t in targets):
            rows += _round_rows(level, target, targets[target], count)
    best, median = floor_ms(best_runs(runs)), floor_ms(median_runs(runs))
    if best is not None:
        rows.append(["floor p99 ms (relay + commit)", *([""] * count), _num(best), _num(median)])
    return table(rows)


def _round_rows(level: str, target: str, rounds: list[Run], count: int) -> list[list[str]]:
    """One row of a target's key figure (best first in ``rounds``); the service's max below."""
    label, pick = _round_figure(level, target)
    digits = 0 if level == SATURATE and target != COMMIT else 2
    by_round = [next((r for r in rounds if r["round"] == n), None) for n in range(1, count + 1)]
    picked = [*by_round, rounds[0], rounds[len(rounds) // 2]]
    rows = [
        [f"{level} {target} {label}"]
        + ["-" if r is None else _num(pick(r), digits) for r in picked]
    ]
    if target == "service" and level != SATURATE:
        maxima = ["-" if r is None else _num(r["e2e_ms"]["max"]) for r in by_round]
        rows.append([f"{level} service e2e max ms", *maxima, "", ""])
    return rows


def _round_figure(level: str, target: str) -> tuple[str, Callable[[Run], float | None]]:
    if target == COMMIT:
        return "p99 ms", lambda r: r[COMMIT_MS]["p99"]
    if level == SATURATE:
        return "msgs/s", lambda r: r["throughput"]
    return "e2e p99 ms", lambda r: r["e2e_ms"]["p99"]


def idle_table(idle: dict[str, Run]) -> str:
    runs = [idle[t] for t in TARGETS if t in idle]
    return table(
        [
            ["idle visitor connections"] + [r["target"] for r in runs],
            ["connections (failed)"] + [f"{r['connections']:,} ({r['failed']})" for r in runs],
            ["connect p99 ms"] + [_num(r["connect_ms"]["p99"]) for r in runs],
            ["RSS before MiB"] + [_num(r["rss_before_kib"] / 1024, 1) for r in runs],
            ["RSS after MiB"] + [_num(r["rss_after_kib"] / 1024, 1) for r in runs],
            ["KiB per connection"] + [_num(r["kib_per_connection"], 1) for r in runs],
        ]
    )


def postgres_ratios(runs: dict[str, dict[str, Run]], idle: dict[str, Run]) -> dict[str, Any]:
    """The PostgreSQL service's figures over the SQLite service's, from the rounds chosen."""
    sat, steady = runs.get(SATURATE, {}), runs.get(STEADY, {})

    def over(level: dict[str, Run], pick: Callable[[Run], Any]) -> float | None:
        return ratio(_get(level, PG_TARGET, pick), _get(level, "service", pick))

    return {
        "throughput": over(sat, lambda r: r["throughput"]),
        "steady_p99": over(steady, lambda r: r["e2e_ms"]["p99"]),
        "steady_cpu_per_msg": over(steady, lambda r: r["server_cpu_ms_per_msg"]),
        "idle_memory": over(idle, lambda r: r["kib_per_connection"]),
    }


def postgres_table(runs: dict[str, dict[str, Run]], idle: dict[str, Run]) -> str:
    """One node on SQLite against one node on PostgreSQL: the figures that differ."""
    rows = [["one node: SQLite vs PostgreSQL (median)", "service", PG_TARGET, "pg / sqlite"]]
    figures: list[tuple[str, dict[str, Run], Callable[[Run], Any], int]] = []
    for level in runs:
        if level == SATURATE:
            figures.append((f"{level} msgs/s", runs[level], lambda r: r["throughput"], 0))
        else:
            figures.append((f"{level} e2e p99 ms", runs[level], lambda r: r["e2e_ms"]["p99"], 2))
            figures.append((f"{level} ack p50 ms", runs[level], lambda r: r["ack_ms"]["p50"], 2))
        figures.append(
            (f"{level} server CPU ms/msg", runs[level], lambda r: r["server_cpu_ms_per_msg"], 3)
        )
    figures.append(("idle KiB per connection", idle, lambda r: r["kib_per_connection"], 1))
    for label, level_runs, pick, digits in figures:
        sqlite, pg = _get(level_runs, "service", pick), _get(level_runs, PG_TARGET, pick)
        rows.append([label, _num(sqlite, digits), _num(pg, digits), _num(ratio(pg, sqlite))])
    return table(rows)


def sizes_table(sizes: dict[str, Any]) -> str:
    rows = [["widget JS (bytes)", "min", "gzip -9", "brotli", "gzip budget"]]
    for key, label, limit in (("loader", "loader", "4,000"), ("chat_page", "chat page", "25,000")):
        s = sizes[key]
        files = ", ".join(sizes[f"{key}_files"]) or "missing"
        if s is None:
            rows.append([f"{label} ({files})", "-", "-", "-", limit])
        else:
            rows.append(
                [f"{label} ({files})", f"{s['min']:,}", f"{s['gzip']:,}", f"{s['brotli']:,}", limit]
            )
    return table(rows)
