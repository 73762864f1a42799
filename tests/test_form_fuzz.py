"""Property-based fuzzing of every HTML form: whatever a logged-in user posts, with a
valid CSRF token, the server answers without a 500, and a refused post changes nothing.

The routes come from the app itself (tests/test_csrf_sweep.py), so a new form is fuzzed
without a word here. The JSON API is fuzzed from its schema in tests/test_openapi_fuzz.py.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Server
from tests.test_csrf_sweep import (  # noqa: F401 (fixtures used by name)
    EXISTING,
    MISSING,
    Route,
    csrf_cookie,
    everything,
    server,
    sessions,
    unsafe_routes,
)

# Routes whose success would end the sessions this test relies on; their refusals are still
# checked by the CSRF sweep and by tests/test_login.py.
SKIPPED = {"/inbox/logout", "/inbox/login", "/inbox/password"}


def forms() -> list[Route]:
    return [r for r in unsafe_routes() if not r.is_api and r.path not in SKIPPED]


# Field names the forms use, plus strangers: a form must cope with both.
NAMES = [
    "name", "title", "body", "key", "code", "desk", "partner", "phones", "hours", "closures",
    "description", "origins", "exit_url", "lang", "enabled", "role", "display_name", "username",
    "purpose", "code_word", "tag", "outcome", "from", "to", "x", "_method",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(["", " ", "on", "0", "-1", "9" * 30, "general", "hana", "<script>", "\x00"]),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # Deferred: reading the routes builds the app, which collection should not do.
    route=st.deferred(lambda: st.sampled_from(forms())),
    existing=st.booleans(),
    fields=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8),
)
def test_no_form_post_breaks_the_server_or_changes_anything_when_refused(
    server: Server,  # noqa: F811
    sessions: dict[str, str],  # noqa: F811
    csrf_cookie: str,  # noqa: F811
    route: Route,
    existing: bool,
    fields: dict[str, Any],
) -> None:
    cookies = {"mg_session": sessions[route.role or "counselor"], "mg_csrf": csrf_cookie}
    before = everything(server)
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        response = http.request(
            route.method,
            route.url(EXISTING if existing else MISSING),
            data={**fields, "_csrf_token": csrf_cookie},
        )
    assert response.status_code < 500, (route.method, route.path, fields, response.text[:300])
    if response.status_code >= 400:
        assert everything(server) == before, (route.method, route.path, fields)


def test_the_fuzz_reaches_the_forms_of_every_area() -> None:
    paths = {r.path for r in forms()}
    for prefix in ("/admin/desks", "/admin/partners", "/admin/campaigns", "/inbox/closed/"):
        assert any(p.startswith(prefix) for p in paths), prefix
