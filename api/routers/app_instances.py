"""App instances of a workspace: install, read, configure, uninstall (spec §7.3, §10)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.bodies import parse_json, read_limited
from api.deps import AdminDep, ServicesDep

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/apps", tags=["app instances"])


async def _body(request: Request, limit: int) -> Any:
    raw = await read_limited(request, limit)
    return parse_json(raw) if raw else {}


@router.post("")
async def install_app(workspace_id: str, request: Request, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    body = await _body(request, services.settings.max_import_bytes)
    return await services.app_instances.install(workspace_id, body, actor=actor)


@router.get("")
async def list_app_instances(workspace_id: str, services: ServicesDep, _: AdminDep) -> list[dict[str, Any]]:
    return await services.app_instances.list(workspace_id)


# Instance slugs may contain '/': the config routes come first.
@router.get("/{slug:path}/config")
async def get_app_config(workspace_id: str, slug: str, services: ServicesDep, _: AdminDep) -> Any:
    return await services.app_instances.get_config(workspace_id, slug)


@router.patch("/{slug:path}/config")
async def patch_app_config(workspace_id: str, slug: str, request: Request, services: ServicesDep,
                           actor: AdminDep) -> dict[str, Any]:
    body = await _body(request, services.settings.max_import_bytes)
    return await services.app_instances.patch_config(workspace_id, slug, body, actor=actor)


@router.get("/{slug:path}")
async def get_app_instance(workspace_id: str, slug: str, services: ServicesDep, _: AdminDep) -> dict[str, Any]:
    return await services.app_instances.get(workspace_id, slug)


@router.patch("/{slug:path}")
async def configure_app_instance(workspace_id: str, slug: str, request: Request, services: ServicesDep,
                                 actor: AdminDep) -> dict[str, Any]:
    body = await _body(request, services.settings.max_import_bytes)
    return await services.app_instances.configure(workspace_id, slug, body, actor=actor)


@router.delete("/{slug:path}")
async def uninstall_app(workspace_id: str, slug: str, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    return await services.app_instances.uninstall(workspace_id, slug, actor=actor)
