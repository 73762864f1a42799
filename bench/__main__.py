"""`python -m bench` (`make bench`): the service and a bare relay under the same load, one run.

Starts both servers on free ports of 127.0.0.1 (the service with a temporary SQLite file and
its production settings, rate limits raised for the load; with ``--database-url`` on that
PostgreSQL database instead; with ``--compare-postgres`` a third server, the same service on
PostgreSQL, named ``service-pg``), drives them from the Node generator
(bench/load.mjs), times a bare durable commit beside them at the steady level (bench/commit.py),
measures the widget's scripts, then prints tables, the budgets and, last, the one line that
scripts read. The whole JSON goes to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import generator, report, tails
from bench.assets import measure_sizes
from bench.postgres import PrivatePostgres
from bench.profiler import Profiler
from bench.servers import (
    LOG_LEVEL,
    PROJECT_DIR,
    SERVICE_DB,
    SERVICE_OVERRIDES,
    ServerProcess,
    add_counselors,
    log_in,
    relay_process,
    service_process,
)
from bench.watch import ServiceWatch

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# A one-minute load average above this on a 2-core machine means something else is running.
BUSY_LOAD = 1.0
# Offered rates, messages a second over all pairs and both directions. The p99 budget is set at
# 500 msgs/s; 400 is a lighter level to see how latency moves with load; 20,000 is well above
# what even the bare relay manages here (11,000–14,000 with this generator), so both saturate and
# the generator's in-flight cap, not the offered rate, sets the pace.
LEVELS = [("light", 400), ("steady", 500), ("saturate", 20000)]
# The levels at which the bare durable commit takes its turn beside the servers.
COMMIT_LEVELS = ["steady"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--pairs", type=int, default=50, help="visitor/counselor pairs")
    parser.add_argument("--idle", type=int, default=2000, help="idle visitor connections")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each level")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all levels")
    parser.add_argument(
        "--only",
        metavar="LEVEL,...",
        help=f"run only these levels of {', '.join(name for name, _ in LEVELS)}",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the service with py-spy during its first saturating run",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="log the service's garbage collections (bench/trace/) to set beside its tail",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (database, server logs)"
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default="",
        help="run the service on this PostgreSQL database (postgresql://…) instead of SQLite;"
        " with --compare-postgres, the PostgreSQL service's database",
    )
    parser.add_argument(
        "--compare-postgres",
        action="store_true",
        help="also run the service on PostgreSQL (service-pg) beside the SQLite one, on"
        " --database-url or else on a private cluster started for the run",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: few pairs, short levels, one round"
    )
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.idle, args.seconds, args.rounds = 10, 200, 3.0, 1
    return args


def generator_config(
    args: argparse.Namespace,
    servers: list[ServerProcess],
    cookies: dict[str, list[str]],
    workdir: Path,
) -> dict[str, Any]:
    targets = []
    for server in servers:
        target: dict[str, Any] = {"name": server.name, "url": server.url, "pid": server.pid}
        if server.name in cookies:
            target["cookies"] = cookies[server.name]
        targets.append(target)
    return {
        "targets": targets,
        "clkTck": os.sysconf("SC_CLK_TCK"),
        "idleConnections": args.idle,
        # In the folder of the service's database: the same disk, the same file system.
        "probe": {
            "name": report.COMMIT,
            "levels": COMMIT_LEVELS,
            "command": [sys.executable, "-m", "bench.commit", "--dir", str(workdir)],
            "cwd": str(PROJECT_DIR),
        },
        "chat": {
            "pairs": args.pairs,
            "rounds": args.rounds,
            "levels": [
                {"name": n, "rate": r, "seconds": args.seconds}
                for n, r in LEVELS
                if not args.only or n in args.only.split(",")
            ],
            "warmupSeconds": 1.0,
            "drainSeconds": 10.0,
            # Unacknowledged messages one socket may have: deep enough to keep a server busy
            # (100 sockets × 8), shallow enough that a saturated run drains in a second or two.
            "maxInFlight": 8,
            # With --trace, every message of these levels as (when sent, e2e ms), in the JSON.
            "series": ["light", "steady"] if args.trace else [],
        },
    }


def time_limit(args: argparse.Namespace) -> float:
    """A generous bound on the generator's run, from the work it was given."""
    servers = 3 if args.compare_postgres else 2
    levels = args.rounds * (len(LEVELS) * servers + len(COMMIT_LEVELS)) * (args.seconds + 12)
    return float(120 + levels + args.idle * servers * 0.02)


def is_profiled_run(progress: str) -> bool:
    return progress.startswith("bench: round 1: saturate") and progress.rstrip().endswith(
        "on service"
    )


