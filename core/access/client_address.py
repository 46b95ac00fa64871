"""Who is calling, by address: the peer of the connection, or, when that peer is a trusted
proxy (TRUSTED_PROXIES), the right-most ``X-Forwarded-For`` entry that is not a trusted proxy.

Only trusted proxies may speak for the client: entries to the left of the first untrusted one
were written by the client itself and are ignored, so a caller cannot pick the address its rate
limits and caps are counted against."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=16)
def parse_networks(value: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` → networks; a bad entry is a ValueError naming it."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as found in a header: ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(peer: str | None, forwarded_for: list[str], trusted_proxies: str) -> str | None:
    """The client's address for a connection from ``peer`` carrying these ``X-Forwarded-For``
    header values (in order). A malformed entry ends the walk at the proxy that reported it."""
    if peer is None:
        return None
    networks = parse_networks(trusted_proxies)
    current = parse_address(peer)
    if current is None or not networks or not _trusted(current, networks):
        return peer if current is None else str(current)
    entries = [part for value in forwarded_for for part in value.split(",") if part.strip()]
    for entry in reversed(entries):
        hop = parse_address(entry)
        if hop is None:
            break  # not an address: the trusted proxy on its right is the last we know
        current = hop
        if not _trusted(hop, networks):
            break
    return str(current)
