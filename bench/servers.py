"""The two servers under test, as subprocesses, and the counselor accounts the service needs.

Both run exactly as they would in production: the service through ``python -m service serve``
(its own uvicorn settings), the relay through ``python -m bench.relay`` (the same settings).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
SERVICE_DB = "madoguchi.sqlite3"
# Holds only a sitecustomize.py that logs garbage collections (``--trace``).
TRACE_DIR = Path(__file__).resolve().parent / "trace"
READY_TIMEOUT = 30.0
# Per-connection rate limits for the service under test. The defaults (visitors 5/s, burst 20)
# protect a real deployment from floods; a few sockets carrying a saturating load need far more.
RAISED_LIMITS = {
    "MADOGUCHI_VISITOR_MESSAGE_RATE": "1000",
    "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000",
    "MADOGUCHI_COUNSELOR_MESSAGE_RATE": "1000",
    "MADOGUCHI_COUNSELOR_MESSAGE_BURST": "1000",
    # Every bench socket comes from 127.0.0.1; the per-address limits guard against one address
    # opening many chats, which is exactly what the bench does.
    "MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS": "100000",
    "MADOGUCHI_VISITOR_STARTS_PER_MINUTE": "100000",
    "MADOGUCHI_VISITOR_START_BURST": "100000",
    # Room for the 50 pairs' chats per counselor account, whatever the default limit.
    "MADOGUCHI_MAX_CONCURRENT_CHATS": "1000",
}
# Settings the service under test gets on top of its defaults (and that the report prints).
SERVICE_OVERRIDES = {
    **RAISED_LIMITS,
    # The default desk keeps the ward's office hours; a bench must not depend on the clock.
    "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7",
}
# Both servers log warnings only, so that neither spends time on the per-connection info lines.
LOG_LEVEL = "warning"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    name: str
    args: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    gc_log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, health_path: str | None) -> None:
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [*self.args, "--port", str(self.port)],
                cwd=PROJECT_DIR,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.logs()}")
            if self._ready(health_path):
                return
            time.sleep(0.05)  # polling a subprocess' readiness
        raise RuntimeError(f"{self.name} did not come up in {READY_TIMEOUT:.0f} s:\n{self.logs()}")

    def _ready(self, health_path: str | None) -> bool:
        # The relay has no HTTP route of its own; an Engine.IO probe would open a session that
        # lingers into the memory test, so a TCP connect is all we ask of it.
        if health_path is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return True
            return False
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(self.url + health_path, timeout=1.0).status_code == 200
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def logs(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]


def service_process(
    workdir: Path, trace: bool = False, name: str = "service", database_url: str = ""
) -> ServerProcess:
    """The service on its SQLite file in ``workdir``, or with ``database_url`` on PostgreSQL."""
    db = workdir / (SERVICE_DB if name == "service" else f"{name}.sqlite3")
    server = ServerProcess(
        name, [sys.executable, "-m", "service", "serve"], workdir / f"{name}.log"
    )
    if trace:  # the writer process inherits the environment, so it is traced too
        traced(server, workdir)
    if database_url:
        # A shared database takes its key from the environment (every node the same), never
        # from a key file; the bench makes one unless the caller's environment has it.
        key = (
            os.environ.get("MADOGUCHI_ENCRYPTION_KEY")
            or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )
        server.env = {
            **server.env,
            "MADOGUCHI_DATABASE_URL": database_url,
            "MADOGUCHI_ENCRYPTION_KEY": key,
        }
    server.env = {
        **server.env,
        "MADOGUCHI_DB": str(db),
        "MADOGUCHI_HOST": "127.0.0.1",
        "MADOGUCHI_PORT": str(server.port),
        "MADOGUCHI_PUBLIC_URL": server.url,
        "MADOGUCHI_LOG_LEVEL": LOG_LEVEL,
        **SERVICE_OVERRIDES,
    }
    return server


def relay_process(workdir: Path, trace: bool = False) -> ServerProcess:
    args = [sys.executable, "-m", "bench.relay", "--log-level", LOG_LEVEL]
    server = ServerProcess("relay", args, workdir / "relay.log")
    if trace:
        traced(server, workdir)
    return server


def traced(server: ServerProcess, workdir: Path) -> None:
    """Log the server's garbage collections (bench/trace/), each line with its process id.
    Every traced process appends to one file; the CLI's runs before the bench do too."""
    server.gc_log = workdir / "gc.jsonl"
    path = os.pathsep.join(p for p in (str(TRACE_DIR), os.environ.get("PYTHONPATH")) if p)
    server.env = {**server.env, "PYTHONPATH": path, "MADOGUCHI_BENCH_GC_LOG": str(server.gc_log)}


def add_counselors(service: ServerProcess, names: list[str], password: str) -> None:
    """Create the accounts with the real CLI, two at a time (one per core)."""

    def cli(*args: str, stdin: str = "") -> None:
        answer = subprocess.run(
            [sys.executable, "-m", "service", *args],
            input=stdin.encode(),
            cwd=PROJECT_DIR,
            env={**os.environ, **service.env},
            capture_output=True,
            timeout=60,
        )
        if answer.returncode != 0:
            raise RuntimeError(f"madoguchi {args[0]} failed:\n{answer.stderr.decode()[-2000:]}")

    def add(name: str) -> None:
        cli("add-user", name, "--role", "counselor", stdin=password + "\n")

    # Migrate once first: two add-user processes on a fresh file would both create the schema.
    cli("migrate")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(add, names))


def log_in(service: ServerProcess, username: str, password: str) -> str:
    """Log in through the real form (CSRF token and cookie included); the session cookie value."""
    with httpx.Client(base_url=service.url, timeout=30.0) as http:
        page = http.get("/inbox/login")
        page.raise_for_status()
        match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        if match is None:
            raise RuntimeError("the login page has no CSRF token")
        form = {"username": username, "password": password, "_csrf_token": match.group(1)}
        # Cookies for an IP address host: pass the CSRF cookie by hand rather than trust a jar.
        headers = {"Cookie": f"mg_csrf={page.cookies['mg_csrf']}"}
        answer = http.post("/inbox/login", data=form, headers=headers, follow_redirects=False)
        if answer.status_code != 303 or "mg_session" not in answer.cookies:
            raise RuntimeError(f"login of {username} failed with {answer.status_code}")
        return answer.cookies["mg_session"]
