"""App instances of a workspace: install, read, configure, uninstall (spec §7.3, §10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.authorization import actor_permissions
from api.bodies import JsonBody
from api.deps import ServicesDep
from api.openapi import json_body
from api.permissions import CanRead, CanUpdate
from core.access.permissions.checks import can
from schemas.api.apps import (
    AppConfigPatch,
    AppInstanceDetail,
    AppInstanceListed,
    ConfiguredApp,
    InstallBody,
    InstalledApp,
    InstancePatch,
)
from schemas.api.common import Removed

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/apps", tags=["app instances"])
Body = Annotated[Any, Depends(JsonBody("max_import_bytes"))]
ANY_CONFIG: dict[int | str, dict[str, Any]] = {200: {"description": "the instance's config value (any JSON value; `{}` when unset)",
                    "content": {"application/json": {"schema": {}}}}}


@router.post("", response_model=InstalledApp, response_model_exclude_unset=True, openapi_extra=json_body(InstallBody))
async def install_app(workspace_id: str, services: ServicesDep, actor: CanUpdate, body: Body) -> dict[str, Any]:
    return await services.app_instances.install(workspace_id, body, actor=actor.id)


@router.get("", response_model=list[AppInstanceListed], response_model_exclude_unset=True)
async def list_app_instances(workspace_id: str, services: ServicesDep, _: CanRead) -> list[dict[str, Any]]:
    return await services.app_instances.list(workspace_id)


# Instance slugs may contain '/': the config routes come first.
@router.get("/{slug:path}/config", response_model=None, responses=ANY_CONFIG)
async def get_app_config(workspace_id: str, slug: str, services: ServicesDep, actor: CanRead) -> Any:
    """The instance's config; fields its app declares ``secret: true`` read ``REDACTED`` unless the
    caller may manage the workspace's security (they hold ``{{secret.…}}`` references anyway)."""
    manages = actor.superadmin or can(await actor_permissions(services, actor, workspace_id), "manage_security",
                                      "workspaces", {"id": workspace_id})
    return await services.app_instances.get_config(workspace_id, slug, redact_secrets=not manages)


@router.patch("/{slug:path}/config", response_model=ConfiguredApp, response_model_exclude_unset=True,
              openapi_extra=json_body(AppConfigPatch))
async def patch_app_config(workspace_id: str, slug: str, services: ServicesDep, actor: CanUpdate,
                           body: Body) -> dict[str, Any]:
    return await services.app_instances.patch_config(workspace_id, slug, body, actor=actor.id)


@router.get("/{slug:path}", response_model=AppInstanceDetail, response_model_exclude_unset=True)
async def get_app_instance(workspace_id: str, slug: str, services: ServicesDep, _: CanRead) -> dict[str, Any]:
    return await services.app_instances.get(workspace_id, slug)


@router.patch("/{slug:path}", response_model=ConfiguredApp, response_model_exclude_unset=True,
              openapi_extra=json_body(InstancePatch))
async def configure_app_instance(workspace_id: str, slug: str, services: ServicesDep, actor: CanUpdate,
                                 body: Body) -> dict[str, Any]:
    return await services.app_instances.configure(workspace_id, slug, body, actor=actor.id)


@router.delete("/{slug:path}", response_model=Removed)
async def uninstall_app(workspace_id: str, slug: str, services: ServicesDep, actor: CanUpdate) -> dict[str, Any]:
    return await services.app_instances.uninstall(workspace_id, slug, actor=actor.id)
