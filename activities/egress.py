"""The egress policy of ``fetch`` (issue 14): which addresses an automation may connect to.

Automation authors are untrusted and share the worker's network position, which must reach
Temporal and the database itself; so the control is here, in the application, not in network
rules. The policy is built once from Settings and applied by ``activities/egress_http.py`` to
the **resolved** address of every connection (each redirect hop included). For one
connection to ``host:port`` resolved to ``address``, in this order:

1. Tideway's own services (Temporal frontend, its HTTP API, the Temporal UI port on the
   Temporal host, the database) are refused, whatever the allow-list says. They match by
   port and by the URL's host name, their resolved addresses, or any loopback/unspecified
   address (a server listening on all interfaces answers there too).
2. ``FETCH_ALLOWED_HOSTS`` entries, and the host:port of ``TIDEWAY_PUBLIC_URL``, admit what
   they name: a host name matches the URL's host (not what it resolves to), an IP/CIDR the
   resolved address. A CIDR never admits the metadata addresses (name the address itself).
3. Anything else must be globally routable: loopback, private, link-local, shared (CGNAT),
   unspecified, multicast, reserved and documentation ranges and the metadata addresses are
   refused, including their IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 forms.

docs/fetch.md ("Egress policy") documents the same rules for operators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from core.infra.settings import Settings
from schemas.errors import TidewayError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset({IPv4Address("169.254.169.254"), IPv6Address("fd00:ec2::254")})
PRIVATE_NETWORKS = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"),
                    IPv6Network("fc00::/7"))
SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")
IPV4_MAPPED = IPv6Network("::ffff:0:0/96")
# IPv6 ranges that carry an IPv4 address some gateway turns back into an IPv4 connection.
IPV4_COMPATIBLE = IPv6Network("::/96")
NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
DEFAULT_PORTS = {"http": 80, "https": 443}
DEFAULT_TEMPORAL_PORT = 7233
DEFAULT_POSTGRES_PORT = 5432
HINT = "allow it with FETCH_ALLOWED_HOSTS"

_BRACKETED = re.compile(r"^\[(?P<address>[^\]]*)\](?::(?P<port>.*))?$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class EgressConfigError(TidewayError):
    """FETCH_ALLOWED_HOSTS (or an address the policy derives from the settings) is invalid."""

    default_message = "Invalid egress policy settings"


class EgressRefusedError(Exception):
    """A connection the egress policy refuses. Raised before any byte is sent; never retried.
    ``str()`` is the message the automation sees (as a ``FetchError``)."""

    def __init__(self, reason: str, origin: str):
        self.reason = reason
        self.origin = origin  # scheme://host:port/ when known, else host:port
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"Request to {self.origin} refused by the egress policy: {self.reason}"

    def at(self, origin: str) -> EgressRefusedError:
        """The same refusal, located at the URL origin of the request (redirect hop) that caused it."""
        return EgressRefusedError(self.reason, origin)


def canonical(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address itself (the kernel connects to it)."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address in IPV4_COMPATIBLE or address in NAT64_WELL_KNOWN:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def special_use(address: IPAddress) -> str | None:
    """Why ``address`` is no public destination (a phrase such as "a loopback address"), or None
    when it is globally routable."""
    address = canonical(address)
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in PRIVATE_NETWORKS):
        return "a private address"
    if address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        inner = special_use(embedded) if embedded is not None else None
        if inner is not None:
            return f"an IPv6 form of {embedded}, {inner}"
        if address in NAT64_WELL_KNOWN:  # DNS64 networks reach public IPv4 hosts this way
            return None
    if address.is_reserved or not address.is_global:
        return "a special-purpose address"
    return None


def host_name(host: str) -> str:
    """The comparable form of a host name: lower case, without the root's trailing dot."""
    return host.strip().lower().rstrip(".")


def _checked_name(text: str) -> str:
    name = host_name(text)
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("is not a host name, an IP address or a CIDR (non-ASCII names: use the xn-- form)")
    if labels[-1].isdigit():
        raise ValueError("is a numeric host that is not a dotted-decimal IP address")
    return name


def _checked_port(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"has an invalid port {text!r} (1-65535)")
    return int(text)


def _checked_network(text: str) -> IPNetwork:
    try:
        network = ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"is not a valid IP address or CIDR ({exc})") from None
    if isinstance(network, IPv6Network) and network.subnet_of(IPV4_MAPPED) and network.prefixlen >= 96:
        network = IPv4Network((int(network.network_address) & 0xFFFF_FFFF, network.prefixlen - 96))
    return network


