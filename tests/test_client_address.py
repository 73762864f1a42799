"""``X-Forwarded-For`` is believed only from the proxies in ``MADOGUCHI_TRUSTED_PROXIES``: by
default a client on 127.0.0.1 cannot rotate its apparent address past the per-address limits
(visitor connections, the login throttle); with 127.0.0.1 trusted, the header's address counts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import httpx
import pytest

from service.domain.proxies import client_address, parse_trusted
from tests.conftest import PASSWORD
from tests.support import Clients, Server, refusal, running_server

LIMITS = {
    "MADOGUCHI_VISITOR_CONNECTIONS_PER_ADDRESS": "2",
    "MADOGUCHI_LOGIN_FAILURES_PER_ACCOUNT": "1000",
    "MADOGUCHI_LOGIN_FAILURES_PER_ADDRESS": "3",
}


def forwarded(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i}"}


@pytest.fixture(scope="module", params=["default", "trusted"])
def proxied(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server]]:
    trusted = {"MADOGUCHI_TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/8"}
    env = {**LIMITS, **(trusted if request.param == "trusted" else {})}
    with running_server(env=env) as server:
        server.add_user("ren", PASSWORD, display_name="蓮")
        yield request.param, server


def try_login(server: Server, username: str, password: str, headers: dict[str, str]) -> int:
    with httpx.Client(base_url=server.url, headers=headers) as http:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', http.get("/inbox/login").text)
        assert token
        form = {"username": username, "password": password, "_csrf_token": token.group(1)}
        return http.post("/inbox/login", data=form).status_code


async def test_visitor_connections_per_address(proxied: tuple[str, Server]) -> None:
    mode, server = proxied
    clients = Clients(server)
    try:
        for i in (1, 2):
            await clients.visitor(partner="demo", headers=forwarded(i))
        rotated = forwarded(3)
        if mode == "default":
            # Two connections from 127.0.0.1 whatever they claimed: a third is refused.
            assert await refusal(server, "/visitor", auth={"partner": "demo"}, headers=rotated) == {
                "code": "rate_limited"
            }
        else:
            # Each claimed address has room; the first one is full at two.
            await clients.visitor(partner="demo", headers=rotated)
            await clients.visitor(partner="demo", headers=forwarded(1))
            assert await refusal(
                server, "/visitor", auth={"partner": "demo"}, headers=forwarded(1)
            ) == {"code": "rate_limited"}
    finally:
        await clients.close()


def test_login_attempts_per_address(proxied: tuple[str, Server]) -> None:
    mode, server = proxied
    failures = [try_login(server, f"nobody{i}", "guess", forwarded(10 + i)) for i in range(3)]
    assert failures == [401] * 3
    if mode == "default":
        # Three failures from 127.0.0.1: a fourth try waits, from any claimed address.
        assert try_login(server, "ren", PASSWORD, forwarded(20)) == 429
    else:
        assert try_login(server, "ren", PASSWORD, forwarded(20)) == 303
        more = [try_login(server, f"nobody{i}", "guess", forwarded(30)) for i in range(3)]
        assert more == [401] * 3
        # A chain: the right-most address that is not a trusted proxy is the client's.
        chain = {"X-Forwarded-For": "198.51.100.7, 203.0.113.30, 10.1.2.3"}
        assert try_login(server, "ren", PASSWORD, chain) == 429


def test_the_rule_reads_from_the_right_and_believes_only_trusted_peers() -> None:
    trusted = parse_trusted("127.0.0.1, 10.0.0.0/8")
    assert trusted == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))
    assert parse_trusted("") == ()
    assert client_address("192.0.2.1", ["203.0.113.9"], trusted) == "192.0.2.1"
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
    assert client_address("127.0.0.1", ["1.1.1.1, 203.0.113.9", "10.0.0.2"], trusted) == (
        "203.0.113.9"
    )
    assert client_address("127.0.0.1", ["10.0.0.3, 10.0.0.2"], trusted) == "10.0.0.3"
    assert client_address("127.0.0.1", ["garbage\n"], trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", [], trusted) == "127.0.0.1"
    with pytest.raises(ValueError, match="not an address or network: 'nonsense'"):
        parse_trusted("127.0.0.1, nonsense")
