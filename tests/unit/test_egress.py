"""The egress policy of fetch (activities/egress.py, egress_http.py): FETCH_ALLOWED_HOSTS parsing,
address classification, the order of the rules, and DNS rebinding (the resolver is the only
fake: it is the boundary we don't own)."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

import httpcore
import pytest

from activities.egress import (
    AllowedHost,
    EgressConfigError,
    EgressPolicy,
    EgressRefusedError,
    IPAddress,
    OwnService,
    parse_allowed_hosts,
    special_use,
)
from activities.egress_http import (
    EgressGuard,
    EgressNetworkBackend,
    EgressTransport,
    egress_client,
    numeric_addresses,
)
from core.infra.settings import Settings

PUBLIC = ip_address("93.184.216.34")
NO_OWN: dict[str, Iterable[IPAddress]] = {}


@pytest.mark.parametrize("entry, name, network, port", [
    ("example.org", "example.org", None, None),
    ("  Internal.Example.ORG.:8443 ", "internal.example.org", None, 8443),
    ("localhost", "localhost", None, None),
    ("127.0.0.1", None, IPv4Network("127.0.0.1/32"), None),
    ("127.0.0.1:9000", None, IPv4Network("127.0.0.1/32"), 9000),
    ("10.0.0.0/8", None, IPv4Network("10.0.0.0/8"), None),
    ("10.0.0.0/8:8080", None, IPv4Network("10.0.0.0/8"), 8080),
    ("[::1]:8080", None, IPv6Network("::1/128"), 8080),
    ("[fd00::/8]", None, IPv6Network("fd00::/8"), None),
    ("[fd00::/8]:443", None, IPv6Network("fd00::/8"), 443),
    ("fd00::/8", None, IPv6Network("fd00::/8"), None),
    ("::1", None, IPv6Network("::1/128"), None),
    ("::ffff:10.0.0.0/104", None, IPv4Network("10.0.0.0/8"), None),  # the IPv4 network it maps
])
def test_allowed_host_entries_parse(entry: str, name: str | None, network: Any, port: int | None) -> None:
    parsed = AllowedHost.parse(entry)
    assert (parsed.name, parsed.network, parsed.port) == (name, network, port)


def test_invalid_entries_are_all_reported_with_what_is_wrong() -> None:
    bad = ["bad host", "10.0.0.1/8", "10.0.0.0/33", "api:0", "api:99999", "api:", "[::1]:x", "[nope]:80",
           "127.1", "2130706433", "exa..mple.org", "*.example.org", "bücher.example"]
    with pytest.raises(EgressConfigError) as raised:
        parse_allowed_hosts(",".join(["example.org", *bad, "10.0.0.0/8"]))
    message = raised.value.message
    assert message.startswith("FETCH_ALLOWED_HOSTS has invalid entries: ")
    problems = raised.value.details["problems"]
    assert [problem.split("' ", 1)[0].strip("'") for problem in problems] == bad  # every one, in order
    assert "'10.0.0.1/8' is not a valid IP address or CIDR (10.0.0.1/8 has host bits set)" in message
    assert "'api:99999' has an invalid port '99999' (1-65535)" in message
    assert "'127.1' is not a valid IP address or CIDR" in message
    assert "'bücher.example' is not a host name, an IP address or a CIDR (non-ASCII names: use the xn-- form)" in message


def test_empty_entries_are_ignored() -> None:
    assert parse_allowed_hosts("") == ()
    assert [entry.entry for entry in parse_allowed_hosts(" a.test, ,b.test:81,")] == ["a.test", "b.test:81"]


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "a loopback address"),
    ("127.255.0.9", "a loopback address"),
    ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fd12::1", "a private address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("fd00:ec2::254", "the cloud metadata address"),
    ("::ffff:169.254.169.254", "the cloud metadata address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("::7f00:1", "an IPv6 form of 127.0.0.1, a loopback address"),  # IPv4-compatible
    ("64:ff9b::a00:1", "an IPv6 form of 10.0.0.1, a private address"),  # NAT64
    ("2002:a9fe:a9fe::", "an IPv6 form of 169.254.169.254, the cloud metadata address"),  # 6to4
    ("240.0.0.1", "a special-purpose address"),
    ("192.0.2.1", "a special-purpose address"),
    ("2001:db8::1", "a special-purpose address"),
    ("93.184.216.34", None),
    ("8.8.8.8", None),
    ("2606:4700::1111", None),
    ("64:ff9b::808:808", None),  # NAT64 of a public address
    ("::808:808", "a special-purpose address"),  # deprecated IPv4-compatible form
])
def test_special_use_addresses(address: str, reason: str | None) -> None:
    assert special_use(ip_address(address)) == reason


def _policy(allowed: str = "", own: tuple[OwnService, ...] = ()) -> EgressPolicy:
    return EgressPolicy(allowed=parse_allowed_hosts(allowed), own_services=own)


def test_allow_list_entries_admit_exactly_what_they_name() -> None:
    policy = _policy("127.0.0.1:9000,localhost,10.0.0.0/8:8080,[::1]:7000,intra.test:443,169.254.0.0/16,"
                     "fd00:ec2::254")
    loopback, ten, v6 = ip_address("127.0.0.1"), ip_address("10.9.8.7"), ip_address("::1")
    assert policy.refusal("127.0.0.1", loopback, 9000, NO_OWN) is None
    assert policy.refusal("127.0.0.1", loopback, 9001, NO_OWN) == \
        "127.0.0.1 is a loopback address (allow it with FETCH_ALLOWED_HOSTS)"
    assert policy.refusal("::ffff:127.0.0.1", ip_address("::ffff:127.0.0.1"), 9000, NO_OWN) is None  # same address
    # A name entry matches the URL's host, not what other names resolve to.
    assert policy.refusal("localhost", loopback, 9001, NO_OWN) is None
    assert policy.refusal("LOCALHOST.", loopback, 1234, NO_OWN) is None
    assert policy.refusal("sneaky.test", loopback, 9001, NO_OWN) == \
        "sneaky.test resolves to a loopback address (allow it with FETCH_ALLOWED_HOSTS)"
    assert policy.refusal("10.9.8.7", ten, 8080, NO_OWN) is None
    assert policy.refusal("10.9.8.7", ten, 8081, NO_OWN) is not None
    assert policy.refusal("::1", v6, 7000, NO_OWN) is None
    assert policy.refusal("::1", v6, 7001, NO_OWN) is not None
    assert policy.refusal("intra.test", ten, 443, NO_OWN) is None
    assert policy.refusal("intra.test", ten, 80, NO_OWN) is not None
    # A CIDR never admits a metadata address; the address itself does.
    assert policy.refusal("169.254.3.4", ip_address("169.254.3.4"), 80, NO_OWN) is None
    assert policy.refusal("169.254.169.254", ip_address("169.254.169.254"), 80, NO_OWN) == \
        "169.254.169.254 is the cloud metadata address (allow it with FETCH_ALLOWED_HOSTS)"
    assert policy.refusal("fd00:ec2::254", ip_address("fd00:ec2::254"), 80, NO_OWN) is None
    # Public addresses need no entry.
    assert policy.refusal("example.org", PUBLIC, 443, NO_OWN) is None


def test_own_services_win_over_the_allow_list() -> None:
    own = (OwnService("Temporal frontend", "127.0.0.1", 7233), OwnService("database", "db.internal", 5432),
           OwnService("Temporal UI", "temporal", 8233))
    policy = _policy("127.0.0.0/8,localhost,10.0.0.0/8,db.internal,0.0.0.0/0", own)
    resolved = {"127.0.0.1": [ip_address("127.0.0.1")], "db.internal": [ip_address("10.0.0.5")],
                "temporal": [ip_address("10.0.0.7")]}
    refused = "is one of Tideway's own services, never allowed"
    assert policy.refusal("127.0.0.1", ip_address("127.0.0.1"), 7233, resolved) == f"127.0.0.1:7233 {refused}"
    assert policy.refusal("localhost", ip_address("127.0.0.1"), 7233, resolved) == f"localhost:7233 {refused}"
    assert policy.refusal("127.0.0.2", ip_address("127.0.0.2"), 7233, resolved) is not None  # any loopback
    assert policy.refusal("::1", ip_address("::1"), 7233, resolved) == f"[::1]:7233 {refused}"
    assert policy.refusal("0.0.0.0", ip_address("0.0.0.0"), 5432, resolved) is not None
    assert policy.refusal("db.internal", ip_address("10.0.0.5"), 5432, resolved) is not None  # by name
    assert policy.refusal("alias.test", ip_address("10.0.0.5"), 5432, resolved) is not None  # by address
    assert policy.refusal("10.0.0.7", ip_address("10.0.0.7"), 8233, resolved) is not None
    assert policy.refusal("10.0.0.5", ip_address("10.0.0.5"), 5433, resolved) is None  # another port
    assert policy.refusal("127.0.0.1", ip_address("127.0.0.1"), 8080, resolved) is None


def test_policy_from_settings(tmp_path: Any) -> None:
    settings = Settings(temporal_address="temporal.internal:7233", temporal_ui_port=8088, temporal_http_port=7243,
                        database_url="postgresql://tideway:secret@db.internal:6543/tideway",
                        tideway_public_url="https://tideway.example.org", fetch_allowed_hosts="10.0.0.0/8")
    policy = EgressPolicy.from_settings(settings)
    assert policy.own_services == (OwnService("Temporal frontend", "temporal.internal", 7233),
                                   OwnService("Temporal HTTP API", "temporal.internal", 7243),
                                   OwnService("Temporal UI", "temporal.internal", 8088),
                                   OwnService("database", "db.internal", 6543))
    assert [(e.name, e.network, e.port) for e in policy.allowed] == [
        (None, IPv4Network("10.0.0.0/8"), None), ("tideway.example.org", None, 443)]
    # SQLite has no host; the default Temporal address and public URL are on loopback.
    local = EgressPolicy.from_settings(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert [(s.label, s.host, s.port) for s in local.own_services] == [
        ("Temporal frontend", "127.0.0.1", 7233), ("Temporal HTTP API", "127.0.0.1", 7243),
        ("Temporal UI", "127.0.0.1", 8233)]
    assert local.refusal("127.0.0.1", ip_address("127.0.0.1"), 8000, NO_OWN) is None  # the public URL
    assert local.refusal("127.0.0.1", ip_address("127.0.0.1"), 8001, NO_OWN) is not None
    with pytest.raises(EgressConfigError, match="FETCH_ALLOWED_HOSTS has invalid entries: 'nope nope'"):
        EgressPolicy.from_settings(Settings(fetch_allowed_hosts="nope nope"))


class FakeResolver:
    """DNS answers scripted per call (the boundary we don't own); records the names looked up."""

    def __init__(self, *answers: list[str]):
        self.answers = [[ip_address(a) for a in answer] for answer in answers]
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        numeric = numeric_addresses(host)
        if numeric is not None:  # like getaddrinfo: a number needs no DNS
            return numeric
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class RecordingBackend(httpcore.AsyncMockBackend):
    """The network below the egress backend: records where connections go, answers 200."""

    def __init__(self) -> None:
        super().__init__([b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"])
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


async def test_dns_rebinding_connects_only_to_the_checked_address() -> None:
    """A name answering a public address, then 127.0.0.1: the first connection goes to the public
    address that was checked (never to the name), the next one is refused before connecting."""
    resolver = FakeResolver([str(PUBLIC)], ["127.0.0.1"])
    network = RecordingBackend()
    async with egress_client(EgressGuard(_policy(), resolver), timeout=5, inner=network) as client:
        response = await client.get("http://rebind.test/first")
        assert response.status_code == 200 and response.text == "ok"
        assert network.connected == [(str(PUBLIC), 80)]
        with pytest.raises(EgressRefusedError) as refused:
            await client.get("http://rebind.test:8080/second")  # a new origin: a new connection
    assert network.connected == [(str(PUBLIC), 80)]
    assert str(refused.value) == ("Request to http://rebind.test:8080/ refused by the egress policy: "
                                  "rebind.test resolves to a loopback address (allow it with FETCH_ALLOWED_HOSTS)")
    assert resolver.calls == ["rebind.test", "rebind.test"]  # one lookup per connection, by the guard only


async def test_a_name_with_mixed_answers_connects_to_an_admitted_address_only() -> None:
    network = RecordingBackend()
    guard = EgressGuard(_policy(), FakeResolver(["127.0.0.1", "10.0.0.1", str(PUBLIC)]))
    async with egress_client(guard, timeout=5, inner=network) as client:
        assert (await client.get("http://mixed.test/")).status_code == 200
    assert network.connected == [(str(PUBLIC), 80)]


async def test_redirect_hops_are_checked_and_the_refusal_names_the_hop() -> None:
    redirect = b"HTTP/1.1 302 Found\r\nlocation: http://10.1.2.3:81/admin\r\ncontent-length: 0\r\n\r\n"
    network = httpcore.AsyncMockBackend([redirect])
    guard = EgressGuard(_policy(), FakeResolver([str(PUBLIC)]))
    async with egress_client(guard, timeout=5, inner=network) as client:
        with pytest.raises(EgressRefusedError) as refused:
            await client.get("http://public.test/")
    assert str(refused.value) == ("Request to http://10.1.2.3:81/ refused by the egress policy: 10.1.2.3 is a "
                                  "private address (allow it with FETCH_ALLOWED_HOSTS)")


async def test_the_transport_pool_uses_the_egress_backend() -> None:
    """EgressTransport swaps httpx's pool for one on the egress backend (an httpx internal): if a
    new httpx version stopped using it, this fails instead of silently skipping the policy."""
    guard = EgressGuard(_policy())
    transport = EgressTransport(guard)
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool)
    assert isinstance(transport._pool._network_backend, EgressNetworkBackend)
    assert transport._pool._network_backend.guard is guard
    client = egress_client(guard, timeout=1)
    assert client._transport.__class__ is EgressTransport and not client._mounts  # no proxy from the environment
    await client.aclose()


async def test_own_service_names_are_resolved_again_after_their_ttl() -> None:
    now = [0.0]
    resolver = FakeResolver(["10.0.0.5"], ["10.0.0.6"])
    policy = _policy("10.0.0.0/8", (OwnService("database", "db.internal", 5432),))
    guard = EgressGuard(policy, resolver, clock=lambda: now[0])
    with pytest.raises(EgressRefusedError, match="own services"):
        await guard.permitted("10.0.0.5", 5432, [ip_address("10.0.0.5")])
    assert await guard.permitted("10.0.0.6", 5432, [ip_address("10.0.0.6")]) == [ip_address("10.0.0.6")]
    now[0] = 61.0  # the database moved to 10.0.0.6
    with pytest.raises(EgressRefusedError, match="own services"):
        await guard.permitted("10.0.0.6", 5432, [ip_address("10.0.0.6")])
    assert resolver.calls == ["db.internal", "db.internal"]


@pytest.mark.parametrize("url, shown", [
    ("http://0177.0.0.1:8080/x", "0177.0.0.1 resolves to a loopback address"),  # httpx rejects this URL
    ("http://2130706433/", "2130706433 resolves to a loopback address"),
    ("https://user:pw@0x7f000001/", "0x7f000001 resolves to a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address"),
])
async def test_numeric_hosts_are_checked_before_the_request(url: str, shown: str) -> None:
    guard = EgressGuard(_policy(), FakeResolver())  # numeric hosts never reach the resolver
    with pytest.raises(EgressRefusedError) as refused:
        await guard.check_numeric_url(url)
    assert shown in str(refused.value) and "pw" not in str(refused.value)


async def test_names_and_admitted_numbers_pass_the_numeric_check() -> None:
    guard = EgressGuard(_policy("127.0.0.1:8080"), FakeResolver())
    await guard.check_numeric_url("http://example.org/")  # names are checked at connection time
    await guard.check_numeric_url("http://2130706433:8080/")
    await guard.check_numeric_url("not a url")
