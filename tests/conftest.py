"""Fixtures: a real server per test module, named staff personas, connected clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.backends import postgres, redis_server  # noqa: F401 (fixtures for every module)
from tests.support import (
    ON_POSTGRES,
    Client,
    Clients,
    Server,
    counselor,
    login,
    login_sync,
    running_server,
    use_test_backends,
    visitor,
)

PASSWORD = "correct horse battery staple"

# Named personas, so that tests read as stories: two counselors on every desk.
STAFF = {
    "hana": ("counselor", "花子"),
    "ren": ("counselor", "蓮"),
}


# Markers of tests that do not apply under MADOGUCHI_TEST_BACKEND=postgres, where every test
# server stores in PostgreSQL and shares Redis, and what each is about.
LOCAL_ONLY = {
    "sqlite_only": "about SQLite itself",
    "without_redis": "about one process on its own, without Redis",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``MADOGUCHI_TEST_BACKEND=postgres``, tests about SQLite itself, or about one
    process without Redis, are skipped."""
    if not ON_POSTGRES:
        return
    for item in items:
        for name, about in LOCAL_ONLY.items():
            marker = item.get_closest_marker(name)
            if marker is not None:
                reason = marker.args[0] if marker.args else about
                item.add_marker(pytest.mark.skip(reason=f"{name}: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def test_backends(request: pytest.FixtureRequest) -> None:
    """Under ``MADOGUCHI_TEST_BACKEND=postgres``, this worker's private PostgreSQL and Redis
    serve every test server (tests/support.py)."""
    if ON_POSTGRES:
        use_test_backends(
            request.getfixturevalue("postgres"), request.getfixturevalue("redis_server")
        )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        for username, (role, display_name) in STAFF.items():
            srv.add_user(username, PASSWORD, role=role, display_name=display_name)
        yield srv


@pytest.fixture(params=["websocket", "polling"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def hana(server: Server, transport: str) -> AsyncIterator[Client]:
    client = await counselor(server, await login(server, "hana", PASSWORD), transport)
    yield client
    await client.disconnect()


@pytest.fixture
async def ren(server: Server) -> AsyncIterator[Client]:
    client = await counselor(server, await login(server, "ren", PASSWORD))
    yield client
    await client.disconnect()


@pytest.fixture
async def guest(server: Server, transport: str) -> AsyncIterator[Client]:
    """A visitor connected from the demo partner's page, not yet in a conversation."""
    client = await visitor(server, transport, partner="demo")
    yield client
    await client.disconnect()


@pytest.fixture(scope="module")
def hana_session(server: Server) -> str:
    """hana's session cookie, logged in once per module (argon2 makes each login cost)."""
    return login_sync(server, "hana", PASSWORD)


@pytest.fixture(scope="module")
def ren_session(server: Server) -> str:
    return login_sync(server, "ren", PASSWORD)


@pytest.fixture
async def clients(server: Server) -> AsyncIterator[Clients]:
    """Connects any number of visitors and counselors; all are disconnected afterwards."""
    connected = Clients(server)
    yield connected
    await connected.close()
