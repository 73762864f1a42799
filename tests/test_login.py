"""Logging in and changing one's password: failed logins are throttled per account and per
address, and a new password ends every other login of the account, sockets included
(security.md row 20)."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.conftest import PASSWORD
from tests.support import Clients, Server, login_sync, running_server

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
            await on_here.wait_for("queue")

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
