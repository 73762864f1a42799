"""From raw runs to the figures of the issue: best rounds, ratios, budgets, a table and one line.

Each server's figure for a level comes from its best round (the highest throughput at the
saturating level, the lowest p99 elsewhere): noise on a shared machine only ever makes a run
slower, so the best round is the closest to what the code itself costs. Every round is kept
in the JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Run = dict[str, Any]
SATURATE = "saturate"
STEADY = "steady"
TARGETS = ("relay", "service")


@dataclass(frozen=True)
class Budget:
    name: str
    value: float | None
    limit: float
    at_most: bool  # True: value ≤ limit passes; False: value ≥ limit passes
    unit: str = "×"

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        sign = "≤" if self.at_most else "≥"
        value = "n/a" if self.value is None else f"{self.value:,.2f}".rstrip("0").rstrip(".")
        verdict = "PASS" if self.passed else "MISS"
        return f"{verdict}  {self.name}: {value}{self.unit} ({sign} {self.limit:,g}{self.unit})"


def best_runs(chat: Sequence[Run]) -> dict[str, dict[str, Run]]:
    """level → target → the best round of that server at that level."""
    best: dict[str, dict[str, Run]] = {}
    for run in chat:
        current = best.setdefault(run["level"], {}).get(run["target"])
        if current is None or _better(run, current):
            best[run["level"]][run["target"]] = run
    return best


def _better(run: Run, than: Run) -> bool:
    if run["level"] == SATURATE:
        return bool((run["throughput"] or 0) > (than["throughput"] or 0))
    return bool(_p99(run) < _p99(than))


def _p99(run: Run) -> float:
    p99 = run["e2e_ms"]["p99"]
    return float("inf") if p99 is None else float(p99)


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


def budgets(
    best: dict[str, dict[str, Run]], idle: dict[str, Run], sizes: dict[str, Any]
) -> tuple[dict[str, Any], list[Budget]]:
    sat, steady = best.get(SATURATE, {}), best.get(STEADY, {})
    ratios = {
        "throughput_ratio": ratio(
            _get(sat, "service", lambda r: r["throughput"]),
            _get(sat, "relay", lambda r: r["throughput"]),
        ),
        "p99_ratio": ratio(
            _get(steady, "service", lambda r: r["e2e_ms"]["p99"]),
            _get(steady, "relay", lambda r: r["e2e_ms"]["p99"]),
        ),
        "idle_memory_ratio": ratio(
            _get(idle, "service", lambda r: r["kib_per_connection"]),
            _get(idle, "relay", lambda r: r["kib_per_connection"]),
        ),
        "loader_gz_bytes": sizes["loader"]["gzip"] if sizes["loader"] else None,
        "chat_js_gz_bytes": sizes["chat_page"]["gzip"] if sizes["chat_page"] else None,
    }
    steady_rate = steady.get("service", {}).get("offered_rate", "?")
    checks = [
        Budget("throughput at saturation / relay", ratios["throughput_ratio"], 0.8, False),
        Budget(f"p99 at {steady_rate} msgs/s / relay", ratios["p99_ratio"], 2.0, True),
        Budget("memory per idle connection / relay", ratios["idle_memory_ratio"], 1.2, True),
        Budget("loader, gzip", ratios["loader_gz_bytes"], 4000, True, " B"),
        Budget("chat page JS, gzip", ratios["chat_js_gz_bytes"], 25000, True, " B"),
    ]
    return ratios, checks


def _get(runs: dict[str, Run], target: str, pick: Callable[[Run], Any]) -> float | None:
    run = runs.get(target)
    return None if run is None else pick(run)


def last_line(ratios: dict[str, Any]) -> str:
    def fmt(value: float | None, digits: int) -> str:
        return "nan" if value is None else f"{value:.{digits}f}"

    return (
        f"bench: throughput_ratio={fmt(ratios['throughput_ratio'], 2)}"
        f" p99_ratio={fmt(ratios['p99_ratio'], 2)}"
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


def chat_table(best: dict[str, dict[str, Run]]) -> str:
    columns = [(level, target) for level in best for target in TARGETS if target in best[level]]
    runs = [best[level][target] for level, target in columns]
    header = ["best round of each"] + [f"{level} {target}" for level, target in columns]

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
        ]
    )


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
