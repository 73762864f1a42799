"""The admin pages, the admin API and the command line are three doors to the same operations:
the same input gives the same stored result, and the same bad input the same refusal.

Each setting is made three times with its own key: through the page's form and the JSON API on
one server, and with ``madoguchi`` on a database that a second server then reads. What
``GET /api/v1/admin/...`` returns for the three must be the same, keys aside.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, login_sync, migrate_database, running_server
from tests.test_cli import MADOGUCHI

Json = dict[str, Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        yield srv


@pytest.fixture(scope="module")
def aiko(server: Server) -> Iterator[httpx.Client]:
    """An admin's browser: the session and the CSRF cookie, whose value goes in the header."""
    session = login_sync(server, "aiko", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as http:
        http.get("/api/v1/admin/me")
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        # The first start's admin steps down: aiko is the last admin, as on the CLI's database.
        assert api(http, "PATCH", "/users/admin", {"active": False}).status_code == 200
        yield http


@pytest.fixture(scope="module")
def cli_db() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="madoguchi-parity-") as tmp:
        yield Path(tmp) / "cli.sqlite3"


def cli(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MADOGUCHI_DB": str(db), "MADOGUCHI_DEFAULT_DESK_HOURS": "24/7"}
    return subprocess.run(
        [str(MADOGUCHI), *args],
        input=stdin,
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def cli_ok(db: Path, *args: str, stdin: str = "") -> str:
    done = cli(db, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def form(http: httpx.Client, path: str, data: dict[str, Any]) -> httpx.Response:
    """Post a page's form as a browser does (no script: urlencoded, repeated names)."""
    return http.post(path, data=data, follow_redirects=False)


def api(http: httpx.Client, method: str, path: str, body: Json) -> httpx.Response:
    return http.request(method, f"/api/v1/admin{path}", json=body)


# What each interface is given: the same settings, each with its own key.

DESK = {
    "name": "夜間窓口",
    "description": "平日夜間のチャット相談",
    "phones": ["03-1111-2222", "03-3333-4444"],
    "hours": "TUE,THU 18:00-21:00",
    "closures": "",
}
PARTNER = {
    "name": "中央図書館",
    "origins": ["https://Lib.Example.jp:443/", "https://lib.example.jp:8443"],
    "exit_url": "https://www.city.example.jp/",
    "lang": "en",
}
CAMPAIGN = {"name": "区報ポスター", "partner": "ward"}
USER = {"role": "supervisor", "display_name": "美香"}
TAG = {"label_ja": "住まい", "label_en": "Housing"}
CANNED = {"title": "挨拶", "body": "こんにちは。ご相談ください。"}


def by_page(http: httpx.Client, key: str) -> None:
    desk = {**DESK, "key": f"{key}-desk", "phones": "\n".join(DESK["phones"])}
    assert form(http, "/admin/desks", desk).status_code == 303
    partner = {**PARTNER, "key": f"{key}-partner", "origins": "\n".join(PARTNER["origins"])}
    partner["desk"] = f"{key}-desk"
    assert form(http, "/admin/partners", partner).status_code == 303
    campaign = {**CAMPAIGN, "code": f"{key}-poster", "desk": f"{key}-desk"}
    assert form(http, "/admin/campaigns", campaign).status_code == 303
    user = {**USER, "username": f"{key}-user", "desk_scope": "some", "desks": [f"{key}-desk"]}
    assert form(http, "/admin/users", user).status_code == 200
    everywhere = {**USER, "username": f"{key}-all", "desk_scope": "all"}
    assert form(http, "/admin/users", everywhere).status_code == 200
    assert form(http, "/admin/tags", {**TAG, "key": f"{key}-tag"}).status_code == 303
    assert form(http, "/admin/canned", {**CANNED, "desk": f"{key}-desk"}).status_code == 303
    # Then the changes: end, disable, deactivate.
    for path in (f"/admin/partners/{key}-partner", f"/admin/campaigns/{key}-poster"):
        current = {"name": PARTNER["name"] if "partner" in path else CAMPAIGN["name"]}
        assert form(http, path, current).status_code == 303  # the box left unticked
    assert form(http, f"/admin/users/{key}-user", {"active": "0"}).status_code == 303
    tag = {**TAG, "label_en": "Housing, moving"}  # "enabled" unticked
    assert form(http, f"/admin/tags/{key}-tag", tag).status_code == 303


def by_api(http: httpx.Client, key: str) -> None:
    def ok(method: str, path: str, body: Json) -> None:
        done = api(http, method, path, body)
        assert done.status_code in (200, 201), done.text

    ok("POST", "/desks", {**DESK, "key": f"{key}-desk"})
    ok("POST", "/partners", {**PARTNER, "key": f"{key}-partner", "desk": f"{key}-desk"})
    ok("POST", "/campaigns", {**CAMPAIGN, "code": f"{key}-poster", "desk": f"{key}-desk"})
    ok("POST", "/users", {**USER, "username": f"{key}-user", "desks": [f"{key}-desk"]})
    ok("POST", "/users", {**USER, "username": f"{key}-all", "desks": "all"})
    ok("POST", "/topic-tags", {**TAG, "key": f"{key}-tag"})
    ok("POST", "/canned-responses", {**CANNED, "desk": f"{key}-desk"})
    ok("PATCH", f"/partners/{key}-partner", {"enabled": False})
    ok("PATCH", f"/campaigns/{key}-poster", {"enabled": False})
    ok("PATCH", f"/users/{key}-user", {"active": False})
    ok("PATCH", f"/topic-tags/{key}-tag", {"label_en": "Housing, moving", "enabled": False})


def by_cli(db: Path, key: str) -> None:
    phones = [arg for phone in DESK["phones"] for arg in ("--phone", phone)]
    cli_ok(db, "desk", "add", f"{key}-desk", "--name", DESK["name"],
           "--description", DESK["description"], *phones, "--hours", DESK["hours"],
           "--closures", "")  # fmt: skip
    origins = [arg for origin in PARTNER["origins"] for arg in ("--origin", origin)]
    cli_ok(db, "partner", "add", f"{key}-partner", "--name", PARTNER["name"], *origins,
           "--exit-url", PARTNER["exit_url"], "--desk", f"{key}-desk", "--lang", "en")  # fmt: skip
    cli_ok(db, "campaign", "add", f"{key}-poster", "--name", CAMPAIGN["name"],
           "--partner", "ward", "--desk", f"{key}-desk")  # fmt: skip
    cli_ok(db, "user", "add", f"{key}-user", "--role", "supervisor", "--display-name", "美香",
           "--desk", f"{key}-desk", "--generate")  # fmt: skip
    cli_ok(db, "add-user", f"{key}-all", "--role", "supervisor", "--display-name", "美香",
           "--all-desks", stdin=f"{PASSWORD}\n")  # fmt: skip
    cli_ok(db, "tag", "add", f"{key}-tag", "--label-ja", TAG["label_ja"],
           "--label-en", TAG["label_en"])  # fmt: skip
    cli_ok(db, "canned", "add", "--title", CANNED["title"], "--body", CANNED["body"],
           "--desk", f"{key}-desk")  # fmt: skip
    cli_ok(db, "partner", "disable", f"{key}-partner")
    cli_ok(db, "campaign", "end", f"{key}-poster")
    cli_ok(db, "user", "deactivate", f"{key}-user")
    cli_ok(db, "tag", "update", f"{key}-tag", "--label-en", "Housing, moving", "--disable")


def settings_of(http: httpx.Client, key: str) -> Json:
    """Everything the API shows of what was made with ``key``, with the key taken out."""

    def mine(rows: list[Json], field: str) -> list[Json]:
        return [r for r in rows if str(r[field]).startswith(f"{key}-")]

    got = {
        "desks": mine(http.get("/api/v1/admin/desks").json()["desks"], "key"),
        "partners": mine(http.get("/api/v1/admin/partners").json()["partners"], "key"),
        "campaigns": mine(http.get("/api/v1/admin/campaigns").json()["campaigns"], "code"),
        "users": mine(http.get("/api/v1/admin/users").json()["users"], "username"),
        "tags": mine(http.get("/api/v1/admin/topic-tags").json()["topic_tags"], "key"),
        "canned": [
            {k: v for k, v in c.items() if k != "id"}
            for c in http.get("/api/v1/admin/canned-responses").json()["canned_responses"]
            if c["desk"] == f"{key}-desk"
        ],
    }
    same: Json = json.loads(json.dumps(got, ensure_ascii=False).replace(f"{key}-", "KEY-"))
    return same


def without_origin(settings: Json, server: Server) -> Json:
    """Addresses hold the server's own origin, which differs between the two servers."""
    for row in settings["partners"]:
        row["snippet"] = row["snippet"].replace(server.url, "ORIGIN")
    for row in settings["campaigns"]:
        row["url"] = row["url"].replace(server.url, "ORIGIN")
    return settings


def test_the_same_settings_through_page_api_and_cli_come_out_the_same(
    server: Server, aiko: httpx.Client, cli_db: Path
) -> None:
    by_page(aiko, "page")
    by_api(aiko, "api")
    by_cli(cli_db, "cli")
    page = without_origin(settings_of(aiko, "page"), server)
    through_api = without_origin(settings_of(aiko, "api"), server)
    assert page == through_api
    # Each door stored something: a desk, a partner, a campaign, two users, a tag, a response.
    assert [len(v) for v in page.values()] == [1, 1, 1, 2, 1, 1]
    assert page["users"][0]["desks"] == "all" and page["users"][1]["desks"] == ["KEY-desk"]
    assert page["desks"][0]["hours"] == "tue,thu 18:00-21:00"
    assert page["partners"][0]["origins"] == [
        "https://lib.example.jp",
        "https://lib.example.jp:8443",
    ]
    second = Server(db_path=cli_db, env={"MADOGUCHI_DEFAULT_DESK_HOURS": "24/7"})
    second.start()
    try:
        second.add_user("aiko", PASSWORD, role="admin")
        session = login_sync(second, "aiko", PASSWORD)
        with httpx.Client(base_url=second.url, cookies={"mg_session": session}) as http:
            assert without_origin(settings_of(http, "cli"), second) == page
    finally:
        second.stop()


def test_the_audit_log_records_the_same_change_from_each_door(
    server: Server, aiko: httpx.Client, cli_db: Path
) -> None:
    def detail(rows: list[tuple[Any, ...]], target: str) -> str:
        return next(str(d) for t, d in rows if t == target)

    here = server.query("SELECT target, detail FROM audit_log WHERE action = 'desk.create'")
    there = Server(db_path=cli_db).query(
        "SELECT target, detail FROM audit_log WHERE action = 'desk.create'"
    )
    assert detail(here, "desk:page-desk") == detail(here, "desk:api-desk")
    assert detail(here, "desk:page-desk") == detail(there, "desk:cli-desk")
    changes = "SELECT DISTINCT actor FROM audit_log WHERE action NOT LIKE 'login%'"
    assert Server(db_path=cli_db).query(changes) == [("cli",)]


def test_emergency_contacts_set_from_each_door_read_back_the_same(
    server: Server, aiko: httpx.Client
) -> None:
    wanted = [
        {
            "name": "警察",
            "number": "110",
            "note_ja": "緊急時",
            "note_en": "Emergency",
            "name_en": "Police",
            "name_kana": "けいさつ",
            "note_easy": "きんきゅうの とき",
        },
        {
            "name": "DV相談ナビ",
            "number": "#8008",
            "note_ja": "",
            "note_en": "",
            "name_en": "",
            "name_kana": "",
            "note_easy": "",
        },
    ]
    # The page's form: one fieldset a contact, its fields named by its place in the list.
    typed = {f"{n}-{field}": value for n, c in enumerate(wanted) for field, value in c.items()}
    assert form(aiko, "/admin/contacts", {**typed, "action": "save"}).status_code == 303
    from_page = aiko.get("/api/v1/admin/emergency-contacts").json()
    assert from_page == {"contacts": wanted}
    api(aiko, "PUT", "/emergency-contacts", {"contacts": list(reversed(wanted))})
    assert aiko.get("/api/v1/admin/emergency-contacts").json()["contacts"] == wanted[::-1]
    with tempfile.TemporaryDirectory(prefix="madoguchi-parity-") as tmp:
        db = Path(tmp) / "c.sqlite3"
        cli_ok(db, "contact", "set", "--contact", "警察", "110", "緊急時", "Emergency", "Police",
               "けいさつ", "--contact", "DV相談ナビ", "#8008")  # fmt: skip
        listed = cli_ok(db, "contact", "list")
    assert (
        listed == "警察\t110\t緊急時\tEmergency\tPolice\tけいさつ\t\nDV相談ナビ\t#8008\t\t\t\t\t\n"
    )


# The same bad input through each door: (page path, form), (API method, path, body), CLI args.
REFUSALS: list[tuple[str, tuple[str, Json], tuple[str, str, Json], list[str] | None]] = [
    (
        "desk 'general' exists already",
        ("/admin/desks", {"key": "general", "name": "again", "hours": "24/7"}),
        ("POST", "/desks", {"key": "general", "name": "again", "hours": "24/7"}),
        ["desk", "add", "general", "--name", "again", "--hours", "24/7"],
    ),
    (
        "is not a time range",
        ("/admin/desks", {"key": "bad-hours", "name": "x", "hours": "mon 9-17"}),
        ("POST", "/desks", {"key": "bad-hours", "name": "x", "hours": "mon 9-17"}),
        ["desk", "add", "bad-hours", "--name", "x", "--hours", "mon 9-17"],
    ),
    (
        "key 'Bad Key'",
        ("/admin/partners", {"key": "Bad Key", "name": "x"}),
        ("POST", "/partners", {"key": "Bad Key", "name": "x"}),
        ["partner", "add", "Bad Key", "--name", "x"],
    ),
    (
        "example.jp",
        ("/admin/partners", {"key": "p", "name": "x", "origins": "example.jp"}),
        ("POST", "/partners", {"key": "p", "name": "x", "origins": ["example.jp"]}),
        ["partner", "add", "p", "--name", "x", "--origin", "example.jp"],
    ),
    (
        "the default partner cannot be disabled",
        ("/admin/partners/ward", {"name": "区ホームページ"}),
        ("PATCH", "/partners/ward", {"enabled": False}),
        ["partner", "disable", "ward"],
    ),
    (
        'desks: choose at least one desk, or "all"',
        ("/admin/users", {"username": "nodesk", "role": "counselor", "desk_scope": "some"}),
        ("POST", "/users", {"username": "nodesk", "role": "counselor", "desks": []}),
        None,  # the command line has no way to name no desk
    ),
    (
        "no desk 'nowhere'",
        (
            "/admin/users",
            {"username": "lost", "role": "counselor", "desk_scope": "some", "desks": "nowhere"},
        ),
        ("POST", "/users", {"username": "lost", "role": "counselor", "desks": ["nowhere"]}),
        ["user", "add", "lost", "--role", "counselor", "--desk", "nowhere", "--generate"],
    ),
    (
        "at least one active admin must remain",
        ("/admin/users/aiko", {"role": "counselor"}),
        ("PATCH", "/users/aiko", {"role": "counselor"}),
        ["user", "update", "aiko", "--role", "counselor"],
    ),
]


@pytest.mark.parametrize(("says", "page", "call", "args"), REFUSALS, ids=lambda v: str(v)[:30])
def test_the_same_bad_input_is_refused_the_same_way_everywhere(
    server: Server,
    aiko: httpx.Client,
    says: str,
    page: tuple[str, Json],
    call: tuple[str, str, Json],
    args: list[str] | None,
) -> None:
    before = server.query("SELECT COUNT(*) FROM audit_log WHERE action NOT LIKE 'login%'")
    shown = form(aiko, *page)
    assert shown.status_code == 400 and says in html.unescape(shown.text)
    answered = api(aiko, *call)
    assert answered.status_code in (400, 409)
    assert says in answered.json()["error"]["message"]
    assert before == server.query("SELECT COUNT(*) FROM audit_log WHERE action NOT LIKE 'login%'")
    if args is None:
        return
    with tempfile.TemporaryDirectory(prefix="madoguchi-parity-") as tmp:
        db = Path(tmp) / "r.sqlite3"
        # The database the CLI refuses on holds what the server's did: an admin named aiko.
        cli_ok(db, "add-user", "aiko", "--role", "admin", stdin=f"{PASSWORD}\n")
        refused = cli(db, *args)
        assert refused.returncode != 0
        assert says in refused.stderr
        kept = Server(db_path=db).query("SELECT action FROM audit_log ORDER BY id")
        assert kept == [("user.create",)]


def test_a_server_started_on_a_migrated_database_sees_the_cli_settings(tmp_path: Path) -> None:
    """The CLI's database is the service's: ``migrate`` then settings, then ``serve``."""
    fresh = Server(db_path=tmp_path / "m.sqlite3")
    migrate_database(fresh)
    cli_ok(fresh.db_path, "desk", "add", "late", "--name", "遅番", "--hours", "24/7")
    fresh.start()
    try:
        desks = httpx.get(f"{fresh.url}/api/v1/desks").json()["desks"]
        assert [d["key"] for d in desks] == ["general", "late"]
    finally:
        fresh.stop()


def test_a_supervisors_canned_responses_go_through_the_same_operations(
    server: Server, aiko: httpx.Client
) -> None:
    """The supervisors' own page at /inbox/canned: the admin's checks and audit entries."""
    server.add_user("mori", PASSWORD, role="supervisor")
    session = login_sync(server, "mori", PASSWORD)
    with httpx.Client(base_url=server.url, cookies={"mg_session": session}) as mori:
        page = mori.get("/inbox/canned")
        mori.headers["X-CSRFToken"] = mori.cookies["mg_csrf"]
        assert page.status_code == 200
        blank = {"title": "夜間", "body": " ", "desk": ""}
        refused = form(mori, "/inbox/canned", blank)
        answered = api(aiko, "POST", "/canned-responses", blank)
        assert refused.status_code == answered.status_code == 400
        said = answered.json()["error"]["message"]
        assert said == "text is required" and said in html.unescape(refused.text)
        assert form(mori, "/inbox/canned", {**blank, "body": "夜間の案内です。"}).status_code == 303
        made = next(
            c
            for c in aiko.get("/api/v1/admin/canned-responses").json()["canned_responses"]
            if c["title"] == "夜間"
        )
        assert made["desk"] is None
        changed = form(mori, f"/inbox/canned/{made['id']}", {"title": "夜間", "body": "変更"})
        assert changed.status_code == 303
        assert form(mori, f"/inbox/canned/{made['id']}", {"delete": "1"}).status_code == 303
    audited = server.query(
        "SELECT actor, action FROM audit_log WHERE target = ? ORDER BY id",
        (f"canned:{made['id']}",),
    )
    assert audited == [
        ("mori", "canned.create"),
        ("mori", "canned.update"),
        ("mori", "canned.delete"),
    ]
