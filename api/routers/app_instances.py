"""App instances of a workspace: install, read, configure, uninstall (spec §7.3, §10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.bodies import JsonBody
from api.deps import AdminDep, ServicesDep

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/apps", tags=["app instances"])
Body = Annotated[Any, Depends(JsonBody("max_import_bytes"))]


@router.post("")
async def install_app(workspace_id: str, services: ServicesDep, actor: AdminDep, body: Body) -> dict[str, Any]:
    return await services.app_instances.install(workspace_id, body, actor=actor)


@router.get("")
async def list_app_instances(workspace_id: str, services: ServicesDep, _: AdminDep) -> list[dict[str, Any]]:
    return await services.app_instances.list(workspace_id)


# Instance slugs may contain '/': the config routes come first.
@router.get("/{slug:path}/config")
async def get_app_config(workspace_id: str, slug: str, services: ServicesDep, _: AdminDep) -> Any:
    return await services.app_instances.get_config(workspace_id, slug)


@router.patch("/{slug:path}/config")
async def patch_app_config(workspace_id: str, slug: str, services: ServicesDep, actor: AdminDep,
                           body: Body) -> dict[str, Any]:
    return await services.app_instances.patch_config(workspace_id, slug, body, actor=actor)


@router.get("/{slug:path}")
async def get_app_instance(workspace_id: str, slug: str, services: ServicesDep, _: AdminDep) -> dict[str, Any]:
    return await services.app_instances.get(workspace_id, slug)


@router.patch("/{slug:path}")
async def configure_app_instance(workspace_id: str, slug: str, services: ServicesDep, actor: AdminDep,
                                 body: Body) -> dict[str, Any]:
    return await services.app_instances.configure(workspace_id, slug, body, actor=actor)


@router.delete("/{slug:path}")
async def uninstall_app(workspace_id: str, slug: str, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    return await services.app_instances.uninstall(workspace_id, slug, actor=actor)
