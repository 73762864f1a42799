"""Logging in and changing one's password: failed logins are throttled per account and per
address, and a new password ends every other login of the account, sockets included."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import httpx

from tests.conftest import PASSWORD
from tests.support import PROJECT_DIR, Clients, Server, client_id, login_sync, running_server

NEW_PASSWORD = "a much longer passphrase now"


def try_login(server: Server, username: str, password: str) -> int:
    with httpx.Client(base_url=server.url) as http:
        page = http.get("/inbox/login").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token
        form = {"username": username, "password": password, "_csrf_token": token.group(1)}
        return http.post("/inbox/login", data=form).status_code


def test_failed_logins_lock_the_account_then_the_address_whatever_the_password() -> None:
    env = {
        "MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT": "3",
        "MADOGUCHI_LOGIN_FAILURES_PER_ADDRESS": "6",
    }
    with running_server(env=env) as server:
        server.add_user("hana", PASSWORD, display_name="花子")
        server.add_user("ren", PASSWORD, display_name="蓮")
        assert [try_login(server, "hana", "guess") for _ in range(3)] == [401, 401, 401]

        # Locked: even the right password is refused, before it is checked.
        assert try_login(server, "hana", PASSWORD) == 429
        assert try_login(server, "HANA ", PASSWORD) == 429
        # Another account from the same address still gets in (3 of its 6 failures so far).
        assert try_login(server, "ren", PASSWORD) == 303
        # Guessing other names from this address: the address locks at 6 failures.
        assert [try_login(server, f"nobody{i}", "guess") for i in range(3)] == [401, 401, 401]
        assert try_login(server, "ren", PASSWORD) == 429
        # No address is stored. Logins and failures are audited, naming only real accounts.
        assert server.query("SELECT COUNT(*) FROM session") == [(1,)]
        dump = "\n".join(str(row) for row in server.query("SELECT * FROM audit_log"))
        assert "127.0.0.1" not in dump
        logins = server.query(
            "SELECT action, target FROM audit_log WHERE action LIKE 'login%' ORDER BY id"
        )
        assert logins == [
            *[("login.failed", "hana")] * 3,
            ("login", "ren"),
            *[("login.failed", "")] * 3,
        ]
        assert "nobody" not in dump and "guess" not in dump


def password_form(http: httpx.Client) -> str:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', http.get("/inbox/password").text)
    assert token
    return token.group(1)


async def test_changing_the_password_ends_every_other_login_and_its_sockets() -> None:
    with running_server() as server:
        server.add_user("hana", PASSWORD, display_name="花子")
        here, elsewhere = (login_sync(server, "hana", PASSWORD) for _ in range(2))
        clients = Clients(server)
        try:
            on_here = await clients.counselor(here)
            on_elsewhere = await clients.counselor(elsewhere)
            await on_here.wait_for_queue()

            def change(current: str, new: str, again: str) -> httpx.Response:
                with httpx.Client(base_url=server.url, cookies={"mg_session": here}) as http:
                    form = {"current": current, "new": new, "again": again}
                    return http.post(
                        "/inbox/password", data={**form, "_csrf_token": password_form(http)}
                    )

            # Refusals change nothing.
            wrong = await asyncio.to_thread(change, "wrong", NEW_PASSWORD, NEW_PASSWORD)
            assert wrong.status_code == 400 and "現在のパスワードが違います" in wrong.text
            differ = await asyncio.to_thread(change, PASSWORD, NEW_PASSWORD, "something else")
            assert differ.status_code == 400
            assert server.query("SELECT COUNT(*) FROM session") == [(2,)]

            done = await asyncio.to_thread(change, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)

            assert done.status_code == 200 and "パスワードを変更しました" in done.text
            await on_elsewhere.wait_for("disconnect")
            # This login goes on, its socket too; the other is gone for pages as well.
            assert on_here.sio.connected
            assert (await on_here.call("case", {"conversation_id": "A" * 22}))["ok"] is False
            with httpx.Client(base_url=server.url, cookies={"mg_session": elsewhere}) as http:
                assert http.get("/inbox").status_code == 303
            with httpx.Client(base_url=server.url, cookies={"mg_session": here}) as http:
                assert http.get("/inbox").status_code == 200
            assert try_login(server, "hana", PASSWORD) == 401
            assert try_login(server, "hana", NEW_PASSWORD) == 303
            assert server.query(
                "SELECT actor, target FROM audit_log WHERE action = 'user.password_change'"
            ) == [("hana", "user:hana")]
        finally:
            await clients.close()


# argon2 is slow by design (tens of milliseconds of CPU and 64 MiB per check); on the event loop,
# a burst of logins would hold up every chat. These hold it to threads of its own.

WATCH_ARGON2 = """
import asyncio, json, sys, threading
import argon2

threads = []
for name in ("hash", "verify"):
    real = getattr(argon2.PasswordHasher, name)
    def watched(self, *args, _real=real, _name=name):
        threads.append((_name, threading.current_thread() is threading.main_thread()))
        return _real(self, *args)
    setattr(argon2.PasswordHasher, name, watched)

import service.auth
at_import = list(threads)

async def main():
    hashed = await service.auth.hash_password("a long enough secret")
    return hashed.startswith("$argon2id$")

made = asyncio.run(main())
print(json.dumps({"at_import": at_import, "later": threads[len(at_import):], "made": made}))
"""


def test_nothing_hashes_at_import_and_hashing_runs_off_the_event_loop() -> None:
    """The real argon2, watched: which thread each hash runs on (the event loop runs on the
    main thread here, as in ``madoguchi serve``)."""
    done = subprocess.run(
        [sys.executable, "-c", WATCH_ARGON2],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["at_import"] == []
    assert seen["made"] is True
    assert seen["later"] == [["hash", False]]


LOGIN_STORM = {
    "MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT": "1000",
    "MADOGUCHI_LOGIN_FAILURES_PER_ADDRESS": "1000",
    "MADOGUCHI_VISITOR_MESSAGE_RATE": "1000",
    "MADOGUCHI_VISITOR_MESSAGE_BURST": "1000",
}


async def wrong_login(http: httpx.AsyncClient, username: str) -> int:
    page = (await http.get("/inbox/login")).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert token
    form = {"username": username, "password": "not the password", "_csrf_token": token.group(1)}
    return (await http.post("/inbox/login", data=form)).status_code


async def test_a_burst_of_logins_does_not_hold_up_a_visitors_chat() -> None:
    with running_server(env=LOGIN_STORM) as server:
        server.add_user("hana", PASSWORD, display_name="花子")
        clients = Clients(server)
        browsers = [httpx.AsyncClient(base_url=server.url, timeout=60) for _ in range(30)]
        try:
            guest = await clients.visitor(partner="demo")
            assert (await guest.call("start", {}))["ok"]
            # Known and unknown names alike: both cost one argon2 check.
            logins = [
                asyncio.create_task(wrong_login(http, "hana" if i % 2 else f"nobody{i}"))
                for i, http in enumerate(browsers)
            ]
            acks = []
            for i in range(40):  # one after another, each answered within the call's timeout
                acks.append(
                    await guest.call("message", {"client_id": client_id(), "body": f"#{i}"})
                )
            statuses = await asyncio.gather(*logins)
        finally:
            await clients.close()
            for http in browsers:
                await http.aclose()
        assert [ack["ok"] for ack in acks] == [True] * 40
        assert [ack["seq"] for ack in acks] == list(range(1, 41))
        assert statuses == [401] * 30  # every login was checked, none throttled
