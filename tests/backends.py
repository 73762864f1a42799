"""Private PostgreSQL and Redis servers for the tests: own data folders, free ports on 127.0.0.1.

Each is started once per test process (pytest-xdist worker) on first use and removed at its end;
a test asks for a fresh database (PostgreSQL) or a freshly flushed logical database (Redis) so
that tests never see each other's data. ``make test`` installs Debian's ``postgresql`` and
``redis-server``; nothing else of the machine is used (no system cluster, no system Redis).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from tests.support import free_port

APP_ROLE = "madoguchi"
ADMIN_ROLE = "postgres"
REDIS_DATABASES = 64
START_TIMEOUT = 30.0


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off the PATH)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql")


class Postgres:
    """A private PostgreSQL cluster. The service connects as ``madoguchi``, a role with no
    superuser rights that owns each test database; the tests inspect as the superuser."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.port = free_port()
        self.app_password = secrets.token_hex(16)
        self.admin_password = secrets.token_hex(16)
        self._names = itertools.count(1)
        self._bin = postgres_bin_dir()

    def bin(self, name: str) -> str:
        return str(self._bin / name)

    def _run_as_owner(self, args: list[str]) -> None:
        """initdb and pg_ctl refuse to run as root: as root, run them as the postgres user."""
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.sockets.mkdir(parents=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.admin_password + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._run_as_owner(
            [
                self.bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                ADMIN_ROLE,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port}"
            f" -c unix_socket_directories={self.sockets}"
            # Nothing here outlives the test run: no need to wait for the disk.
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run_as_owner(
            [
                self.bin("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "postgres.log"),
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "start",
            ]
        )
        self.sql(
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{self.app_password}'"
            " NOSUPERUSER NOCREATEDB NOCREATEROLE"
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run_as_owner(
                [self.bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            )

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement as the superuser; returns psql's unaligned output."""
        result = subprocess.run(
            [
                self.bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                ADMIN_ROLE,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-AtXq",
                "-c",
                statement,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGPASSWORD": self.admin_password},
        )
        return result.stdout

    def new_database(self) -> str:
        """A fresh, empty database owned by the service's role; its URL for the service."""
        name = f"madoguchi_{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
        return f"postgresql://{APP_ROLE}:{self.app_password}@127.0.0.1:{self.port}/{name}"

    def admin_url(self, url: str) -> str:
        """The superuser's URL for the database of ``url`` (for a test's own inspection)."""
        parts = urlsplit(url)
        netloc = f"{ADMIN_ROLE}:{self.admin_password}@127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def database_name(self, url: str) -> str:
        return urlsplit(url).path.lstrip("/")


class Redis:
    """A private Redis server with no persistence; each test takes its own logical database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self._next = itertools.count(0)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("Redis is not installed: `make test` installs Debian's redis-server")
        self.process = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--databases",
                str(REDIS_DATABASES),
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def new_url(self) -> str:
        """A freshly flushed logical database. Sixty-four are reused in turn: one test module
        at a time per process needs only a few."""
        number = next(self._next) % REDIS_DATABASES
        client = redis.Redis(host="127.0.0.1", port=self.port, db=number)
        try:
            client.flushdb()
        finally:
            client.close()
        return f"redis://127.0.0.1:{self.port}/{number}"


@contextlib.contextmanager
def _folder(prefix: str) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with _folder("madoguchi-pg-") as root:
        server = Postgres(root)
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    with _folder("madoguchi-redis-") as root:
        server = Redis(root)
        try:
            server.start()
            yield server
        finally:
            server.stop()
