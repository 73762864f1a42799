"""The login throttle counts a guess before its password is checked, so concurrent guesses
cannot slip past it; it delays rather than locks for good; an admin's unlock from the command
line reaches the running server."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time

import httpx

from service.domain.login_throttle import Attempt, LoginThrottle
from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Server, running_server

GUESSES = 60
NEW_PASSWORD = "a much longer passphrase now"
NOT_HUNG = 30.0  # generous: "answered, not held"


async def csrf_client(server: Server) -> tuple[httpx.AsyncClient, str]:
    """A browser-like client with the login form's CSRF token (its cookie kept)."""
    limits = httpx.Limits(max_connections=GUESSES + 10)
    http = httpx.AsyncClient(base_url=server.url, timeout=NOT_HUNG, limits=limits)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', (await http.get("/inbox/login")).text)
    assert token
    return http, token.group(1)


async def log_in(
    http: httpx.AsyncClient, token: str, username: str, password: str
) -> httpx.Response:
    form = {"username": username, "password": password, "_csrf_token": token}
    return await http.post("/inbox/login", data=form)


async def guess_at_once(server: Server, username: str, count: int) -> list[int]:
    http, token = await csrf_client(server)
    try:
        answers = await asyncio.gather(
            *[log_in(http, token, username, f"guess {i}") for i in range(count)]
        )
    finally:
        await http.aclose()
    return [answer.status_code for answer in answers]


def failed_logins(server: Server, username: str) -> int:
    """How many guesses reached the password check: each failed check is audited."""
    rows = server.query(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed' AND target = ?", (username,)
    )
    return int(rows[0][0])


def unlock(server: Server, username: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service", "user", "unlock", username],
        cwd=PROJECT_DIR,
        env=server.environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def test_concurrent_guesses_are_counted_before_the_check_and_an_unlock_lets_in() -> None:
    env = {"MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT": "5"}  # a 15-minute window: 14 s first
    with running_server(env=env) as server:
        server.add_user("hana", PASSWORD, display_name="花子")
        server.add_user("ren", PASSWORD, display_name="蓮")

        statuses = await guess_at_once(server, "hana", GUESSES)

        # Five reached the password check; every other guess was refused before it.
        assert sorted(statuses) == [401] * 5 + [429] * (GUESSES - 5), statuses
        assert failed_logins(server, "hana") == 5
        http, token = await csrf_client(server)
        try:
            owner = await log_in(http, token, "hana", PASSWORD)
            assert owner.status_code == 429
            assert "しばらくログインできません" in owner.text
            assert "あと約" in owner.text
            assert 1 <= int(owner.headers["retry-after"]) <= 15
            # The address is not locked by one account's failures (5 of its 20).
            assert (await log_in(http, token, "ren", PASSWORD)).status_code == 303

            assert unlock(server, "hana").strip() == "unlocked the logins of hana"
            # The unlock reaches the server through the settings counter (about a second).
            deadline = time.monotonic() + 10
            while (answer := await log_in(http, token, "hana", PASSWORD)).status_code == 429:
                assert time.monotonic() < deadline, "the unlock never reached the server"
                await asyncio.sleep(0.1)  # polling the server's state, with a deadline
            assert answer.status_code == 303
        finally:
            await http.aclose()
        assert failed_logins(server, "hana") == 5
        assert server.query("SELECT actor, target FROM audit_log WHERE action = 'user.unlock'") == [
            ("cli", "user:hana")
        ]


async def test_the_owner_gets_in_once_the_delay_has_passed() -> None:
    # A 12-second window: the first delay is 0.19 s, doubling, at most 12 s.
    env = {"MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT": "3", "MADOGUCHI_LOGIN_LOCKOUT_MINUTES": "0.2"}
    with running_server(env=env) as server:
        server.add_user("hana", PASSWORD, display_name="花子")
        statuses = await guess_at_once(server, "hana", GUESSES)
        assert statuses.count(401) >= 3 and 429 in statuses, statuses
        assert failed_logins(server, "hana") == statuses.count(401)

        http, token = await csrf_client(server)
        started = time.monotonic()
        try:
            while (answer := await log_in(http, token, "hana", PASSWORD)).status_code == 429:
                assert time.monotonic() - started < NOT_HUNG, "the owner never got in"
                wait = int(answer.headers["retry-after"])
                assert 1 <= wait <= 12
                await asyncio.sleep(0.1)  # polling until the delay has passed, with a deadline
        finally:
            await http.aclose()
        assert answer.status_code == 303
        # A success resets the account: the next wrong password is checked again at once.
        assert (await guess_at_once(server, "hana", 1)) == [401]


async def test_a_new_password_from_the_command_line_unlocks_the_account() -> None:
    with running_server() as server:
        server.add_user("hana", PASSWORD, display_name="花子")
        assert sorted(await guess_at_once(server, "hana", 10)) == [401] * 5 + [429] * 5
        subprocess.run(
            [sys.executable, "-m", "service", "user", "password", "hana"],
            input=f"{NEW_PASSWORD}\n",
            cwd=PROJECT_DIR,
            env=server.environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        http, token = await csrf_client(server)
        try:
            deadline = time.monotonic() + 10
            while (answer := await log_in(http, token, "hana", NEW_PASSWORD)).status_code == 429:
                assert time.monotonic() < deadline, "the new password never unlocked the account"
                await asyncio.sleep(0.1)  # polling the server's state, with a deadline
        finally:
            await http.aclose()
        assert answer.status_code == 303


def test_unlocking_an_unknown_account_says_so_and_changes_nothing() -> None:
    with running_server() as server:
        done = subprocess.run(
            [sys.executable, "-m", "service", "user", "unlock", "nobody"],
            cwd=PROJECT_DIR,
            env=server.environment(),
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0
        assert "no user 'nobody'" in done.stderr
        assert server.query("SELECT COUNT(*) FROM audit_log WHERE action = 'user.unlock'") == [(0,)]


def test_the_delays_double_from_a_64th_of_the_window_up_to_the_window() -> None:
    """Each try as early as allowed: the wait each was told first."""
    throttle = LoginThrottle.create(account_limit=2, address_limit=100, minutes=64)
    now, waits = 0.0, []
    for _ in range(10):
        told = throttle.begin(" Hana", "192.0.2.1", now)
        if isinstance(told, Attempt):
            waits.append(0.0)
            continue
        waits.append(told)
        now += told
        assert isinstance(throttle.begin("hana ", "192.0.2.2", now), Attempt)
    # 3840 s: the window, the longest wait; after it every earlier try but the last is gone.
    assert waits == [0.0, 0.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 0.0]


def test_a_success_resets_the_account_and_takes_back_only_its_own_address_count() -> None:
    throttle = LoginThrottle.create(account_limit=2, address_limit=3, minutes=1)
    for name in ("a", "b"):
        assert isinstance(throttle.begin(name, "192.0.2.1", 0.0), Attempt)
    success = throttle.begin("hana", "192.0.2.1", 0.0)
    assert isinstance(success, Attempt)
    throttle.succeeded(success)
    assert isinstance(throttle.begin("c", "192.0.2.1", 0.0), Attempt)  # 3 of 3 counted
    assert throttle.begin("d", "192.0.2.1", 0.0) == 60 / 64
    throttle.unlock("d")  # an account's unlock leaves the address's count
    assert throttle.begin("d", "192.0.2.1", 0.0) == 60 / 64
    assert isinstance(throttle.begin("d", "192.0.2.9", 0.0), Attempt)
    # The window forgets: a minute later the address may try at once again.
    assert isinstance(throttle.begin("e", "192.0.2.1", 60.0), Attempt)
