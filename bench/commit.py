"""The bare durable commit: the least a message that is acked only once durable can cost.

One row per transaction into a SQLite file in WAL mode with ``synchronous=FULL`` (the service's
settings, its default ``wal_autocheckpoint`` included), at a fixed pace, on the disk and in the
folder of the service's bench database. Its latency runs from when a row was due to when its
COMMIT returned, as the generator times a message from its emit: a stalled fsync delays the
rows queued behind it here as it delays the messages behind it in the service.

`make bench` runs it beside the service and the relay at the steady level, in the same
rotation, so that it meets the same noise; its p99 added to the relay's is the floor that the
service's p99 is judged against.

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


def commit_rows(conn: sqlite3.Connection, count: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO row (at, body) VALUES (?, ?)", [(time.time(), ROW)] * count)
    conn.execute("COMMIT")


def checkpoint_mark(path: Path) -> int:
    """The database file's mtime: in WAL mode only a checkpoint writes to it."""
    return os.stat(path).st_mtime_ns


class Probe:
    """Open loop, like the generator: row n is due at n / rate. On pace each transaction holds
    one row; rows that fell due while a commit was stuck go into the next one together, as the
    service's group commit does, so that a stall costs what it would cost the service."""

    def __init__(self, path: Path, rate: float, warmup: float) -> None:
        self.path, self.rate, self.warmup = path, rate, warmup
        self.latencies: list[float] = []  # ms from a row's due time to its COMMIT's return
        self.transactions: list[float] = []  # ms of each transaction
        self.slow: list[tuple[float, float, bool]] = []  # (ms, Unix seconds due, checkpointed)
        self.checkpointed: list[float] = []
        self.batched = 0  # rows that shared a transaction with an earlier one

    def run(self, total: int) -> None:
        conn = open_db(self.path)
        t0, wall0, mark, n = time.perf_counter(), time.time(), checkpoint_mark(self.path), 0
        while n < total:
            wait = t0 + n / self.rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            now = time.perf_counter()
            count = max(1, min(total, math.floor((now - t0) * self.rate) + 1) - n)
            commit_rows(conn, count)
            done = time.perf_counter()
            new_mark = checkpoint_mark(self.path)
            self.record(n, count, now, done, t0, wall0, new_mark != mark)
            mark, n = new_mark, n + count
        conn.close()

    def record(
        self, n: int, count: int, start: float, done: float, t0: float, wall0: float, cp: bool
    ) -> None:
        if start - t0 < self.warmup:
            return
        self.batched += count - 1
        self.transactions.append((done - start) * 1000)
        if cp:
            self.checkpointed.append((done - start) * 1000)
        for k in range(n, n + count):
            due = k / self.rate
            ms = (done - t0 - due) * 1000
            self.latencies.append(ms)
            self.slow.append((ms, wall0 + due, cp))

    def result(self, total: int) -> dict[str, Any]:
        slow = sorted(self.slow, reverse=True)[:SLOWEST]
        return {
            "commits": total,
            "batched_rows": self.batched,
            "commit_ms": summarize(self.latencies),
            "transaction_ms": summarize(self.transactions),
            "checkpoints": len(self.checkpointed),
            "checkpoint_commit_ms": summarize(self.checkpointed),
            "slowest": [{"ms": round(ms, 2), "at": at, "checkpoint": cp} for ms, at, cp in slow],
        }


def run(path: Path, rate: float, seconds: float, warmup: float) -> dict[str, Any]:
    total = round(rate * seconds)
    probe = Probe(path, rate, warmup)
    probe.run(total)
    return probe.result(total)


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
