"""``fetch.allowSelfSignedCert: true`` (docs/fetch.md): a client that does not verify the server's
certificate, and nothing else changes.

It is the fetch client with one difference, its TLS context: the same transport class, so every
connection still goes through the egress policy's network backend (activities/egress_http.py),
redirect hops included. Only the one request that asks for it uses this client.
"""

from __future__ import annotations

import httpcore
import httpx

from activities.egress_http import EgressGuard, EgressNetworkBackend, EgressTransport

LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=5)


class UnverifiedTlsEgressTransport(EgressTransport):
    """``EgressTransport`` whose pool accepts any server certificate (self-signed, expired, for
    another name). The egress checks are those of ``EgressTransport``: same backend, same guard."""

    def __init__(self, guard: EgressGuard, inner: httpcore.AsyncNetworkBackend | None = None,
                 limits: httpx.Limits = LIMITS):
        super().__init__(guard, inner, limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=False), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=EgressNetworkBackend(guard, inner))


def unverified_tls_client(guard: EgressGuard, timeout: float, inner: httpcore.AsyncNetworkBackend | None = None
                          ) -> httpx.AsyncClient:
    """Like ``egress_client`` (no proxies from the environment), without certificate checks."""
    return httpx.AsyncClient(transport=UnverifiedTlsEgressTransport(guard, inner), timeout=timeout,
                             follow_redirects=True, trust_env=False)
