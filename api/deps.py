"""Request dependencies: the shared services and the caller's identity."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from api.authorization import Actor, authorize
from core.errors import UnauthorizedError
from core.identity import IdentityService
from core.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_actor(request: Request, services: ServicesDep) -> Actor:
    """The bearer of ``TIDEWAY_ADMIN_TOKEN`` (a superadmin) or of a user token (login or access token)."""
    token = bearer_token(request)
    if not token:
        raise UnauthorizedError("Missing bearer token (Authorization: Bearer <token>)")
    expected = services.admin_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return Actor("admin", superadmin=True)
    caller = await IdentityService(services.db, services.settings).verify(token)
    return Actor(caller.user_id, caller.session_id, caller.superadmin, caller.anonymous)


ActorDep = Annotated[Actor, Depends(current_actor)]


async def require_admin(request: Request, services: ServicesDep, actor: ActorDep) -> str:
    """Management routes: a valid token whose role on the workspace allows the request (403 otherwise)."""
    await authorize(request, services, actor)
    return actor.id


AdminDep = Annotated[str, Depends(require_admin)]
