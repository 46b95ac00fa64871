"""Identity routes (issue 6): users, login, anonymous sessions and personal access tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from api.bodies import JsonBody
from api.client import request_client_address
from api.cookies import clear_session_cookies, set_session_cookies
from api.deps import ServicesDep, bearer_token
from api.openapi import errors, json_body
from api.permissions import Authenticated, Public, SuperadminOnly, UserOwnToken
from core.access.identity import IdentityService
from core.infra.tables import iso
from schemas.api.common import Removed
from schemas.api.identity import (
    AccessTokenBody,
    AccessTokenCreated,
    AccessTokens,
    LoggedOut,
    Me,
    Session,
    User,
)
from schemas.errors import InvalidArgumentsError
from schemas.requests import LoginBody, UserBody, parse_body

router = APIRouter(prefix="/v2", tags=["identity"])


async def get_identity(services: ServicesDep) -> IdentityService:
    return services.identity


IdentityDep = Annotated[IdentityService, Depends(get_identity)]


async def _object_body(body: Annotated[Any, Depends(JsonBody())]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidArgumentsError("Body must be a JSON object", [{"path": "body", "message": "must be an object"}])
    return body


ObjectBody = Annotated[dict[str, Any], Depends(_object_body)]
LOGIN = Public("signing in: the credentials are the body")


@router.post("/login", response_model=Session, dependencies=[Depends(LOGIN)], responses=errors(401, 429),
             openapi_extra=json_body(LoginBody))
async def login(request: Request, response: Response, identity: IdentityDep, body: ObjectBody) -> dict[str, Any]:
    """The session token in the body (for ``Authorization: Bearer``) and, for browsers, in the
    HttpOnly session cookie with its CSRF companion (``api/cookies.py``)."""
    credentials = parse_body(LoginBody, body, what="login (expected {email, password})")
    session = await identity.login(credentials.email, credentials.password, request_client_address(request))
    set_session_cookies(response, request, session["token"])
    return session


@router.post("/logout", response_model=LoggedOut, dependencies=[Depends(Public("clears the browser's cookies"))],
             responses=errors(403))
async def logout(request: Request, response: Response) -> dict[str, Any]:
    """Clear the browser session cookies. Sessions are stateless signed tokens: a copy of the
    token kept elsewhere stays valid until it expires."""
    # A cookie-authenticated call needs the CSRF header like any write (403 otherwise), so
    # another site cannot log the user out.
    bearer_token(request)
    clear_session_cookies(response, request)
    return {"loggedOut": True}


@router.post("/login/anonymous", response_model=Session,
             dependencies=[Depends(Public("anonymous sessions are free to mint"))])
async def login_anonymous(identity: IdentityDep) -> dict[str, Any]:
    return identity.anonymous()


@router.post("/users", response_model=User, openapi_extra=json_body(UserBody))
async def create_user(identity: IdentityDep, _: SuperadminOnly, body: ObjectBody) -> dict[str, Any]:
    wanted = parse_body(UserBody, body, what="user (expected {email, password, superadmin?})",
                        error=InvalidArgumentsError)
    user = await identity.create_user(wanted.email, wanted.password, superadmin=wanted.superadmin)
    return {"id": user.id, "email": user.email, "superadmin": user.is_superadmin,
            "createdAt": iso(user.created_at)}


@router.get("/me", response_model=Me, response_model_exclude_none=True)
async def get_me(actor: Authenticated, identity: IdentityDep) -> dict[str, Any]:
    """The caller: a user (id, email, ``authData``, session), an anonymous session, the admin token
    (a superadmin identity), and ``apiKey`` `{id, name, workspaceId}` when an API key was sent."""
    me: dict[str, Any] = {"superadmin": actor.superadmin}
    if actor.superadmin and actor.id == "admin":
        me.update(id="admin", platformRole="superadmin", authData={"adminToken": {}})
    elif actor.anonymous and actor.id:
        me.update(id=actor.id, sessionId=actor.session_id, authData={"anonymous": {}})
    elif actor.id:
        user = await identity.get_user(actor.id)
        me.update(id=actor.id, sessionId=actor.session_id)
        if user is not None:
            me.update(email=user.email, authData={"prismeai": {"id": user.id, "email": user.email}})
        if actor.superadmin:
            me["platformRole"] = "superadmin"
    if actor.api_key is not None:
        me["apiKey"] = {"id": actor.api_key.id, "name": actor.api_key.name, "workspaceId": actor.api_key.workspace_id}
    return me


@router.get("/user/accessTokens", response_model=AccessTokens)
async def list_access_tokens(caller: UserOwnToken, identity: IdentityDep) -> dict[str, Any]:
    return {"result": await identity.list_access_tokens(caller.user_id)}


@router.post("/user/accessTokens", response_model=AccessTokenCreated, openapi_extra=json_body(AccessTokenBody))
async def create_access_token(identity: IdentityDep, caller: UserOwnToken, body: ObjectBody) -> dict[str, Any]:
    """The name is checked by ``core.access.identity`` (a non-empty text of at most 200 characters)."""
    return await identity.create_access_token(caller.user_id, body.get("name"))


@router.delete("/user/accessTokens/{token_id}", response_model=Removed)
async def revoke_access_token(token_id: str, identity: IdentityDep, caller: UserOwnToken) -> dict[str, Any]:
    return await identity.revoke_access_token(caller.user_id, token_id)
