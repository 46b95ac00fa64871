"""Identity routes (issue 6): users, login, anonymous sessions and personal access tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from api.bodies import JsonBody
from api.client import request_client_address
from api.cookies import clear_session_cookies, set_session_cookies
from api.deps import AdminDep, ServicesDep, bearer_token
from core.access.identity import Caller, IdentityService
from core.infra.tables import iso
from schemas.errors import InvalidArgumentsError, UnauthorizedError
from schemas.requests import LoginBody, UserBody, parse_body

router = APIRouter(prefix="/v2", tags=["identity"])


def get_identity(services: ServicesDep) -> IdentityService:
    return services.identity


IdentityDep = Annotated[IdentityService, Depends(get_identity)]


async def require_user(request: Request, identity: IdentityDep) -> Caller:
    """A valid, non-anonymous user token (session or access token) in ``Authorization: Bearer``."""
    token = bearer_token(request)
    if not token:
        raise UnauthorizedError("Missing bearer token (Authorization: Bearer <token>)")
    caller = await identity.verify(token)
    if caller.anonymous:
        raise UnauthorizedError("This route needs a registered user")
    return caller


UserDep = Annotated[Caller, Depends(require_user)]


async def _object_body(body: Annotated[Any, Depends(JsonBody())]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidArgumentsError("Body must be a JSON object", [{"path": "body", "message": "must be an object"}])
    return body


ObjectBody = Annotated[dict[str, Any], Depends(_object_body)]


@router.post("/login")
async def login(request: Request, response: Response, identity: IdentityDep, body: ObjectBody) -> dict[str, Any]:
    """The session token in the body (for ``Authorization: Bearer``) and, for browsers, in the
    HttpOnly session cookie with its CSRF companion (``api/cookies.py``)."""
    credentials = parse_body(LoginBody, body, what="login (expected {email, password})")
    session = await identity.login(credentials.email, credentials.password, request_client_address(request))
    set_session_cookies(response, request, session["token"])
    return session


@router.post("/logout")
async def logout(request: Request, response: Response) -> dict[str, Any]:
    """Clear the browser session cookies. Sessions are stateless signed tokens: a copy of the
    token kept elsewhere stays valid until it expires."""
    # A cookie-authenticated call needs the CSRF header like any write (403 otherwise), so
    # another site cannot log the user out.
    bearer_token(request)
    clear_session_cookies(response, request)
    return {"loggedOut": True}


@router.post("/login/anonymous")
async def login_anonymous(identity: IdentityDep) -> dict[str, Any]:
    return identity.anonymous()


@router.post("/users")
async def create_user(identity: IdentityDep, _: AdminDep, body: ObjectBody) -> dict[str, Any]:
    wanted = parse_body(UserBody, body, what="user (expected {email, password, superadmin?})",
                        error=InvalidArgumentsError)
    user = await identity.create_user(wanted.email, wanted.password, superadmin=wanted.superadmin)
    return {"id": user.id, "email": user.email, "superadmin": user.is_superadmin,
            "createdAt": iso(user.created_at)}


@router.get("/user/accessTokens")
async def list_access_tokens(caller: UserDep, identity: IdentityDep) -> dict[str, Any]:
    return {"result": await identity.list_access_tokens(caller.user_id)}


@router.post("/user/accessTokens")
async def create_access_token(identity: IdentityDep, caller: UserDep, body: ObjectBody) -> dict[str, Any]:
    return await identity.create_access_token(caller.user_id, body.get("name"))


@router.delete("/user/accessTokens/{token_id}")
async def revoke_access_token(token_id: str, identity: IdentityDep, caller: UserDep) -> dict[str, Any]:
    return await identity.revoke_access_token(caller.user_id, token_id)
