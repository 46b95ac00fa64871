"""Request dependencies: the shared services and the caller's identity (what each route needs of
the caller is declared with ``api/permissions.py``)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from api.authorization import Actor
from api.cookies import session_cookie_token
from core.access.apikeys import KeyGrant
from core.access.forwarded import ForwardedTokens, is_forwarded_token
from core.services import Services
from schemas.errors import ForbiddenError, UnauthorizedError


async def get_services(request: Request) -> Services:
    # async, as every dependency: FastAPI runs a plain ``def`` one in its thread pool, a thread
    # hand-off on every request (tests/api/test_route_permissions.py checks them all).
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer``, else of the browser session cookie; a write
    authenticated by the cookie must carry the CSRF header (``api/cookies.py``, 403 otherwise)."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return session_cookie_token(request)


API_KEY_HEADER = "x-prismeai-api-key"


async def identify(request: Request, services: Services) -> Actor | None:
    """The caller, or None without credentials: the bearer of ``TIDEWAY_ADMIN_TOKEN`` (a
    superadmin), of a user token (login, anonymous session or access token), plus the rules of
    an API key sent in ``x-prismeai-api-key`` (spec §8.5; an unknown key adds nothing). An
    invalid or expired token is a 401. A forwarded workspace token (``fetch`` with
    ``auth.prismeai.forwardWorkspaceAuth``) is accepted only on the routes of its workspace
    (``/v2/workspaces/<id>/…``): anywhere else, a 403."""
    token = bearer_token(request)
    raw_key = request.headers.get(API_KEY_HEADER)
    grant = await services.api_keys.grant(raw_key.strip()) if raw_key else None
    if not token:
        return Actor("", anonymous=True, api_key=grant) if grant else None
    actor = await token_actor(services, token, grant)
    if actor.workspace_scope is not None and request.path_params.get("workspace_id") != actor.workspace_scope:
        raise ForbiddenError(f"A forwarded workspace token acts only on the routes of workspace "
                             f"'{actor.workspace_scope}' (/v2/workspaces/{actor.workspace_scope}/...)",
                             {"workspaceId": actor.workspace_scope})
    return actor


async def token_actor(services: Services, token: str, grant: KeyGrant | None = None) -> Actor:
    """The caller a token names: the admin token (a superadmin), a forwarded workspace token
    (core/access/forwarded.py: the run's user, on one workspace) or a user token (401 if invalid)."""
    expected = services.admin_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return Actor("admin", superadmin=True)
    if is_forwarded_token(token):
        forwarded = ForwardedTokens.from_settings(services.settings).verify(token)
        return Actor(forwarded.user_id, forwarded.session_id, api_key=grant, workspace_scope=forwarded.workspace_id)
    caller = await services.identity.verify(token)
    return Actor(caller.user_id, caller.session_id, caller.superadmin, caller.anonymous, grant)


async def current_actor(request: Request, services: ServicesDep) -> Actor:
    actor = await identify(request, services)
    if actor is None:
        raise UnauthorizedError("Missing bearer token (Authorization: Bearer <token>) or API key "
                                f"({API_KEY_HEADER})")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
