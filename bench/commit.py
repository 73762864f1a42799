"""The bare durable commit: the least a message that is acked only once durable can cost.

One row per transaction into a SQLite file in WAL mode with ``synchronous=FULL`` (the service's
settings, its default ``wal_autocheckpoint`` included), at a fixed pace, on the disk and in the
folder of the service's bench database. `make bench` runs it beside the service and the relay
at the steady level, in the same rotation, so that it meets the same noise; its p99 added to
the relay's is the floor that the service's p99 is judged against.

Run: ``python -m bench.commit --dir DIR --rate 500 --seconds 8``; one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

FILE_NAME = "bare-commit.sqlite3"
# About the size of a sealed chat line (nonce, tag and a short Japanese sentence).
ROW = os.urandom(220)
SLOWEST = 10


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, at REAL, body BLOB)")
    return conn


def commit_one(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO row (at, body) VALUES (?, ?)", (time.time(), ROW))
    conn.execute("COMMIT")


def checkpoint_mark(path: Path) -> int:
    """The database file's mtime: in WAL mode only a checkpoint writes to it."""
    return os.stat(path).st_mtime_ns


def run(path: Path, rate: float, seconds: float, warmup: float) -> dict[str, Any]:
    conn = open_db(path)
    total = round(rate * seconds)
    t0 = time.perf_counter()
    durations: list[float] = []
    slow: list[tuple[float, float, bool]] = []  # (ms, epoch s, checkpointed)
    checkpointed: list[float] = []
    late = 0
    mark = checkpoint_mark(path)
    for n in range(total):
        due = t0 + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            late += 1
        start, at = time.perf_counter(), time.time()
        commit_one(conn)
        ms = (time.perf_counter() - start) * 1000
        new_mark = checkpoint_mark(path)
        ran_checkpoint, mark = new_mark != mark, new_mark
        if start - t0 < warmup:
            continue
        durations.append(ms)
        slow.append((ms, at, ran_checkpoint))
        if ran_checkpoint:
            checkpointed.append(ms)
    conn.close()
    slow.sort(reverse=True)
    return {
        "commits": total,
        "late_starts": late,
        "commit_ms": summarize(durations),
        "checkpoints": len(checkpointed),
        "checkpoint_commit_ms": summarize(checkpointed),
        "slowest": [
            {"ms": round(ms, 2), "at": at, "checkpoint": cp} for ms, at, cp in slow[:SLOWEST]
        ],
    }


def percentile(ordered: list[float], p: float) -> float | None:
    """The nearest-rank percentile, as the generator computes it (loadgen/proc.mjs)."""
    if not ordered:
        return None
    rank = min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[max(0, rank)]


def summarize(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)

    def r2(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    return {
        "n": len(ordered),
        "p50": r2(percentile(ordered, 50)),
        "p95": r2(percentile(ordered, 95)),
        "p99": r2(percentile(ordered, 99)),
        "max": r2(ordered[-1] if ordered else None),
        "mean": r2(sum(ordered) / len(ordered) if ordered else None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.commit", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="folder of the service's database")
    parser.add_argument("--rate", type=float, default=500.0, help="commits a second")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds left out at the start")
    args = parser.parse_args()
    result = run(args.dir / FILE_NAME, args.rate, args.seconds, args.warmup)
    print(json.dumps(result))  # the generator reads it


if __name__ == "__main__":
    main()
