"""Workspace versions (spec §10): publish, list, pull, export, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.authorization import security_write
from api.bodies import JsonBody
from api.deps import ActorDep, AdminDep, ServicesDep

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/versions", tags=["versions"])


@router.get("")
async def list_versions(workspace_id: str, services: ServicesDep, _: AdminDep) -> list[dict[str, Any]]:
    return await services.versions.list(workspace_id)


@router.post("")
async def publish_version(workspace_id: str, services: ServicesDep, actor: AdminDep,
                          body: Annotated[Any, Depends(JsonBody())]) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    return await services.versions.publish(workspace_id, body, actor=actor)


@router.post("/{version}/pull")
async def pull_version(workspace_id: str, version: str, services: ServicesDep, actor: AdminDep, who: ActorDep,
                       keepSecurity: bool = False) -> dict[str, Any]:  # noqa: N803
    """Roll back to a version; restoring its security.yml needs ``manage_security`` like any
    security change (``?keepSecurity=true`` keeps the current one)."""
    mode = await security_write(services, who, workspace_id, keepSecurity)
    body = await services.versions.pull(workspace_id, version, actor=actor, security=mode)
    if keepSecurity:
        body["securityKept"] = True
    return body


@router.api_route("/{version}/export", methods=["GET", "POST"])
async def export_version(workspace_id: str, version: str, services: ServicesDep, _: AdminDep) -> Response:
    data, filename = await services.versions.export(workspace_id, version)
    return Response(data, media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


@router.delete("/{version}")
async def delete_version(workspace_id: str, version: str, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    return await services.versions.delete(workspace_id, version, actor=actor)
