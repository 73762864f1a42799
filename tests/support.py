"""Test harness: a real ``madoguchi serve`` process, real Socket.IO clients over real sockets.

Nothing of the service is mocked: the server runs as a subprocess on a free port with its own
SQLite file, exactly as ``make run`` starts it. Given ``MADOGUCHI_DATABASE_URL`` (and
``MADOGUCHI_REDIS_URL``) in its ``env``, it is one node of a service that several such servers
share; ``query``, ``execute`` and ``add_user`` then reach that PostgreSQL database.

With ``MADOGUCHI_TEST_BACKEND=postgres`` in the environment of pytest (``make test-postgres``),
every server that :func:`running_server` or :func:`running_seeded_server` starts is such a node
instead: a fresh database of the worker's private PostgreSQL, a freshly flushed Redis logical
database and a key of its own in the environment (tests/backends.py starts both servers). The
tests' SQL, written for SQLite, is translated for it (:func:`postgres_sql`); tests about SQLite
itself are marked ``sqlite_only`` and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
import httpx
import socketio

from service.crypto import Sealer, SealError, load_keys, new_key
from service.db.sealing import SEALED_COLUMNS, SEALED_LABELS

if TYPE_CHECKING:
    from tests.backends import Postgres, Redis

PROJECT_DIR = Path(__file__).resolve().parent.parent
CALL_TIMEOUT = 10.0
EVENT_TIMEOUT = 10.0
# "postgres": every test server on PostgreSQL and Redis (``make test-postgres``).
TEST_BACKEND = os.environ.get("MADOGUCHI_TEST_BACKEND", "sqlite")
ON_POSTGRES = TEST_BACKEND == "postgres"
if TEST_BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"MADOGUCHI_TEST_BACKEND must be sqlite or postgres, not {TEST_BACKEND!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``madoguchi serve``. ``kill()`` and ``start()`` simulate crashes.

    ``db_path`` is its SQLite file; its folder also holds the logs (and the key file unless
    ``MADOGUCHI_ENCRYPTION_KEY`` is given). With ``MADOGUCHI_DATABASE_URL`` in ``env`` the file
    is not used, and ``admin_url`` (if set) is the URL the test inspects that database with.
    """

    db_path: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    admin_url: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        """The PostgreSQL database the node serves, or "" for its SQLite file."""
        return self.env.get("MADOGUCHI_DATABASE_URL", "")

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "MADOGUCHI_DB": str(self.db_path),
            "MADOGUCHI_PORT": str(self.port),
            "MADOGUCHI_HOST": "127.0.0.1",
            "MADOGUCHI_PUBLIC_URL": self.url,
            "MADOGUCHI_LOG_LEVEL": "warning",
            # The ward's hours would close the default desk at night and at weekends; tests that
            # are about hours make their own desks.
            "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7",
            # A module's server keeps its conversations open from test to test; the tests of
            # the limit on concurrent chats start servers with their own.
            "MADOGUCHI_MAX_CONCURRENT_CHATS": "1000",
            # Every test client connects from 127.0.0.1; tests/test_limits.py sets its own.
            "MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS": "100000",
            "MADOGUCHI_VISITOR_STARTS_PER_MINUTE": "1000000",
            "MADOGUCHI_VISITOR_START_BURST": "100000",
            **self.env,
        }

    def start(self, timeout: float = 30.0) -> None:
        self.log_path = self.db_path.parent / f"server-{self.port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve"],
                cwd=PROJECT_DIR,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)  # polling a subprocess' readiness, not waiting on behaviour
        raise RuntimeError(f"server did not become healthy:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or a power cut of the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def add_user(
        self,
        username: str,
        password: str,
        role: str = "counselor",
        display_name: str | None = None,
        desks: list[str] | None = None,
    ) -> None:
        args = [sys.executable, "-m", "service", "add-user", username, "--role", role]
        if display_name:
            args += ["--display-name", display_name]
        for desk in desks or []:
            args += ["--desk", desk]
        subprocess.run(
            args,
            input=f"{password}\n".encode(),
            cwd=PROJECT_DIR,
            env=self.environment(),
            check=True,
            capture_output=True,
        )

    def query(
        self, sql: str, params: tuple[Any, ...] = (), *, sealed: bool = False
    ) -> list[tuple[Any, ...]]:
        """Read the database directly, as an auditor holding the key would: sealed values
        come back opened, unless ``sealed`` asks for the bytes as stored. SQL written for
        SQLite runs on PostgreSQL too (:func:`postgres_sql`), where ``opened()`` may only wrap
        a selected column: a sealed value cannot be compared in SQL there."""
        if self.database_url:
            url = self.admin_url or self.database_url
            rows = postgres_rows(url, postgres_sql(sql), params)
            if sealed or not any(isinstance(v, bytes) for row in rows for v in row):
                return rows
            ids = postgres_rows(url, "SELECT id FROM conversation")
            opener = self.sealer()
            return [tuple(_opened(opener, v, [i for (i,) in ids]) for v in row) for row in rows]
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            conversations = [r[0] for r in conn.execute("SELECT id FROM conversation")]
            sealer = self.sealer() if self.key_path.exists() else None
            # In SQL, ``opened(m.body)`` is the text of a sealed column.
            conn.create_function(
                "opened", 1, lambda v: v if sealer is None else _opened(sealer, v, conversations)
            )
            rows = conn.execute(sql, params).fetchall()
            if sealed or not any(isinstance(v, bytes) for row in rows for v in row):
                return rows
            conversations = [r[0] for r in conn.execute("SELECT id FROM conversation")]
        finally:
            conn.close()
        sealer = self.sealer()
        return [tuple(_opened(sealer, v, conversations) for v in row) for row in rows]

    @property
    def key_path(self) -> Path:
        return Path(self.env.get("MADOGUCHI_KEY_FILE") or self.db_path.with_name("madoguchi.key"))

    def sealer(self) -> Sealer:
        return load_keys(self.env.get("MADOGUCHI_ENCRYPTION_KEY", ""), self.key_path, create=False)


