"""Workspace security (security.yml) and sharing (members and their roles), spec §8.1–8.3."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.authorization import Actor
from api.bodies import JsonBody
from api.deps import ServicesDep
from api.openapi import json_body
from api.permissions import (
    CanManagePermissions,
    CanManageSecurity,
    CanReadSecrets,
    CanUpdateSecrets,
)
from core.access.permissions.defaults import OWNER, initial_security
from core.access.permissions.dsul import validate_security
from core.events.changes import EventOnCommit
from core.services import Services
from core.workspaces.secrets import SecretsKeyError, SecretStore
from core.workspaces.security_write import SecurityWrite
from schemas.api.common import Removed
from schemas.api.security import (
    ApiKey,
    ApiKeyBody,
    ApiKeyCreated,
    Member,
    Members,
    RemovedApiKey,
    RemovedSecret,
    Role,
    SecretInfo,
    SecurityDocument,
)
from schemas.errors import InvalidWorkspaceError, ObjectNotFoundError
from schemas.requests import SecretsBody, ShareBody, parse_body

router = APIRouter(prefix="/v2/workspaces/{workspace_id}", tags=["security"])
Body = Annotated[Any, Depends(JsonBody())]


@router.get("/security", response_model=SecurityDocument, response_model_exclude_unset=True)
async def get_security(workspace_id: str, services: ServicesDep, _: CanManageSecurity) -> dict[str, Any]:
    source = await services.workspaces.source(workspace_id)
    security: dict[str, Any] = source.security if source.security is not None else initial_security()
    return security


@router.put("/security", response_model=SecurityDocument, response_model_exclude_unset=True,
            openapi_extra=json_body(SecurityDocument))
async def put_security(workspace_id: str, services: ServicesDep, actor: CanManageSecurity,
                       security: Annotated[Any, Depends(JsonBody("max_import_bytes"))]) -> dict[str, Any]:
    if not isinstance(security, dict):
        kind = "null" if security is None else type(security).__name__
        raise InvalidWorkspaceError(f"Invalid security: body: must be an object (security.yml), got {kind}",
                                    [{"path": "body", "message": "must be an object"}], name="InvalidSecurity")
    problems = validate_security(security)
    if problems:
        first = problems[0]
        raise InvalidWorkspaceError(f"Invalid security: {first['path']}: {first['message']}", problems,
                                    name="InvalidSecurity")

    async def save(ws: str) -> None:
        source = await services.workspaces.source(ws)
        source.security = security
        # The route itself requires manage_security (its declared permission).
        await services.workspaces.replace(ws, source, actor=actor.id, event="workspaces.security.updated",
                                          payload={"security": security}, security=SecurityWrite.ALLOW)

    await services.workspaces.retrying(save, workspace_id)
    result: dict[str, Any] = security
    return result


@router.get("/security/roles", response_model=list[Role], response_model_exclude_unset=True)
async def list_roles(workspace_id: str, services: ServicesDep, _: CanManagePermissions) -> list[dict[str, Any]]:
    """Owner, editor and the custom roles of security.yml, without API-key roles (spec §8.3)."""
    source = await services.workspaces.source(workspace_id)
    security = source.security if source.security is not None else initial_security()
    roles = [{"name": OWNER}, {"name": "editor"}]
    for name, role in ((security.get("authorizations") or {}).get("roles") or {}).items():
        spec = role if isinstance(role, dict) else {}
        if name in (OWNER, "editor") or "apiKey" in (spec.get("auth") or {}):
            continue
        roles.append({"name": name, **({"description": spec["description"]} if spec.get("description") else {})})
    return roles


@router.get("/permissions", response_model=Members)
async def list_permissions(workspace_id: str, services: ServicesDep, _: CanManagePermissions) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    members = await services.members.list(workspace_id)
    return {"result": [{"target": {"id": user}, "permissions": {"role": role}} for user, role in members.items()]}


@router.post("/permissions", response_model=Member, openapi_extra=json_body(ShareBody))
async def share(workspace_id: str, services: ServicesDep, _: CanManagePermissions, body: Body) -> dict[str, Any]:
    """``{target: {id}, permissions: {role}}``: give a user a role (owner, editor or a custom role)."""
    shared = parse_body(ShareBody, body, what="sharing (expected {target: {id}, permissions: {role}})",
                        error=InvalidWorkspaceError)
    user_id, role = shared.target.id, shared.permissions.role
    source = await services.workspaces.source(workspace_id)
    security = source.security if source.security is not None else initial_security()
    declared = set((security.get("authorizations") or {}).get("roles") or {}) | {OWNER, "editor"}
    if role not in declared:
        raise InvalidWorkspaceError(f"Unknown role '{role}' (declare it in security.yml)",
                                    [{"path": "body.permissions.role", "message": f"unknown role '{role}'"}])
    await services.members.set_role(workspace_id, user_id, role)
    return {"target": {"id": user_id}, "permissions": {"role": role}}


@router.delete("/permissions/{user_id}", response_model=Removed)
async def unshare(workspace_id: str, user_id: str, services: ServicesDep, _: CanManagePermissions) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    members = services.members
    if await members.role_of(workspace_id, user_id) is None:
        raise ObjectNotFoundError(f"User '{user_id}' has no role on this workspace", {"userId": user_id})
    await members.remove(workspace_id, user_id)
    return {"id": user_id}


def _store(services: Services) -> SecretStore:
    store = services.workspaces.secrets
    if store is None:
        raise SecretsKeyError("Secrets are not configured on this server")
    return store


@router.get("/security/secrets", response_model=dict[str, SecretInfo], response_model_exclude_unset=True)
async def list_secrets(workspace_id: str, services: ServicesDep, _: CanReadSecrets, reveal: bool = False) -> dict[str, Any]:
    """Names, types and descriptions; values only with an explicit ``reveal=true``."""
    await services.workspaces.get_row(workspace_id)
    return await _store(services).describe(workspace_id, reveal=reveal)


async def _write_secrets(workspace_id: str, body: Any, services: Services, actor: Actor, *,
                         replace_all: bool) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    event = EventOnCommit(services.workspaces.changes, workspace_id, "workspaces.secrets.updated", actor.id)  # names only
    await _store(services).write(workspace_id, body, replace_all=replace_all, before_commit=event)
    await event.deliver()
    return await _store(services).describe(workspace_id)


@router.put("/security/secrets", response_model=dict[str, SecretInfo], response_model_exclude_unset=True,
            openapi_extra=json_body(SecretsBody))
async def put_secrets(workspace_id: str, services: ServicesDep, actor: CanUpdateSecrets, body: Body) -> dict[str, Any]:
    return await _write_secrets(workspace_id, body, services, actor, replace_all=True)


@router.patch("/security/secrets", response_model=dict[str, SecretInfo], response_model_exclude_unset=True,
              openapi_extra=json_body(SecretsBody))
async def patch_secrets(workspace_id: str, services: ServicesDep, actor: CanUpdateSecrets, body: Body) -> dict[str, Any]:
    return await _write_secrets(workspace_id, body, services, actor, replace_all=False)


@router.delete("/security/secrets/{name}", response_model=RemovedSecret)
async def delete_secret(workspace_id: str, name: str, services: ServicesDep, actor: CanUpdateSecrets) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    event = EventOnCommit(services.workspaces.changes, workspace_id, "workspaces.secrets.updated", actor.id)
    await _store(services).remove(workspace_id, name, before_commit=event)
    await event.deliver()
    return {"secretName": name}


# REST API keys (spec §8.5). The key itself is returned once, by the creation; the events and the
# listings carry its id (docs/security.md, "API keys").
def _key_event(key: dict[str, Any]) -> dict[str, Any]:
    return {"apiKey": key["id"], "name": key["name"], "subjectType": key["subjectType"],
            "subjectId": key["subjectId"], "rules": key["rules"]}


@router.get("/security/apikeys", response_model=list[ApiKey])
async def list_api_keys(workspace_id: str, services: ServicesDep, _: CanManagePermissions) -> list[dict[str, Any]]:
    await services.workspaces.get_row(workspace_id)
    return await services.api_keys.listing(workspace_id)


@router.post("/security/apikeys", response_model=ApiKeyCreated, openapi_extra=json_body(ApiKeyBody))
async def create_api_key(workspace_id: str, services: ServicesDep, actor: CanManagePermissions, body: Body) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    event = EventOnCommit(services.workspaces.changes, workspace_id, "apikeys.created", actor.id, _key_event)
    key = await services.api_keys.create(workspace_id, body, before_commit=event)
    await event.deliver()
    return key


@router.put("/security/apikeys/{key_id}", response_model=ApiKey, openapi_extra=json_body(ApiKeyBody))
async def update_api_key(workspace_id: str, key_id: str, services: ServicesDep, actor: CanManagePermissions,
                         body: Body) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    event = EventOnCommit(services.workspaces.changes, workspace_id, "apikeys.updated", actor.id, _key_event)
    key = await services.api_keys.update(workspace_id, key_id, body, before_commit=event)
    await event.deliver()
    return key


@router.delete("/security/apikeys/{key_id}", response_model=RemovedApiKey)
async def delete_api_key(workspace_id: str, key_id: str, services: ServicesDep, actor: CanManagePermissions) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    event = EventOnCommit(services.workspaces.changes, workspace_id, "apikeys.deleted", actor.id,
                          lambda deleted: {"apiKey": deleted["id"]})
    await services.api_keys.delete(workspace_id, key_id, before_commit=event)
    await event.deliver()
    return {"apiKey": key_id}
