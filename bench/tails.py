"""Where a slow round's tail comes from: the slowest messages beside what ran at that moment.

The generator lists each run's slowest messages with their send times. Beside them:

- the service's WAL checkpoints, seen from outside: in WAL mode only a checkpoint writes to the
  database file itself, so a change of its mtime is one (``CheckpointWatch`` polls it);
- with ``--trace``, the garbage collections of the service's processes (bench/trace/);
- the bare commits' own slowest, each marked if a checkpoint ran in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import Run, table

POLL_SECONDS = 0.002
# mtime changes closer than this belong to one checkpoint (it writes its pages one by one).
SAME_CHECKPOINT = 0.05
# An event this close before a message's send still counts as its cause (the message queued
# behind it).
LEAD = 0.005
# Slowest messages shown per run in the table (the JSON keeps the generator's ten).
SHOWN = 5


class CheckpointWatch:
    """A thread that notes when the database file changes, i.e. when a checkpoint writes it."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.changes: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="checkpoint-watch", daemon=True)

    def __enter__(self) -> CheckpointWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        last = None
        while not self._stop.wait(POLL_SECONDS):
            with contextlib.suppress(OSError):
                mtime = os.stat(self.db).st_mtime_ns
                if last is not None and mtime != last:
                    self.changes.append(time.time())
                last = mtime

    def checkpoints(self) -> list[dict[str, float]]:
        return group_changes(self.changes)


def group_changes(changes: Sequence[float]) -> list[dict[str, float]]:
    """Successive file changes → checkpoints, each ``{"at": first, "ms": first to last}``."""
    events: list[dict[str, float]] = []
    for at in changes:
        if events and at - (events[-1]["at"] + events[-1]["ms"] / 1000) < SAME_CHECKPOINT:
            events[-1]["ms"] = (at - events[-1]["at"]) * 1000
        else:
            events.append({"at": at, "ms": 0.0})
    return events


def read_gc_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def during(events: Sequence[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Events that overlap [start - LEAD, end] (Unix seconds)."""
    return [e for e in events if e["at"] < end and e["at"] + e["ms"] / 1000 >= start - LEAD]


def annotate(
    run: Run, checkpoints: Sequence[dict[str, Any]], collections: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """One run's tail: its slowest messages, each with the checkpoints and collections that
    overlapped it, and the counts of both in the measured window."""
    window = run.get("window") or {}
    start, end = window.get("from", 0.0), window.get("to", 0.0)
    slow = []
    for message in run.get("slowest", []):
        at, until = message["at"], message["at"] + message["ms"] / 1000
        slow.append(
            {
                **message,
                "checkpoints": len(during(checkpoints, at, until)),
                "gc_ms": round(sum(g["ms"] for g in during(collections, at, until)), 2),
            }
        )
    in_window = during(collections, start, end)
    return {
        "round": run["round"],
        "level": run["level"],
        "target": run["target"],
        "from": start,
        "p99": run["e2e_ms"]["p99"],
        "max": run["e2e_ms"]["max"],
        "slowest": slow,
        "checkpoints": len(during(checkpoints, start, end)),
        "gc_full": sum(1 for g in in_window if g["gen"] == 2),
        "gc_max_ms": max((g["ms"] for g in in_window), default=0.0),
    }


def tails(
    chat: Sequence[Run],
    checkpoints: Sequence[dict[str, Any]],
    collections: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The service's runs below saturation, annotated (at saturation every message is late)."""
    return [
        annotate(r, checkpoints, collections)
        for r in chat
        if r["target"] == "service" and r["level"] != "saturate"
    ]


def tails_table(found: Sequence[dict[str, Any]], traced: bool) -> str:
    """Each run's p99 and max, what ran in its window, and its slowest messages as
    ``ms@s`` (seconds into the window), marked C if a checkpoint and G if a collection
    overlapped them."""
    gc_head = "gc full, max ms" if traced else "gc (--trace)"
    rows = [["service tails", "p99 ms", "max ms", "checkpoints", gc_head, "slowest ms@s"]]
    for t in found:
        slow = " ".join(_slow_cell(m, t["from"]) for m in t["slowest"][:SHOWN])
        gc_cell = f"{t['gc_full']}, {t['gc_max_ms']:.1f}" if traced else "-"
        row = [f"round {t['round']} {t['level']}", _num(t["p99"]), _num(t["max"])]
        rows.append([*row, str(t["checkpoints"]), gc_cell, slow])
    return table(rows)


def _slow_cell(message: dict[str, Any], start: float) -> str:
    marks = ("C" if message["checkpoints"] else "") + ("G" if message["gc_ms"] else "")
    return f"{message['ms']:.1f}@{message['at'] - start:.2f}{marks}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def commit_table(runs: Sequence[Run]) -> str:
    rows = [["bare durable commit", "p50 ms", "p99 ms", "max ms", "checkpoints", "their max ms"]]
    for r in runs:
        ms = r["commit_ms"]
        rows.append(
            [
                f"round {r['round']} {r['level']}",
                _num(ms["p50"]),
                _num(ms["p99"]),
                _num(ms["max"]),
                str(r["checkpoints"]),
                _num(r["checkpoint_commit_ms"]["max"]),
            ]
        )
    return table(rows)