def every_row(server: Server) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the database's own (not SQLite's internal ones), as stored
    (sealed values as their bytes), sorted; read on one connection."""
    if not server.database_url:
        conn = sqlite3.connect(server.db_path, timeout=30)
        try:
            names = [
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not name.startswith("sqlite_")
            ]
            # The table names come from the catalogue, not from any input.
            return {t: sorted(conn.execute(f'SELECT * FROM "{t}"'), key=repr) for t in names}  # noqa: S608
        finally:
            conn.close()
    url = server.admin_url or server.database_url

    async def read() -> dict[str, list[tuple[Any, ...]]]:
        conn = await asyncpg.connect(url, timeout=30)
        try:
            names = [
                name
                for (name,) in await conn.fetch(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            ]
            return {
                t: sorted((tuple(r) for r in await conn.fetch(f'SELECT * FROM "{t}"')), key=repr)  # noqa: S608
                for t in names
            }
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=60)


def stored_bytes(server: Server, *, free_space: bool = True) -> bytes:
    """What a stolen disk would hold of the server's database. SQLite: the file, its WAL and
    shared memory. PostgreSQL: every page of the database's tables, their TOAST tables and
    their indexes, read through ``pageinspect`` as the superuser; without ``free_space``, only
    the data of the tables' row versions, dead ones included (a plain VACUUM frees the space of
    a dead version without overwriting it)."""
    if not server.database_url:
        name = server.db_path.name
        files = [p for p in server.db_path.parent.iterdir() if p.name.startswith(name)]
        assert server.db_path in files, "the database file exists"
        return b"".join(p.read_bytes() for p in files)
    url = server.admin_url or server.database_url

    async def pages() -> bytes:
        conn = await asyncpg.connect(url, timeout=30)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
            relations = await conn.fetch(
                "WITH own AS (SELECT c.oid, c.reltoastrelid FROM pg_class AS c"
                " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r'),"
                " heaps AS (SELECT oid FROM own"
                " UNION SELECT reltoastrelid FROM own WHERE reltoastrelid != 0),"
                " relations AS (SELECT oid, true AS heap FROM heaps"
                " UNION SELECT indexrelid, false FROM pg_index"
                " WHERE indrelid IN (SELECT oid FROM heaps))"
                " SELECT oid::regclass::text, heap,"
                " pg_relation_size(oid) / current_setting('block_size')::int FROM relations"
            )
            found = []
            for relation, heap, count in relations:
                for page in range(count):
                    if free_space:
                        found.append(
                            await conn.fetchval("SELECT get_raw_page($1, $2)", relation, page)
                        )
                    elif heap:
                        rows = await conn.fetch(
                            "SELECT t_data FROM heap_page_items(get_raw_page($1, $2))"
                            " WHERE t_data IS NOT NULL",
                            relation,
                            page,
                        )
                        found += [bytes(row[0]) for row in rows]
            return b"\0".join(found)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, pages()).result(timeout=120)


_QUOTED = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")
_USER_TABLE = re.compile(r"\b(FROM|JOIN|INTO|UPDATE)(\s+)user\b", re.IGNORECASE)
_OPENED = re.compile(r"\bopened\(\s*([\w.]+)\s*\)")


def postgres_sql(sql: str) -> str:
    """A test's SQL written for SQLite, as PostgreSQL reads it: ``?`` placeholders numbered
    ``$1``, ``$2``, …, the table ``user`` quoted (a reserved word there) and ``opened(column)``
    the column itself (:meth:`Server.query` opens sealed values after the query). Quoted text
    is left as it is; SQL already written for PostgreSQL passes unchanged."""
    numbers = iter(range(1, sql.count("?") + 1))
    parts = _QUOTED.split(sql)
    for i in range(0, len(parts), 2):  # the even parts are outside quotes
        part = _USER_TABLE.sub(r'\1\2"user"', parts[i])
        part = _OPENED.sub(r"\1", part)
        parts[i] = re.sub(r"\?", lambda _: f"${next(numbers)}", part)
    return "".join(parts)


def postgres_rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """One statement on PostgreSQL through asyncpg, its rows as tuples. It runs on a thread of
    its own, so that sync and async tests alike can call it."""

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url, timeout=30)
        try:
            return [tuple(record) for record in await conn.fetch(sql, *params)]
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def _opened(sealer: Sealer, value: Any, conversations: list[str]) -> Any:
    """A sealed value's text: its associated data is one of the sealed columns and one of the
    conversations, tried in turn."""
    if not isinstance(value, bytes) or value == b"":
        return value
    for column in SEALED_LABELS:
        for conversation_id in conversations:
            with contextlib.suppress(SealError):
                return sealer.open(value, f"{column}:{conversation_id}")
    return value


_test_backends: tuple[Postgres, Redis] | None = None


def use_test_backends(postgres: Postgres, redis_server: Redis) -> None:
    """The worker's private PostgreSQL and Redis, which test servers use under
    ``MADOGUCHI_TEST_BACKEND=postgres`` (tests/conftest.py hands them over)."""
    global _test_backends
    _test_backends = (postgres, redis_server)


@contextlib.contextmanager
def on_test_backend(server: Server) -> Iterator[Server]:
    """Under ``MADOGUCHI_TEST_BACKEND=postgres``, ``server`` becomes a node on a fresh
    database (dropped at the end), a freshly flushed Redis logical database and a key in its
    environment, unless its ``env`` names its own; otherwise it is left on its SQLite file."""
    if not ON_POSTGRES or server.database_url:
        yield server
        return
    assert _test_backends is not None, "tests/conftest.py starts PostgreSQL and Redis first"
    postgres, redis_server = _test_backends
    url = postgres.new_database()
    server.env = {
        "MADOGUCHI_DATABASE_URL": url,
        "MADOGUCHI_REDIS_URL": redis_server.new_url(),
        **({} if "MADOGUCHI_KEY_FILE" in server.env else {"MADOGUCHI_ENCRYPTION_KEY": new_key()}),
        **server.env,
    }
    server.admin_url = server.admin_url or postgres.admin_url(url)
    try:
        yield server
    finally:
        server.stop()
        postgres.sql(f"DROP DATABASE IF EXISTS {postgres.database_name(url)} WITH (FORCE)")


@contextlib.contextmanager
def running_server(env: dict[str, str] | None = None, admin_url: str = "") -> Iterator[Server]:
    """A started server in a temporary folder. A node of a shared service gets
    ``MADOGUCHI_DATABASE_URL``, ``MADOGUCHI_REDIS_URL`` and ``MADOGUCHI_ENCRYPTION_KEY`` in
    ``env`` and, to inspect the database, ``admin_url``; its port is its own either way."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-test-") as tmp:
        server = Server(db_path=Path(tmp) / "madoguchi.sqlite3", env=env or {}, admin_url=admin_url)
        with on_test_backend(server):
            server.start()
            try:
                yield server
            except BaseException:
                sys.stderr.write(f"--- server log ---\n{server.logs()}\n")
                raise
            finally:
                server.stop()


