"""``python -m bench --trace``: every Python process of the service under test (the server and
its writer process, which inherit PYTHONPATH) logs its garbage collections here, through the
public ``gc.callbacks``, so that the bench can set them beside its slowest messages.

One JSON line per collection that took at least ``MIN_MS``, and every full one: the process id,
the generation, when it started (Unix seconds), how long it took and what it freed. Nothing of
the service is changed; without ``MADOGUCHI_BENCH_GC_LOG`` this does nothing.
"""

from __future__ import annotations

import gc
import json
import os
import time

MIN_MS = 1.0
_path = os.environ.get("MADOGUCHI_BENCH_GC_LOG")


def _install(path: str) -> None:
    log = open(path, "a", buffering=1)  # noqa: SIM115 (open for the process's life)
    pid = os.getpid()
    started: list[float] = [0.0, 0.0]  # perf_counter, time.time of the running collection

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0], started[1] = time.perf_counter(), time.time()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms >= MIN_MS or info["generation"] == 2:
            entry = {"pid": pid, "gen": info["generation"], "at": started[1], "ms": round(ms, 3)}
            log.write(json.dumps({**entry, "collected": info["collected"]}) + "\n")

    gc.callbacks.append(on_gc)


if _path:
    _install(_path)