@dataclass(frozen=True)
class AllowedHost:
    """One FETCH_ALLOWED_HOSTS entry: a host name or an IP network, on one port or all."""

    entry: str
    name: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> AllowedHost:
        """``host``, ``host:port``, ``IP``, ``CIDR``, ``CIDR:port``, ``[IPv6]:port``, ``[IPv6 CIDR]:port``
        or a bare IPv6 address/CIDR; ValueError names what is wrong."""
        text = entry.strip()
        bracketed = _BRACKETED.match(text)
        if bracketed:
            return cls(text, network=_checked_network(bracketed["address"]), port=_checked_port(bracketed["port"]))
        if text.count(":") > 1:  # a bare IPv6 address or network cannot carry a port
            return cls(text, network=_checked_network(text))
        host, colon, port_text = text.partition(":")
        port = _checked_port(port_text if colon else None)
        if "/" in host or re.fullmatch(r"[\d.]+", host):
            return cls(text, network=_checked_network(host), port=port)
        return cls(text, name=_checked_name(host), port=port)

    def admits(self, host: str, address: IPAddress, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.name is not None:
            return host_name(host) == self.name
        assert self.network is not None
        if address in METADATA_ADDRESSES and self.network.num_addresses > 1:
            return False
        return address in self.network


def parse_allowed_hosts(value: str) -> tuple[AllowedHost, ...]:
    """The comma-separated FETCH_ALLOWED_HOSTS setting; every invalid entry reported at once."""
    entries: list[AllowedHost] = []
    problems: list[str] = []
    for raw in value.split(","):
        if not raw.strip():
            continue
        try:
            entries.append(AllowedHost.parse(raw))
        except ValueError as exc:
            problems.append(f"{raw.strip()!r} {exc}")
    if problems:
        raise EgressConfigError(f"FETCH_ALLOWED_HOSTS has invalid entries: {'; '.join(problems)}",
                                {"problems": problems})
    return tuple(entries)


@dataclass(frozen=True)
class OwnService:
    """One of Tideway's own services; ``host`` is a comparable name or an IP literal."""

    label: str
    host: str
    port: int


def _host_port(text: str, default_port: int | None, setting: str) -> tuple[str, int]:
    """``host:port`` (or a URL) → (comparable host, port); EgressConfigError naming the setting."""
    parts = urlsplit(text if "//" in text else f"//{text}")
    try:
        port = parts.port or (DEFAULT_PORTS.get(parts.scheme) if parts.scheme else default_port)
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise EgressConfigError(f"{setting} {text!r} has no host and port the egress policy can use")
    return host_name(parts.hostname), port


def _as_allowed(host: str, port: int, entry: str) -> AllowedHost:
    try:
        return AllowedHost(entry, network=_checked_network(host), port=port)
    except ValueError:
        return AllowedHost(entry, name=host, port=port)


@dataclass(frozen=True)
class EgressPolicy:
    allowed: tuple[AllowedHost, ...] = ()
    own_services: tuple[OwnService, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        allowed = parse_allowed_hosts(settings.fetch_allowed_hosts)
        public_host, public_port = _host_port(settings.public_url, None, "TIDEWAY_PUBLIC_URL")
        temporal_host, temporal_port = _host_port(settings.resolved_temporal_address, DEFAULT_TEMPORAL_PORT,
                                                  "TEMPORAL_ADDRESS")
        own = [OwnService("Temporal frontend", temporal_host, temporal_port),
               OwnService("Temporal HTTP API", temporal_host, settings.temporal_http_port),
               OwnService("Temporal UI", temporal_host, settings.temporal_ui_port)]
        database = make_url(settings.resolved_database_url)
        if database.host:
            own.append(OwnService("database", host_name(database.host), database.port or DEFAULT_POSTGRES_PORT))
        public = _as_allowed(public_host, public_port, "TIDEWAY_PUBLIC_URL")
        return cls(allowed=(*allowed, public), own_services=tuple(own))

    def own_hosts(self) -> set[str]:
        return {service.host for service in self.own_services}

    def own_service(self, host: str, address: IPAddress, port: int,
                    own_addresses: Mapping[str, Iterable[IPAddress]]) -> OwnService | None:
        """The own service a connection to ``host:port`` at ``address`` would reach, if any."""
        local = address.is_loopback or address.is_unspecified
        for service in self.own_services:
            if port == service.port and (local or host_name(host) == service.host
                                         or address in own_addresses.get(service.host, ())):
                return service
        return None

    def refusal(self, host: str, address: IPAddress, port: int,
                own_addresses: Mapping[str, Iterable[IPAddress]]) -> str | None:
        """Why a connection to ``host:port`` resolved to ``address`` is refused, or None.
        ``own_addresses`` maps each own host to its resolved (canonical) addresses."""
        address = canonical(address)
        if self.own_service(host, address, port, own_addresses) is not None:
            return f"{_hostport(host, port)} is one of Tideway's own services, never allowed"
        if any(entry.admits(host, address, port) for entry in self.allowed):
            return None
        reason = special_use(address)
        if reason is None:
            return None
        literal = _is_ip_literal(host)
        return f"{address if literal else host} {'is' if literal else 'resolves to'} {reason} ({HINT})"


def _is_ip_literal(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