async def login(server: Server, username: str, password: str) -> str:
    """Log in through the real form (CSRF token included); returns the session cookie value."""
    jar = aiohttp.CookieJar(unsafe=True)  # unsafe: allow cookies for an IP address host
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{server.url}/inbox/login") as page:
            html = await page.text()
        match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
        assert match, "the login page has a CSRF token"
        form = {"username": username, "password": password, "_csrf_token": match.group(1)}
        async with http.post(
            f"{server.url}/inbox/login", data=form, allow_redirects=False
        ) as response:
            assert response.status == 303, f"login failed with {response.status}"
            return response.cookies["mg_session"].value


class Client:
    """A real ``socketio.AsyncClient`` on one namespace that records every event it receives."""

    def __init__(self, namespace: str, transport: str = "websocket") -> None:
        self.namespace = namespace
        self.transport = transport
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.connect_error: Any = None
        self._changed = asyncio.Event()
        self.sio.on("*", self._record, namespace=namespace)
        self.sio.on("connect_error", self._refused, namespace=namespace)
        self.sio.on("disconnect", self._dropped, namespace=namespace)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        self._changed.set()

    async def _refused(self, data: Any = None) -> None:
        self.connect_error = data

    async def _dropped(self, reason: Any = None) -> None:
        """Recorded as a ``disconnect`` event, so tests can wait for the server to drop us."""
        await self._record("disconnect", reason)

    async def connect(
        self, url: str, *, auth: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        await self.sio.connect(
            url,
            namespaces=[self.namespace],
            auth=auth,
            headers=headers or {},
            transports=[self.transport],
            wait_timeout=10,
        )

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=CALL_TIMEOUT)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    def received(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def wait_for(
        self, event: str, predicate: Any = None, timeout: float = EVENT_TIMEOUT
    ) -> Any:
        """The first ``event`` (already received or still to come) that matches ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for name, data in self.events:
                if name == event and (predicate is None or predicate(data)):
                    return data
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} event matched; got {self.events!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def queue(self) -> dict[str, Any]:
        """A counselor's queue as the inbox keeps it: the last ``queue``, with every
        ``queue_update`` since applied in order (docs/protocol.md)."""
        items: dict[str, Any] = {}
        for name, data in self.events:
            if name == "queue":
                items = {item["id"]: item for item in data["conversations"]}
            elif name == "queue_update":
                items.pop(data["id"], None)
                if data["conversation"] is not None:
                    items[data["id"]] = data["conversation"]
        return {"conversations": sorted(items.values(), key=queue_key)}

    async def wait_for_queue(self, predicate: Any = None, timeout: float = EVENT_TIMEOUT) -> Any:
        """The queue (as :meth:`queue`) once it matches ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.received("queue") and (predicate is None or predicate(self.queue())):
                return self.queue()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"the queue never matched; it is {self.queue()!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def disconnect(self) -> None:
        if self.transport != "polling" or not self.sio.connected:
            await self.sio.disconnect()
            return
        # A polling client's disconnect waits for its pending long-poll GET, which the server
        # answers only at the next ping (25 s). A browser aborts that request; so do we.
        eio = self.sio.eio
        reader = eio.read_loop_task
        for namespace in list(self.sio.namespaces):
            goodbye = self.sio.packet_class(socketio.packet.DISCONNECT, namespace=namespace)
            await eio.send(goodbye.encode())
        await eio.disconnect(abort=True)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if eio.http is not None and not eio.http.closed:
            await eio.http.close()


def queue_key(item: dict[str, Any]) -> tuple[bool, str, str]:
    """The server's order of a queue: urgent first, then longest waiting."""
    return (not (item["urgent"] or item["risk"] == "urgent"), item["waiting_since"], item["id"])


async def visitor(server: Server, transport: str = "websocket", **auth: Any) -> Client:
    client = Client("/visitor", transport)
    await client.connect(server.url, auth=auth or None)
    return client


async def counselor(server: Server, cookie: str, transport: str = "websocket") -> Client:
    client = Client("/counselor", transport)
    await client.connect(server.url, headers={"Cookie": f"mg_session={cookie}"})
    return client


def client_id() -> str:
    return uuid.uuid4().hex


def assert_error(ack: Any, code: str) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == code, ack
    assert isinstance(ack["error"]["message"], str)


# -- Helpers for the protocol, validation and access tests ------------------------------------


def migrate_database(server: Server) -> None:
    """Create the database with ``madoguchi migrate``, before the server first starts."""
    subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=PROJECT_DIR,
        env=server.environment(),
        check=True,
        capture_output=True,
    )


