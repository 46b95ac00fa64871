"""Workspace security (spec §8): security.yml, members and roles, secrets, API keys."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed, Open


class SecurityDocument(Open):
    """security.yml: ``authorizations`` (``roles`` and ``rules``) and ``authentication``; checked
    in full when written (every problem listed, named ``InvalidSecurity``)."""

    authorizations: dict[str, Any] | None = Field(default=None, description="`{roles: {name: {…}}, rules: [{role?, "
                                                  "action, subject, conditions?}]}`")
    authentication: dict[str, Any] | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"authorizations": {
        "roles": {"editor": {}, "viewer": {"description": "reads the workspace"}},
        "rules": [{"role": "editor", "action": ["read", "update"], "subject": "workspaces"},
                  {"role": "viewer", "action": "read", "subject": "workspaces"}]}}]})


class Role(Closed):
    name: str
    description: Any = None


class MemberTarget(Closed):
    id: str


class MemberRole(Closed):
    role: str


class Member(Closed):
    """A user's role on the workspace."""

    target: MemberTarget
    permissions: MemberRole


class Members(Closed):
    result: list[Member]


class SecretInfo(Closed):
    """A secret without its value (``value`` only with ``?reveal=true``)."""

    type: str = Field(description="`string` or `object`")
    description: str | None
    createdAt: str
    updatedAt: str
    value: Any = None


class RemovedSecret(Closed):
    secretName: str


class ApiKeyBody(Closed):
    """``POST|PUT …/security/apikeys``: a name and the rules the key adds (security.yml rules
    without ``role``)."""

    name: str = Field(min_length=1, max_length=200)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    disabled: bool | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "reader", "rules": [{"action": "read", "subject": "workspaces"}]}]})


class ApiKey(Closed):
    """An API key as listed: never the key itself (only its digest is stored)."""

    id: str
    name: str
    subjectType: str
    subjectId: str
    rules: list[dict[str, Any]]
    disabled: bool
    createdAt: str
    updatedAt: str


class ApiKeyCreated(ApiKey):
    """A new key: ``apiKey`` is shown this once (send it in ``x-prismeai-api-key``)."""

    apiKey: str


class RemovedApiKey(Closed):
    apiKey: str
