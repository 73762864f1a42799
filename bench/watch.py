"""What the service's processes were doing, seen from outside while the generator runs.

One thread polls /proc and the database file every few milliseconds and keeps spans of:

- checkpoints: in WAL mode only a checkpoint writes to the database file itself, so a change of
  its mtime is one (always on: one stat per poll);
- disk waits (``--trace``): the writer process in uninterruptible sleep (state D), which is
  where its fsync waits;
- CPU waits (``--trace``): time the event loop thread and the writer spent runnable but not
  running (``run_delay`` of /proc/PID/schedstat), i.e. waiting for a core someone else held.

Nothing is changed in the service; each span is ``{"at": Unix seconds, "ms": length}``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

POLL_SECONDS = 0.002
# mtime changes closer than this belong to one checkpoint (it writes its pages one by one).
SAME_CHECKPOINT = 0.05
# Shorter disk or CPU waits are the normal cost of a commit or a wake-up, not a stall.
MIN_SPAN_MS = 2.0
# A poll in which the two processes waited this long for a core counts as held up: a wake-up
# costs microseconds, so this is someone else's work on the cores.
CPU_HELD_MS = 0.5

Span = dict[str, float]


class Spans:
    """Open and close spans of a condition sampled at each poll."""

    def __init__(self) -> None:
        self.done: list[Span] = []
        self._open: Span | None = None

    def sample(self, now: float, active: bool, amount_ms: float | None = None) -> None:
        if active:
            if self._open is None:
                self._open = {"at": now - POLL_SECONDS, "ms": 0.0}
            self._open["ms"] = (
                self._open["ms"] + amount_ms
                if amount_ms is not None
                else (now - self._open["at"]) * 1000
            )
        elif self._open is not None:
            if self._open["ms"] >= MIN_SPAN_MS:
                self.done.append(self._open)
            self._open = None


class ServiceWatch:
    """Polls while the generator runs (a context manager)."""

    def __init__(self, db: Path, pid: int | None) -> None:
        self.db, self.pid = db, pid  # pid None: checkpoints only
        self.changes: list[float] = []
        self.disk, self.cpu = Spans(), Spans()
        self._writer: int | None = None
        self.writers: set[int] = set()  # every writer process seen
        self._waited: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="service-watch", daemon=True)

    def __enter__(self) -> ServiceWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def checkpoints(self) -> list[Span]:
        return group_changes(self.changes)

    def _poll(self) -> None:
        last = None
        while not self._stop.wait(POLL_SECONDS):
            now = time.time()
            with contextlib.suppress(OSError):
                mtime = os.stat(self.db).st_mtime_ns
                if last is not None and mtime != last:
                    self.changes.append(now)
                last = mtime
            if self.pid is not None:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    self._sample_processes(now, self.pid)

    def _sample_processes(self, now: float, pid: int) -> None:
        if self._writer is None:
            self._writer = next(iter(child_pids(pid)), None)
            self.writers.add(self._writer or pid)
        waited = run_delay_ns(f"/proc/{pid}/task/{pid}/schedstat")
        if self._writer is not None:
            try:
                waited += run_delay_ns(f"/proc/{self._writer}/schedstat")
                self.disk.sample(now, process_state(self._writer) == "D")
            except OSError:
                self._writer = None  # ended; a new one is found at the next poll
        if self._waited is not None:
            grew = (waited - self._waited) / 1e6
            self.cpu.sample(now, grew >= CPU_HELD_MS, grew)
        self._waited = waited


def group_changes(changes: Sequence[float]) -> list[Span]:
    """Successive file changes → checkpoints, each ``{"at": first, "ms": first to last}``."""
    events: list[Span] = []
    for at in changes:
        if events and at - (events[-1]["at"] + events[-1]["ms"] / 1000) < SAME_CHECKPOINT:
            events[-1]["ms"] = (at - events[-1]["at"]) * 1000
        else:
            events.append({"at": at, "ms": 0.0})
    return events


def run_delay_ns(path: str) -> int:
    """Nanoseconds a task has waited on a run queue (the second field of schedstat)."""
    with open(path) as f:
        return int(f.read().split()[1])


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2]


def child_pids(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    children.append(int(entry))
    return children