def execute(server: Server, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Write to the database directly (seeding what no command creates yet); SQL written for
    SQLite is translated for PostgreSQL as in :meth:`Server.query`."""
    if server.database_url:
        postgres_rows(server.admin_url or server.database_url, postgres_sql(sql), params)
        return
    conn = sqlite3.connect(server.db_path, timeout=30)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


@contextlib.contextmanager
def running_seeded_server(
    statements: list[str],
    env: dict[str, str] | None = None,
    prepare: Callable[[Server], None] | None = None,
) -> Iterator[Server]:
    """As :func:`running_server`, with ``statements`` run on the migrated database first (and
    then ``prepare``, e.g. to add accounts), so the server loads what they create at start
    instead of up to a second later."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-test-") as tmp:
        server = Server(db_path=Path(tmp) / "madoguchi.sqlite3", env=env or {})
        with on_test_backend(server):
            migrate_database(server)
            for sql in statements:
                execute(server, sql)
            if server.database_url:
                seal_seeded_text(server)
            if prepare is not None:
                prepare(server)
            server.start()
            try:
                yield server
            except BaseException:
                sys.stderr.write(f"--- server log ---\n{server.logs()}\n")
                raise
            finally:
                server.stop()


def seal_seeded_text(server: Server) -> None:
    """On PostgreSQL, seal the text that seeding SQL put in sealed columns. SQLite's first start
    seals such text itself (databases of versions before sealing held it); a PostgreSQL
    database never held any, and its store refuses a value that is not sealed."""
    url = server.admin_url or server.database_url
    sealer = server.sealer()
    for table, key, conversation, column in SEALED_COLUMNS:
        rows = postgres_rows(
            url,
            f"SELECT {key}, {conversation}, {column} FROM {table} "  # noqa: S608 (constants)
            f"WHERE {column} IS NOT NULL AND {column} != ''::bytea",
        )
        for row_key, conversation_id, value in rows:
            aad = f"{table}.{column}:{conversation_id}"
            try:
                sealer.open(bytes(value), aad)
                continue
            except SealError:
                text = bytes(value).decode()
            postgres_rows(
                url,
                f"UPDATE {table} SET {column} = $1 "  # noqa: S608 (constants)
                f"WHERE {conversation} = $2 AND {key} = $3",
                (sealer.seal(text, aad), conversation_id, row_key),
            )
            if column == "code_word":
                postgres_rows(
                    url,
                    "UPDATE conversation SET code_word_mac = $1 WHERE id = $2",
                    (sealer.lookup(text), conversation_id),
                )


