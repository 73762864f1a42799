"""Running the Node load generator: its dependencies (npm ci) and one bounded run of it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
STAMP = BENCH_DIR / "node_modules" / ".installed"


def install() -> None:
    """``npm ci`` when package-lock.json changed: exactly the locked versions, every time."""
    lock = BENCH_DIR / "package-lock.json"
    if STAMP.exists() and STAMP.stat().st_mtime >= lock.stat().st_mtime:
        return
    if shutil.which("npm") is None:
        sys.exit("bench: Node.js and npm are needed for the load generator")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=BENCH_DIR,
        check=True,
        timeout=300,
    )
    STAMP.touch()


def run(
    config: dict[str, Any],
    workdir: Path,
    timeout: float,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run load.mjs with ``config``; its progress lines go to stderr (and to ``on_progress``).

    Killed after ``timeout`` seconds, so a stuck server cannot hold the bench.
    """
    config_path, output_path = workdir / "load-config.json", workdir / "load-result.json"
    config_path.write_text(json.dumps(config))
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            ["node", str(BENCH_DIR / "load.mjs"), str(config_path)],
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            assert process.stderr is not None
            for line in process.stderr:
                sys.stderr.write(line)
                if on_progress is not None:
                    on_progress(line)
            code = process.wait()
        finally:
            watchdog.cancel()
    if code != 0:
        raise RuntimeError(f"the load generator failed (exit {code}; killed after {timeout} s?)")
    result: dict[str, Any] = json.loads(output_path.read_text())
    return result
