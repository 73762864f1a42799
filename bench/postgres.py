"""A private PostgreSQL for `make bench BENCH_ARGS=--compare-postgres`: its own temporary data
folder beside the bench's (the same file system as the SQLite database), a free port on
127.0.0.1.

Unlike the tests' cluster it keeps PostgreSQL's durable defaults (``fsync``,
``synchronous_commit``, ``full_page_writes``), so that an ack costs a flushed commit on both
stores. The service connects as a role without superuser rights that owns the database.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.servers import free_port

APP_ROLE = "madoguchi"
ADMIN_ROLE = "postgres"
DATABASE = "madoguchi_bench"


def bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off the PATH)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed: `make backends` installs it")
    return Path(initdb).parent


class PrivatePostgres:
    def __init__(self, beside: Path) -> None:
        # Its own folder, not one inside the bench's: as root, the postgres account must be
        # able to reach it, and the bench's folder is private to the bench.
        self.root = Path(tempfile.mkdtemp(prefix="madoguchi-bench-pg-", dir=beside.parent))
        self.data = self.root / "data"
        self.port = free_port()
        self.admin_password = secrets.token_hex(16)
        self.app_password = secrets.token_hex(16)
        self._bin = bin_dir()

    @property
    def url(self) -> str:
        """The service's URL: its own role, its own database."""
        return f"postgresql://{APP_ROLE}:{self.app_password}@127.0.0.1:{self.port}/{DATABASE}"

    def _as_owner(self, args: list[str]) -> None:
        """initdb and pg_ctl refuse to run as root: as root, run them as the postgres user."""
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        answer = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if answer.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:4])} failed:\n{answer.stderr[-2000:]}")

    def start(self) -> None:
        sockets = self.root / "sockets"
        sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.admin_password + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, sockets, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        initdb = [str(self._bin / "initdb"), "-D", str(self.data), "-U", ADMIN_ROLE]
        initdb += ["--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C"]
        self._as_owner(initdb)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={sockets}"
        )
        log = str(self.root / "postgres.log")
        pg_ctl = [str(self._bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log]
        self._as_owner([*pg_ctl, "-w", "-t", "30", "start"])
        self.sql(
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{self.app_password}'"
            " NOSUPERUSER NOCREATEDB NOCREATEROLE"
        )
        self.sql(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                pg_ctl = [str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]
                self._as_owner(pg_ctl)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _psql(self) -> list[str]:
        return [str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN_ROLE]

    def sql(self, statement: str) -> None:
        subprocess.run(
            [*self._psql(), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-AtXq", "-c", statement],
            check=True,
            capture_output=True,
            timeout=60,
            env={**os.environ, "PGPASSWORD": self.admin_password},
        )
