"""The trusted-proxy rule for the client address (core/access/client_address.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.access.client_address import client_address, parse_networks
from core.infra.settings import Settings

TRUSTED = "10.0.0.0/8, 192.168.1.1, fd00::/8"


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("203.0.113.1", [], "203.0.113.1"),  # no proxy
    ("203.0.113.1", ["198.51.100.9"], "203.0.113.1"),  # an untrusted peer cannot speak for anyone
    ("10.1.1.1", [], "10.1.1.1"),  # a trusted proxy calling on its own behalf
    ("10.1.1.1", ["198.51.100.9"], "198.51.100.9"),
    ("10.1.1.1", ["1.1.1.1, 198.51.100.9"], "198.51.100.9"),  # the left part is the client's own text
    ("10.1.1.1", ["198.51.100.9, 192.168.1.1"], "198.51.100.9"),  # two trusted hops skipped
    ("10.1.1.1", ["198.51.100.9", "10.2.2.2"], "198.51.100.9"),  # repeated headers, in order
    ("10.1.1.1", ["10.3.3.3, 10.2.2.2"], "10.3.3.3"),  # only proxies: the farthest one
    ("10.1.1.1", ["garbage, 10.2.2.2"], "10.2.2.2"),  # not an address: the proxy that reported it
    ("10.1.1.1", ["198.51.100.9:5555"], "198.51.100.9"),  # ports dropped
    ("fd00::1", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("::ffff:10.1.1.1", ["198.51.100.9"], "198.51.100.9"),  # IPv4-mapped peer
    ("testclient", ["198.51.100.9"], "testclient"),  # a peer that is no address is kept as is
    (None, ["198.51.100.9"], None),
])
def test_client_address(peer: str | None, forwarded: list[str], expected: str | None) -> None:
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("10.1.1.1", ["198.51.100.9"], "") == "10.1.1.1"


def test_a_bad_trusted_proxies_setting_stops_start_up() -> None:
    assert len(parse_networks(TRUSTED)) == 3
    with pytest.raises(ValidationError, match="'10.0.0.300' is not an IP address or CIDR network"):
        Settings(trusted_proxies="10.0.0.1, 10.0.0.300")
