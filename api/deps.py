"""Request dependencies: the shared services and the caller's identity."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from core.errors import UnauthorizedError
from core.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_admin(request: Request, services: ServicesDep) -> str:
    """Management routes: ``Authorization: Bearer <TIDEWAY_ADMIN_TOKEN>`` (users and roles come later)."""
    token = bearer_token(request)
    if not token:
        raise UnauthorizedError("Missing bearer token (Authorization: Bearer <token>)")
    expected = services.admin_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise UnauthorizedError("Invalid token")
    return "admin"


AdminDep = Annotated[str, Depends(require_admin)]
