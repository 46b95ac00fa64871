"""Users, sessions and personal access tokens (issue 6)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed


class Session(Closed):
    """A session: ``token`` goes in ``Authorization: Bearer`` (browsers also get the cookie)."""

    token: str
    id: str = Field(description="the user's id (a fresh one for an anonymous session)")
    sessionId: str
    expires: str

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"token": "eyJ…", "id": "u1", "sessionId": "s1", "expires": "2026-02-01T00:00:00Z"}]})


class LoggedOut(Closed):
    loggedOut: bool


class User(Closed):
    id: str
    email: str
    superadmin: bool
    createdAt: str


class AccessTokenBody(Closed):
    """``POST /v2/user/accessTokens``."""

    name: str = Field(min_length=1, max_length=200)


class AccessToken(Closed):
    id: str
    name: str
    createdAt: str
    expiresAt: str


class AccessTokenCreated(AccessToken):
    """A new token: ``token`` is shown this once."""

    token: str


class AccessTokens(Closed):
    result: list[AccessToken]


class MeApiKey(Closed):
    id: str
    name: str
    workspaceId: str


class Me(Closed):
    """``GET /v2/me``: who the credentials name, in the reference's shape (``id``, ``email``,
    ``authData``, ``sessionId``, ``platformRole``), plus ``apiKey`` when an API key was sent."""

    id: str | None = Field(None, description="the user's id; absent for an API key alone")
    email: str | None = None
    authData: dict[str, Any] = Field(default_factory=dict,
                                     description="`{prismeai: {id, email}}` for a registered user, `{anonymous: {}}` "
                                                 "for an anonymous session")
    sessionId: str | None = None
    platformRole: str | None = Field(None, description="`superadmin` for superadmins")
    superadmin: bool = False
    apiKey: MeApiKey | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "u1", "email": "ada@example.com", "authData": {"prismeai": {"id": "u1", "email": "ada@example.com"}},
         "sessionId": "s1", "superadmin": False}]})