def _csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page has a CSRF token"
    return match.group(1)


def login_sync(server: Server, username: str, password: str) -> str:
    """As :func:`login`, without an event loop: for module-scoped fixtures."""
    with httpx.Client(base_url=server.url) as http:
        form = {
            "username": username,
            "password": password,
            "_csrf_token": _csrf_token(http.get("/inbox/login").text),
        }
        response = http.post("/inbox/login", data=form)
        assert response.status_code == 303, f"login failed with {response.status_code}"
        return str(response.cookies["mg_session"])


def logout_sync(server: Server, session: str) -> None:
    """Log out through the inbox's own form (CSRF token included)."""
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        page = http.get("/inbox")
        assert page.status_code == 200, f"not logged in: {page.status_code}"
        response = http.post("/inbox/logout", data={"_csrf_token": _csrf_token(page.text)})
        assert response.status_code == 303, f"logout failed with {response.status_code}"


async def refusal(
    server: Server,
    namespace: str,
    *,
    transport: str = "websocket",
    auth: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Connect expecting a refusal; returns the connect error's ``data`` (``{"code": ...}``).

    Connects without waiting, so that a refused polling client can abort its long-poll at once
    instead of waiting for the server's next ping.
    """
    client = Client(namespace, transport)
    answered = asyncio.Event()
    outcome: dict[str, Any] = {}

    def connected() -> None:
        outcome["connected"] = True
        answered.set()

    def refused(data: Any = None) -> None:
        outcome["error"] = data
        answered.set()

    client.sio.on("connect", connected, namespace=namespace)
    client.sio.on("connect_error", refused, namespace=namespace)
    try:
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await client.sio.connect(
                server.url,
                namespaces=[namespace],
                auth=auth,
                headers=headers or {},
                transports=[transport],
                wait=False,
            )
        await asyncio.wait_for(answered.wait(), EVENT_TIMEOUT)
    finally:
        await client.disconnect()
    assert "connected" not in outcome, f"{namespace} accepted a connection it must refuse"
    error = outcome["error"]
    assert isinstance(error, dict) and isinstance(error.get("message"), str), error
    return error.get("data")


class Clients:
    """Connects a test's clients and disconnects them all when it ends, failed or not."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.connected: list[Client] = []

    async def visitor(
        self, transport: str = "websocket", headers: dict[str, str] | None = None, **auth: Any
    ) -> Client:
        client = Client("/visitor", transport)
        self.connected.append(client)
        await client.connect(self.server.url, auth=auth or None, headers=headers)
        return client

    async def counselor(
        self, session: str, transport: str = "websocket", headers: dict[str, str] | None = None
    ) -> Client:
        client = Client("/counselor", transport)
        self.connected.append(client)
        await client.connect(
            self.server.url, headers={"Cookie": f"mg_session={session}", **(headers or {})}
        )
        return client

    async def close(self) -> None:
        for client in self.connected:
            with contextlib.suppress(Exception):
                await client.disconnect()


def snapshot(server: Server) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the service keeps (a session's last use aside): equal before and after a
    refused request shows that it changed nothing."""
    return {
        table: server.query(sql)
        for table, sql in {
            "conversation": "SELECT * FROM conversation ORDER BY id",
            "message": "SELECT * FROM message ORDER BY conversation_id, seq",
            "session": "SELECT id_hash, user_id, created_at FROM session ORDER BY id_hash",
            "user": "SELECT * FROM user ORDER BY id",
            "user_desk": "SELECT * FROM user_desk ORDER BY user_id, desk_id",
            "desk": "SELECT * FROM desk ORDER BY id",
            "partner": "SELECT * FROM partner ORDER BY id",
        }.items()
    }


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The process hangs (SIGSTOP) until the block ends, as a stuck writer would."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
