"""The calling client's address for a request (``core.access.client_address``'s trusted-proxy rule)."""

from __future__ import annotations

from fastapi import Request

from core.access.client_address import client_address


def request_client_address(request: Request) -> str | None:
    """The address rate limits, caps, ``http.ip`` of webhook runs and ``source.ip`` of sent
    events name: the peer, or what a trusted proxy reports in ``X-Forwarded-For``."""
    settings = request.app.state.services.settings
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies)
