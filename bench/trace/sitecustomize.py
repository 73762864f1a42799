"""``python -m bench --trace``: every Python process of the service under test (the server and
its writer process, which inherit PYTHONPATH) logs its garbage collections here, through the
public ``gc.callbacks``, so that the bench can set them beside its slowest messages.

One JSON line per collection that took at least ``MIN_MS``, and every full one: the process id,
the generation, when it started (Unix seconds), how long it took on the clock and in the
thread's CPU time (the difference is time the process waited for a core), what it freed and,
for a full one, how many objects it left in the oldest generation (those it walks through next
time; what gc.freeze() set aside is not among them). Nothing of the service is changed; without
``MADOGUCHI_BENCH_GC_LOG`` this does nothing.
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
    started = [0.0, 0.0, 0.0]  # perf_counter, thread_time, time.time of the running collection

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = time.perf_counter(), time.thread_time(), time.time()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        gen = info["generation"]
        if ms < MIN_MS and gen != 2:
            return
        entry = {"pid": pid, "gen": gen, "at": started[2], "ms": round(ms, 3)}
        entry["cpu_ms"] = round((time.thread_time() - started[1]) * 1000, 3)
        entry["collected"] = info["collected"]
        if gen == 2:
            entry["oldest"] = len(gc.get_objects(generation=2))
        log.write(json.dumps(entry) + "\n")

    gc.callbacks.append(on_gc)


if _path:
    _install(_path)
