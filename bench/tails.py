"""Where a slow round's tail comes from: the slowest messages beside what ran at that moment.

The generator lists each run's slowest messages with their send times; bench/watch.py saw the
service's checkpoints (and, with ``--trace``, its writer's disk waits and both processes' waits
for a core), and bench/trace/ logged the garbage collections of both servers. Each slow message
is marked with what overlapped it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.report import Run, table

# An event this close before a message's send still counts as its cause (the message queued
# behind it).
LEAD = 0.005
# Slowest messages shown per run in the table (the JSON keeps the generator's ten).
SHOWN = 4
# What overlapped a slow message, as marked in the table.
MARKS = {"checkpoints": "C", "gc": "G", "disk": "D", "cpu": "W"}

Events = Mapping[str, Sequence[dict[str, Any]]]


def read_gc_log(path: Path | None, pids: set[int]) -> list[dict[str, Any]]:
    """The collections of these processes (the CLI runs before the bench log theirs too)."""
    if path is None or not path.exists():
        return []
    found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [g for g in found if g["pid"] in pids]


def during(events: Sequence[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Events that overlap [start - LEAD, end] (Unix seconds)."""
    return [e for e in events if e["at"] < end and e["at"] + e["ms"] / 1000 >= start - LEAD]


def annotate(run: Run, events: Events) -> dict[str, Any]:
    """One run's tail: its slowest messages, each with the ms of every kind of event that
    overlapped it, and the same kinds summed over the measured window."""
    window = run.get("window") or {}
    start, end = window.get("from", 0.0), window.get("to", 0.0)
    slow = []
    for message in run.get("slowest", []):
        at, until = message["at"], message["at"] + message["ms"] / 1000
        overlaps = {kind: during(found, at, until) for kind, found in events.items()}
        slow.append({**message, "overlaps": {k: _ms(o) for k, o in overlaps.items() if o}})
    in_window = {kind: during(found, start, end) for kind, found in events.items()}
    return {
        "round": run["round"],
        "level": run["level"],
        "target": run["target"],
        "from": start,
        "p99": run["e2e_ms"]["p99"],
        "max": run["e2e_ms"]["max"],
        "machine_cores_busy": run.get("machine_cores_busy"),
        "slowest": slow,
        "count": {kind: len(found) for kind, found in in_window.items()},
        "max_ms": {kind: _max(found) for kind, found in in_window.items()},
        "gc_full": sum(1 for g in in_window.get("gc", []) if g["gen"] == 2),
    }


def _ms(events: Sequence[dict[str, Any]]) -> float:
    return round(sum(float(e["ms"]) for e in events), 2)


def _max(events: Sequence[dict[str, Any]]) -> float:
    return round(max((float(e["ms"]) for e in events), default=0.0), 2)


def tails(chat: Sequence[Run], events: Mapping[str, Events]) -> list[dict[str, Any]]:
    """Each server's runs below saturation (where every message waits), annotated with the
    events seen for that server; the service's first, round by round."""
    found = [
        annotate(r, events.get(r["target"], {}))
        for r in chat
        if r["level"] != "saturate" and r["target"] in events
    ]
    return sorted(found, key=lambda t: (t["target"] != "service", t["round"]))


def tails_table(found: Sequence[dict[str, Any]], traced: bool) -> str:
    """Each run's p99 and max; the machine's busy cores (anyone's work); how many checkpoints,
    and (traced) the longest collection, disk wait and wait for a core in its window; its
    slowest messages as ``ms@s`` (seconds into the window) marked C checkpoint, G collection,
    D disk wait, W wait for a core."""
    rows = [["tails", "p99 ms", "max ms", "busy", "ckpts", "longest gc/disk/core ms", "slowest"]]
    for t in found:
        slow = " ".join(_slow_cell(m, t["from"]) for m in t["slowest"][:SHOWN])
        longest = "/".join(_num(t["max_ms"].get(k), 0) for k in ("gc", "disk", "cpu"))
        row = [f"round {t['round']} {t['level']} {t['target']}", _num(t["p99"]), _num(t["max"])]
        row.append(_num(t["machine_cores_busy"], 1))
        checkpoints = str(t["count"].get("checkpoints", "-"))
        rows.append([*row, checkpoints, longest if traced else "--trace", slow])
    return table(rows)


def _slow_cell(message: dict[str, Any], start: float) -> str:
    marks = "".join(MARKS[kind] for kind in message["overlaps"])
    return f"{message['ms']:.1f}@{message['at'] - start:.2f}{marks}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def commit_table(runs: Sequence[Run]) -> str:
    """The bare commit's rounds: latency from due (the floor's figure), transactions alone."""
    rows = [["bare durable commit", "p50 ms", "p99 ms", "max ms", "txn p99 ms", "batched", "ckpts"]]
    for r in runs:
        ms, txn = r["commit_ms"], r["transaction_ms"]
        rows.append(
            [
                f"round {r['round']} {r['level']}",
                _num(ms["p50"]),
                _num(ms["p99"]),
                _num(ms["max"]),
                _num(txn["p99"]),
                str(r["batched_rows"]),
                str(r["checkpoints"]),
            ]
        )
    return table(rows)
