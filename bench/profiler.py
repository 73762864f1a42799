"""``--profile``: py-spy on the service during its first saturating run, and what it found.

py-spy samples the running process and its writer process from outside (``--nonblocking``: it
never pauses the server; ``--gil``: only the thread holding the GIL, which is what limits a
Python server), so the service runs its production code path; the run's own figures are still a
little lower than without it, which is why profiling is an option and not the default.
py-spy comes from bench/requirements.txt.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

SAMPLES_PER_SECOND = 200
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


class Profiler:
    def __init__(
        self, pid: int, seconds: float, output: Path, starts_at: Callable[[str], bool]
    ) -> None:
        if shutil.which("py-spy") is None and not _venv_py_spy().exists():
            sys.exit("bench: --profile needs py-spy: pip install -r bench/requirements.txt")
        self.pid, self.seconds, self.output, self.starts_at = pid, seconds, output, starts_at
        self.process: subprocess.Popen[bytes] | None = None

    def on_progress(self, line: str) -> None:
        """Start sampling when the generator announces the run to profile."""
        if self.process is None and self.starts_at(line):
            executable = shutil.which("py-spy") or str(_venv_py_spy())
            self.process = subprocess.Popen(
                [
                    executable,
                    "record",
                    "--pid",
                    str(self.pid),
                    "--nonblocking",
                    "--gil",
                    "--subprocesses",
                    "--rate",
                    str(SAMPLES_PER_SECOND),
                    "--duration",
                    str(int(self.seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(self.output),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def finish(self) -> str:
        if self.process is None:
            return "profile: the saturating run on the service never started"
        self.process.wait(timeout=self.seconds + 30)
        if not self.output.exists():
            return "profile: py-spy wrote nothing (is ptrace allowed here?)"
        return summarize(self.output.read_text())


def _venv_py_spy() -> Path:
    return Path(sys.executable).parent / "py-spy"


def _short(frame: str) -> str:
    match = FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['function']} ({path})"


def summarize(collapsed: str, top: int = 60) -> str:
    """Self and inclusive shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "profile: no samples"
    lines = [f"profile: {total} samples of the service at saturation"]
    lines.append(f"  inclusive (function and what it calls), top {top}:")
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines.append(f"  self (the function's own code), top {top}:")
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)
