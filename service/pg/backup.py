"""``madoguchi backup PATH`` with ``MADOGUCHI_DATABASE_URL``: a consistent copy made by
``pg_dump``.

``pg_dump`` reads every table in one repeatable-read transaction, so the copy is one committed
state while the service keeps writing. The custom format is compressed and restored with
``pg_restore``. Sealed columns are copied as the ciphertext they are: the key is not in the
database, and must be kept apart from the backups.

The URL is handed to ``pg_dump`` as libpq's environment variables, never on its command line,
where any account on the machine could read the password.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

# The URL's query parameters that libpq also reads from the environment.
_PARAMETERS = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "gssencmode": "PGGSSENCMODE",
    "channel_binding": "PGCHANNELBINDING",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def libpq_environment(url: str) -> dict[str, str]:
    """The libpq environment variables that connect where ``url`` does. Errors never quote
    the URL: it holds the password."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("MADOGUCHI_DATABASE_URL must be a postgresql:// URL")
    env: dict[str, str] = {}
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    if userinfo:
        user, colon, password = userinfo.partition(":")
        if user:
            env["PGUSER"] = unquote(user)
        if colon:
            env["PGPASSWORD"] = unquote(password)
    env.update(_hosts(hostlist))
    database = unquote(parts.path.lstrip("/"))
    if database:
        env["PGDATABASE"] = database
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _PARAMETERS:
            raise ValueError(f"MADOGUCHI_DATABASE_URL: pg_dump cannot use the parameter {name!r}")
        env[_PARAMETERS[name]] = value
    return env


def _hosts(hostlist: str) -> dict[str, str]:
    """libpq's ``host[:port],host[:port]`` list (IPv6 addresses in brackets) as PGHOST and
    PGPORT; an empty port in PGPORT's list means the default one."""
    hosts, ports = [], []
    for item in hostlist.split(",") if hostlist else []:
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        hosts.append(unquote(host))
        ports.append(port)
    env = {}
    if any(hosts):
        env["PGHOST"] = ",".join(hosts)
    if any(ports):
        env["PGPORT"] = ",".join(ports)
    return env


def backup_postgres(url: str, target: Path, pg_dump: str = "pg_dump") -> None:
    """Dump the database of ``url`` to ``target`` (custom format; replaced atomically, mode
    0600). RuntimeError if ``pg_dump`` is missing or fails."""
    program = shutil.which(pg_dump)
    if program is None:
        raise RuntimeError(f"{pg_dump} not found (Debian: apt install postgresql-client)")
    # Only the URL decides where to connect: PGSERVICE, PGPASSFILE and the like are dropped.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(libpq_environment(url))
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    # Made first with mode 0600: pg_dump truncates the file it is given and keeps its mode.
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        _dump(program, temp, env)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    os.replace(temp, target)


def _dump(program: str, temp: Path, env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 (a fixed program; the path is the operator's)
        [program, "--format=custom", "--no-password", f"--file={temp}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise RuntimeError(f"pg_dump failed: {reason[0]}")
    with open(temp, "rb") as f:
        os.fsync(f.fileno())
