"""Enforcing the egress policy (activities/egress.py) where httpx opens connections.

httpx hands every new connection — the first request, each redirect hop, a pooled origin's
first use — to its httpcore network backend as ``connect_tcp(host, port)``. The backend here
resolves the host itself, checks every candidate address against the policy and connects to
an address it checked, never to the name: a DNS answer that changes between the check and the
connection (rebinding) cannot move the connection. TLS still verifies and sends SNI for the
URL's host name (httpcore takes it from the URL, not from the socket), and the Host header is
the URL's. Decimal, hex, octal and short IPv4 forms and ``localhost`` are normalised by that
resolution.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from activities.egress import DEFAULT_PORTS, EgressPolicy, EgressRefusedError, IPAddress, canonical

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
# Tideway's own host names are resolved again at most this often (a restarted container may
# come back on another address).
OWN_ADDRESSES_TTL_SECONDS = 60.0


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """getaddrinfo in a worker thread: every address of ``host``, in the resolver's order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ip_address(str(info[4][0]))
        if address not in addresses:
            addresses.append(address)
    return addresses


def numeric_addresses(host: str) -> list[IPAddress] | None:
    """The addresses of ``host`` when it is numeric in any form the C library accepts
    (``2130706433``, ``0177.0.0.1``, ``127.1``…), without DNS; None for a name."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return [ip_address(str(info[4][0])) for info in infos]


class EgressGuard:
    """The policy plus a resolver: which addresses of ``host:port`` a connection may use."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver = system_resolver,
                 clock: Callable[[], float] = time.monotonic):
        self.policy = policy
        self.resolver = resolver
        self.clock = clock
        self._own: dict[str, frozenset[IPAddress]] = {}
        self._own_expires = float("-inf")

    async def own_addresses(self) -> Mapping[str, Iterable[IPAddress]]:
        if self.clock() < self._own_expires:
            return self._own
        resolved: dict[str, frozenset[IPAddress]] = {}
        for host in self.policy.own_hosts():
            literal = numeric_addresses(host)
            try:
                found = literal if literal is not None else await self.resolver(host, 0)
            except OSError:  # unresolvable now: keep what was known (the name still matches)
                found = list(self._own.get(host, ()))
            resolved[host] = frozenset(canonical(address) for address in found)
        self._own, self._own_expires = resolved, self.clock() + OWN_ADDRESSES_TTL_SECONDS
        return self._own

    async def permitted(self, host: str, port: int, addresses: list[IPAddress] | None = None) -> list[IPAddress]:
        """The addresses of ``host`` the policy admits on ``port``, in resolver order; raises
        EgressRefusedError (with the first refused address's reason) when there is none.
        OSError when the name does not resolve."""
        candidates = addresses if addresses is not None else await self.resolver(host, port)
        own = await self.own_addresses()
        admitted: list[IPAddress] = []
        first_reason: str | None = None
        for address in candidates:
            reason = self.policy.refusal(host, address, port, own)
            if reason is None:
                admitted.append(canonical(address))
            elif first_reason is None:
                first_reason = reason
        if not admitted:
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise EgressRefusedError(first_reason or f"{host} has no address", where)
        return admitted

    async def check_numeric_url(self, url: str) -> None:
        """Refuse up front a URL whose host is a numeric address the policy refuses: httpx
        rejects some numeric forms (``0177.0.0.1``) as invalid URLs before any connection,
        which is safe but would not say why. Names are checked at connection time."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return
        host = parts.hostname
        if not host or port is None:
            return
        addresses = numeric_addresses(host)
        if addresses is None:
            return
        try:
            await self.permitted(host, port, addresses)
        except EgressRefusedError as refused:
            raise refused.at(f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2]}/") from None


class EgressNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that only connects to addresses the guard admitted."""

    def __init__(self, guard: EgressGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self.guard.permitted(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # the name does not resolve: a connection error like any other
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(str(address), port, timeout=timeout,
                                                    local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise EgressRefusedError("Unix sockets are never allowed", path)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class EgressTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on the EgressNetworkBackend. A refusal is
    located at the URL origin of the request (the redirect hop) that caused it."""

    def __init__(self, guard: EgressGuard, inner: httpcore.AsyncNetworkBackend | None = None,
                 limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
                 verify: bool = True):
        super().__init__(limits=limits)
        # httpx builds the pool without a way to pass a network backend; the pool it made is
        # replaced by the same one on ours (tests/unit/test_egress.py checks it is in use).
        # ``verify=False`` (fetch.allowSelfSignedCert) only skips certificate checks: every
        # connection still goes through the egress backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=EgressNetworkBackend(guard, inner))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except EgressRefusedError as refused:
            origin = httpx.URL(scheme=request.url.scheme, host=request.url.host, port=request.url.port, path="/")
            raise refused.at(str(origin)) from None


def egress_client(guard: EgressGuard, timeout: float, inner: httpcore.AsyncNetworkBackend | None = None,
                  *, verify: bool = True, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    """The client of the fetch activity. ``trust_env=False``: proxy variables of the environment
    would route requests around the transport (and so around the policy). ``verify=False`` is the
    client of ``allowSelfSignedCert: true``."""
    transport = (EgressTransport(guard, inner, verify=verify) if limits is None
                 else EgressTransport(guard, inner, limits, verify=verify))
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True, trust_env=False)
