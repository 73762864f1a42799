"""schemathesis against the OpenAPI schema a real server publishes at ``/schema``: no operation
answers 500, whatever the generated request.

Every operation runs twice: as an anonymous caller (mostly refused) and as a logged-in admin
with the CSRF cookie and header, so that generated input reaches the handlers of the admin API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support import Server, login_sync, running_server

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        srv.add_user("hana", PASSWORD, role="counselor")
        yield srv


@pytest.fixture(scope="module")
def schema(server: Server) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[requests.Session]:
    """A requests session logged in as an admin, with the CSRF cookie and its header."""
    session = requests.Session()
    session.cookies.set("mg_session", login_sync(server, "aiko", PASSWORD))
    with httpx.Client(
        base_url=server.url, cookies={"mg_session": session.cookies["mg_session"]}
    ) as http:
        page = http.get("/api/v1/admin/users")
        assert page.status_code == 200, page.status_code
        csrf = page.cookies.get("mg_csrf") or http.cookies.get("mg_csrf")
    assert csrf, "the admin API sets its CSRF cookie"
    session.cookies.set("mg_csrf", csrf)
    session.headers["x-csrftoken"] = csrf
    yield session
    session.close()


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_the_schema_lists_the_admin_api(schema: Any) -> None:
    paths = {op.path for op in operations(schema)}
    assert any(p.startswith("/api/v1/admin") for p in paths), paths


@pytest.mark.parametrize("as_admin", [False, True], ids=["anonymous", "admin"])
def test_no_operation_answers_a_server_error(
    schema: Any, admin: requests.Session, as_admin: bool
) -> None:
    failures = []
    for operation in operations(schema):

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            session = admin if as_admin else requests.Session()
            try:
                response = case.call(session=session, timeout=10)
            finally:
                if not as_admin:
                    session.close()
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}"
            )

        try:
            fuzz()
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_the_admin_session_passes_the_csrf_check(server: Server, admin: requests.Session) -> None:
    """So that the fuzzing above reaches the admin API's handlers, not only its CSRF refusal."""
    response = admin.delete(f"{server.url}/api/v1/admin/canned-responses/424242", timeout=10)
    assert response.status_code == 404, response.status_code


def test_an_id_beyond_sqlite_integers_is_refused_not_a_fault(
    server: Server, admin: requests.Session
) -> None:
    """Found by schemathesis: 2**63 raised OverflowError in the database layer (500)."""
    response = admin.delete(f"{server.url}/api/v1/admin/canned-responses/{2**63}", timeout=10)
    assert response.status_code == 400, response.status_code
