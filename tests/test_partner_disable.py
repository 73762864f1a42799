"""Disabling a partner through the admin API stops its pages already open from starting chats."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import Clients, Server, assert_error, client_id, login_sync, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        yield srv


@pytest.fixture
async def admin(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    cookies = {"mg_session": login_sync(server, "aiko", PASSWORD)}
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies) as http:
        await http.get("/inbox/login")  # sets the CSRF cookie
        http.headers["X-CSRFToken"] = http.cookies["mg_csrf"]
        yield http


async def test_a_partner_disabled_after_connect_refuses_start_at_once(
    server: Server, clients: Clients, admin: httpx.AsyncClient
) -> None:
    created = await admin.post("/api/v1/admin/partners", json={"key": "closing", "name": "閉鎖"})
    assert created.status_code == 201, created.text
    chatting = await clients.visitor(partner="closing")
    assert (await chatting.call("start", {}))["ok"]
    idle = await clients.visitor(partner="closing")
    other = await clients.visitor()  # the default partner's page

    disabled = await admin.patch("/api/v1/admin/partners/closing", json={"enabled": False})
    assert disabled.status_code == 200, disabled.text

    before = server.query("SELECT COUNT(*) FROM conversation")
    assert_error(await idle.call("start", {}), "unknown_partner")
    assert_error(await idle.call("start", {"urgent": True}), "unknown_partner")
    assert server.query("SELECT COUNT(*) FROM conversation") == before
    # A chat already running goes on: the visitor is mid-conversation.
    ack = await chatting.call("message", {"client_id": client_id(), "body": "まだ話せますか"})
    assert ack["ok"], ack
    assert (await chatting.call("start", {}))["ok"]  # answers the open one, creates nothing
    assert server.query("SELECT COUNT(*) FROM conversation") == before
    # Other partners are not affected.
    assert (await other.call("start", {}))["ok"]

    enabled = await admin.patch("/api/v1/admin/partners/closing", json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    assert (await idle.call("start", {}))["ok"]
