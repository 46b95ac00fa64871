"""Workspace versions (spec §10): publish, list, pull, export, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.authorization import security_write
from api.bodies import JsonBody
from api.deps import ServicesDep
from api.openapi import ZIP, ZipResponse, json_body
from api.permissions import CanRead, CanUpdate
from schemas.api.common import Removed
from schemas.api.versions import VersionBody, VersionPulled, WorkspaceVersion

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/versions", tags=["versions"])


@router.get("", response_model=list[WorkspaceVersion], response_model_exclude_unset=True)
async def list_versions(workspace_id: str, services: ServicesDep, _: CanRead) -> list[dict[str, Any]]:
    return await services.versions.list(workspace_id)


@router.post("", response_model=WorkspaceVersion, response_model_exclude_unset=True,
             openapi_extra=json_body(VersionBody))
async def publish_version(workspace_id: str, services: ServicesDep, actor: CanUpdate,
                          body: Annotated[Any, Depends(JsonBody())]) -> dict[str, Any]:
    """The body is checked by ``core.workspaces.versions`` (its errors name the field)."""
    await services.workspaces.get_row(workspace_id)
    return await services.versions.publish(workspace_id, body, actor=actor.id)


@router.post("/{version}/pull", response_model=VersionPulled, response_model_exclude_unset=True)
async def pull_version(workspace_id: str, version: str, services: ServicesDep, actor: CanUpdate,
                       keepSecurity: bool = False) -> dict[str, Any]:  # noqa: N803
    """Roll back to a version; restoring its security.yml needs ``manage_security`` like any
    security change (``?keepSecurity=true`` keeps the current one)."""
    mode = await security_write(services, actor, workspace_id, keepSecurity)
    body = await services.versions.pull(workspace_id, version, actor=actor.id, security=mode)
    if keepSecurity:
        body["securityKept"] = True
    return body


async def _export(workspace_id: str, version: str, services: ServicesDep) -> Response:
    data, filename = await services.versions.export(workspace_id, version)
    return ZipResponse(data, headers={"content-disposition": f'attachment; filename="{filename}"'})


@router.get("/{version}/export", response_class=ZipResponse, responses=ZIP)
async def export_version(workspace_id: str, version: str, services: ServicesDep, _: CanRead) -> Response:
    """``version``: a version name, ``latest`` or ``current``."""
    return await _export(workspace_id, version, services)


@router.post("/{version}/export", response_class=ZipResponse, responses=ZIP)
async def export_version_post(workspace_id: str, version: str, services: ServicesDep, _: CanRead) -> Response:
    return await _export(workspace_id, version, services)


@router.delete("/{version}", response_model=Removed)
async def delete_version(workspace_id: str, version: str, services: ServicesDep, actor: CanUpdate) -> dict[str, Any]:
    return await services.versions.delete(workspace_id, version, actor=actor.id)