def measure(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, Any], str | None]:
    """The generator's raw runs, with the service's checkpoints (and collections, if traced)."""
    postgres = None
    services = []
    if args.compare_postgres:
        url = args.database_url
        if not url:
            postgres = PrivatePostgres(beside=workdir)
            say(f"starting a private PostgreSQL in {postgres.root}")
            postgres.start()
            url = postgres.url
        services = [
            service_process(workdir, trace=args.trace),
            service_process(workdir, name=report.PG_TARGET, database_url=url),
        ]
    else:
        services = [service_process(workdir, trace=args.trace, database_url=args.database_url)]
    service = services[0]
    relay = relay_process(workdir, trace=args.trace)
    password = secrets.token_urlsafe(16)
    names = [f"bench{i:03d}" for i in range(args.pairs)]
    try:
        for server in services:
            say(f"creating {len(names)} counselors on {server.name} with `madoguchi add-user`")
            add_counselors(server, names, password)
        for server in services:
            server.start(health_path="/healthz")
        relay.start(health_path=None)
        for server in services:
            say(f"{server.name} pid {server.pid} on {server.url}")
        say(f"relay pid {relay.pid} on {relay.url}")
        cookies = {s.name: [log_in(s, name, password) for name in names] for s in services}
        config = generator_config(args, [relay, *services], cookies, workdir)
        profiler = None
        if args.profile:
            output = RESULTS_DIR / "profile-service.txt"
            profiler = Profiler(service.pid, args.seconds - 1, output, is_profiled_run)
        hook = profiler.on_progress if profiler else None
        watched = service.pid if args.trace else None
        with ServiceWatch(workdir / SERVICE_DB, watched) as watch:
            raw = generator.run(config, workdir, timeout=time_limit(args), on_progress=hook)
        raw["events"] = {
            "checkpoints": watch.checkpoints(),
            "gc": tails.read_gc_log(service.gc_log, {service.pid, *watch.writers}),
            "disk": watch.disk.done,
            "cpu": watch.cpu.done,
        }
        raw["relay_events"] = {"gc": tails.read_gc_log(relay.gc_log, {relay.pid})}
        return raw, profiler.finish() if profiler else None
    except BaseException:
        for server in (*services, relay):
            with contextlib.suppress(OSError):
                sys.stderr.write(f"--- {server.name} log (tail) ---\n{server.logs()}\n")
        raise
    finally:
        for server in (*services, relay):
            server.stop()
        if postgres is not None:
            postgres.stop()


def cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the service's files differ from it."""

    def git(*args: str) -> str:
        answer = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True)
        return answer.stdout.strip()

    changed = git("status", "--porcelain", "--", "service", "templates", "widget")
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "uncommitted": bool(changed)}


def redacted(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 5432}{parts.path}"


def say(message: str) -> None:
    sys.stderr.write(f"bench: {message}\n")


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    generator.install()
    RESULTS_DIR.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    try:
        raw, profile = measure(args, workdir)
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sizes = measure_sizes()

    runs = raw["chat"] + raw["commit"]
    best, median = report.best_runs(runs), report.median_runs(runs)
    idle = {run["target"]: run for run in raw["idle"]}
    ratios = report.ratios(median, idle, sizes)
    best_ratios = report.ratios(best, idle, sizes)
    budgets = report.budgets(ratios, best_ratios)
    problems = report.integrity_problems(raw["chat"], raw["idle"])
    found = tails.tails(raw["chat"], {"service": raw["events"], "relay": raw["relay_events"]})
    line = report.last_line(ratios)
    results = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "machine": {
            "cores": os.cpu_count(),
            "processor": cpu_model(),
            # Other work on the machine shows here first: a busy machine lowers every figure.
            "load_average_before": load_before,
        },
        "settings": {
            # A database URL holds a password: only its host and database are kept.
            "args": {**vars(args), "database_url": redacted(args.database_url)},
            "levels": dict(LEVELS),
            "service_env": {**SERVICE_OVERRIDES, "MADOGUCHI_LOG_LEVEL": LOG_LEVEL},
        },
        "seconds": round(time.monotonic() - started, 1),
        "raw": raw,
        "best": best,
        "median": median,
        "floor_ms": {"best": report.floor_ms(best), "median": report.floor_ms(median)},
        "sizes": sizes,
        "ratios": ratios,
        "best_ratios": best_ratios,
        "tails": found,
        "budgets": [
            {"name": b.name, "value": b.value, "best": b.best, "limit": b.limit, "pass": b.passed}
            for b in budgets
        ],
        "integrity_problems": problems,
        "postgres_ratios": report.postgres_ratios(median, idle) if args.compare_postgres else None,
        "profiled": args.profile,
        "line": line,
    }
    (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))

    overrides = " ".join(f"{k}={v}" for k, v in SERVICE_OVERRIDES.items())
    print(
        f"\nMadoguchi vs bare relay — {args.pairs} pairs, {args.rounds} round(s), "
        f"{args.seconds:g} s per level, {results['seconds']:.0f} s in all"
    )
    print(f"service run with raised rate limits and an always-open desk: {overrides}")
    if args.database_url and not args.compare_postgres:
        print(f"service on PostgreSQL: {redacted(args.database_url)}")
    elif args.compare_postgres:
        where = redacted(args.database_url) or "a private cluster on this disk, durable defaults"
        print(f"{report.PG_TARGET}: the same service on PostgreSQL ({where}), no Redis")
    if load_before > BUSY_LOAD:
        print(f"WARNING: the machine was busy (1-minute load average {load_before:.1f});")
        print("         ratios hold up better than absolute figures; rerun when it is quiet.")
    print()
    print(report.chat_table(median), end="\n\n")
    print(report.rounds_table(runs), end="\n\n")
    if raw["commit"]:
        print(tails.commit_table(raw["commit"]), end="\n\n")
    if found:
        print(tails.tails_table(found, traced=args.trace), end="\n\n")
    print(report.idle_table(idle), end="\n\n")
    if args.compare_postgres:
        print(report.postgres_table(median, idle), end="\n\n")
    print(report.sizes_table(sizes), end="\n\n")
    print("verdicts on the median rounds; floor = relay p99 + bare commit p99 at the steady level")
    print("\n".join(b.line() for b in budgets))
    if problems:
        print("INTEGRITY PROBLEMS (a message not acked, not delivered, or delivered wrongly):")
        print("\n".join(f"  {p}" for p in problems))
    else:
        print("integrity: every message sent was acked and delivered once, to its pair")
    if profile:
        print("figures of this run are lowered a little by the sampling profiler", end="\n\n")
        print(profile, end="\n\n")
    print(f"results: {RESULTS_DIR.relative_to(PROJECT_DIR) / 'latest.json'}")
    print(line)


if __name__ == "__main__":
    main()
