"""Which address a request comes from, given the proxies the operator trusts. No I/O.

``X-Forwarded-For`` is a list that every proxy appends the address it saw to; anyone can send
one, so only the entries added by trusted proxies mean anything. Reading from the right, the
first address that is not a trusted proxy is the client. A peer that is not trusted is the
client itself, whatever it sends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(spec: str) -> tuple[Network, ...]:
    """``10.0.0.1, 10.1.0.0/16, ::1`` → networks; raises ValueError naming a bad entry."""
    networks = []
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {entry!r}") from None
    return tuple(networks)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy; then the right-most entry
    of the ``X-Forwarded-For`` values that is not trusted (the left-most, if all are)."""
    if not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return _valid(hop) or peer
    return _valid(hops[0]) or peer if hops else peer


def _valid(hop: str) -> str:
    # Garbage in the header leaves the request with the proxy's own address: the stricter one.
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return ""
