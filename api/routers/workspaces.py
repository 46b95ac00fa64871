"""Workspaces: CRUD, import and export (spec §10)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.authorization import Actor, owner_of_new_workspace, security_write
from api.bodies import ImportBody, JsonBody
from api.deps import ServicesDep
from api.openapi import ZIP, ZipResponse, import_body, json_body, query_parameters
from api.permissions import AnyUser, CanDelete, CanRead, CanUpdate, SignedIn
from core.workspaces import duplicates
from core.workspaces.root_fields import patch_root_fields
from schemas.api.common import Removed
from schemas.api.listing import WorkspaceQuery
from schemas.api.workspaces import (
    ImportResult,
    WorkspaceDetail,
    WorkspaceDocument,
    WorkspacePatch,
    WorkspaceSummary,
    WriteLockReleased,
)
from schemas.archive import export_archive
from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidArgumentsError, InvalidWorkspaceError
from schemas.validation import CheckReport

router = APIRouter(prefix="/v2/workspaces", tags=["workspaces"])
# A zip (application/zip or multipart field ``archive``) or one JSON/YAML document.
ImportDep = Annotated[WorkspaceSource, Depends(ImportBody())]
MissingApps = Annotated[Literal["allow", "refuse"] | None, Query(
    description="`allow`: keep app instances whose app this Tideway does not have (listed in `warnings`)")]


def missing_apps_allowed(source: WorkspaceSource, query: str | None) -> bool:
    """The query parameter, or ``missingApps`` in a single-document body (taken out of the index)."""
    in_body = source.index.pop("missingApps", None)
    return (query or in_body) == "allow"
Body = Annotated[Any, Depends(JsonBody("max_import_bytes"))]
Prune = Annotated[str | None, Query(description="`true` (default): delete what the archive leaves out; `false`: keep it")]


def parse_prune(value: str | None) -> bool:
    if value is None or value.lower() in ("", "true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidArgumentsError(f"prune must be true or false, got {value!r}", {"parameter": "prune"})
# Every registered user may create workspaces (and owns them): `create` on workspaces.
Creator = Annotated[Actor, Depends(SignedIn("create"))]


@router.post("/import", response_model=ImportResult, response_model_exclude_unset=True,
             openapi_extra=import_body(WorkspaceDocument))
async def import_workspace(services: ServicesDep, actor: Creator, source: ImportDep,
                           missingApps: MissingApps = None) -> dict[str, Any]:  # noqa: N803
    """``?missingApps=allow`` (or ``missingApps: allow`` in a document body) keeps app instances
    whose app this Tideway does not have, each listed in ``warnings``."""
    report = CheckReport(missing_apps_allowed=missing_apps_allowed(source, missingApps))
    row = await services.workspaces.create(source, actor=actor.id, owner=owner_of_new_workspace(actor), report=report)
    return {"workspace": await services.workspaces.detail(row.id), "warnings": [w.model_dump() for w in report.warnings]}


@router.post("/{workspace_id}/import", response_model=ImportResult, response_model_exclude_unset=True,
             openapi_extra=import_body(WorkspaceDocument))
async def reimport_workspace(workspace_id: str, services: ServicesDep, actor: CanUpdate, source: ImportDep,
                             keepSecurity: bool = False, missingApps: MissingApps = None,  # noqa: N803
                             prune: Prune = None) -> dict[str, Any]:
    """A new revision from an archive. ``prune`` (default ``true``): automations, app instances and
    pages the archive leaves out are deleted; ``prune=false`` keeps them, and the root fields and
    security it does not carry. Changing security.yml needs ``manage_security`` (403 naming
    ``security.yml`` otherwise, nothing written); ``?keepSecurity=true`` imports everything else
    and keeps the current security. One import at a time per workspace: another one running is a
    409 ``WorkspaceLockedError``."""
    await services.workspaces.get_row(workspace_id)
    pruning = parse_prune(prune)
    mode = await security_write(services, actor, workspace_id, keepSecurity)
    report = CheckReport(missing_apps_allowed=missing_apps_allowed(source, missingApps))
    async with services.workspaces.write_locks.held(workspace_id):
        if not pruning:
            source = source.kept_over(await services.workspaces.source(workspace_id))
        row, changed = await services.workspaces.replace(workspace_id, source, actor=actor.id, security=mode,
                                                         report=report)
    body: dict[str, Any] = {"workspace": await services.workspaces.detail(row.id), "changed": changed}
    if keepSecurity:
        body["securityKept"] = True
    body["warnings"] = [w.model_dump() for w in report.warnings]
    return body


async def _export(workspace_id: str, services: ServicesDep) -> Response:
    source = await services.workspaces.source(workspace_id)
    data = export_archive(source)
    slug = source.index.get("slug") or workspace_id
    return ZipResponse(data, headers={"content-disposition": f'attachment; filename="{slug}.zip"'})


@router.get("/{workspace_id}/export", response_class=ZipResponse, responses=ZIP)
async def export_workspace(workspace_id: str, services: ServicesDep, _: CanRead) -> Response:
    return await _export(workspace_id, services)


@router.post("/{workspace_id}/export", response_class=ZipResponse, responses=ZIP)
async def export_workspace_post(workspace_id: str, services: ServicesDep, _: CanRead) -> Response:
    """The same as ``GET`` (the reference exports with ``POST``)."""
    return await _export(workspace_id, services)


@router.post("", response_model=WorkspaceDetail, response_model_exclude_unset=True,
             openapi_extra=json_body(WorkspaceDocument))
async def create_workspace(services: ServicesDep, actor: Creator, body: Body) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidWorkspaceError("The body must be a workspace object",
                                    [{"path": "body", "message": "must be an object"}])
    source = WorkspaceSource.from_document(body)
    row = await services.workspaces.create(source, actor=actor.id, owner=owner_of_new_workspace(actor))
    return await services.workspaces.detail(row.id)


@router.delete("/{workspace_id}/writeLock", response_model=WriteLockReleased)
async def release_write_lock(workspace_id: str, services: ServicesDep, _: CanUpdate) -> dict[str, Any]:
    """Release the workspace's import lock (a stale one, after an importer crashed)."""
    await services.workspaces.get_row(workspace_id)
    return {"id": workspace_id, "released": await services.workspaces.write_locks.release(workspace_id)}


@router.get("", response_model=list[WorkspaceSummary], response_model_exclude_unset=True,
            openapi_extra=query_parameters(WorkspaceQuery))
async def list_workspaces(request: Request, services: ServicesDep, who: AnyUser) -> list[dict[str, Any]]:
    """Superadmins see every workspace; users the ones they hold a role on. Filters (all apply):
    ``search`` (words in the name, slug or description), ``name`` (part of it), ``slug``,
    ``labels`` and ``ids`` (comma-separated); ``sort`` (``name``, ``slug``, ``createdAt``,
    ``updatedAt``, ``-`` for descending); ``page`` (from 0) and ``limit``."""
    query = WorkspaceQuery.parse(request.query_params)
    among = None if who.superadmin else set(await services.members.workspaces_of(who.id))
    return await services.workspaces.list(query, among=among)


@router.get("/{workspace_id}", response_model=WorkspaceDetail, response_model_exclude_unset=True)
async def get_workspace(workspace_id: str, services: ServicesDep, _: CanRead) -> dict[str, Any]:
    return await services.workspaces.detail(workspace_id)


@router.patch("/{workspace_id}", response_model=WorkspaceDetail, response_model_exclude_unset=True,
              openapi_extra=json_body(WorkspacePatch))
async def patch_workspace(workspace_id: str, services: ServicesDep, actor: CanUpdate, body: Body) -> dict[str, Any]:
    return await patch_root_fields(services.workspaces, workspace_id, body, actor=actor.id)


@router.post("/{workspace_id}/duplicate", response_model=WorkspaceDetail, response_model_exclude_unset=True)
async def duplicate_workspace(workspace_id: str, services: ServicesDep, actor: CanRead) -> dict[str, Any]:
    """A new workspace owned by the caller, like any creation: its security.yml is a copy that only
    its owner may change, and nobody's role on the original is copied."""
    row = await duplicates.duplicate_workspace(services.workspaces, workspace_id, actor=actor.id,
                                               owner=owner_of_new_workspace(actor))
    return await services.workspaces.detail(row.id)


@router.post("/{workspace_id}/versions/{version}/duplicate", response_model=WorkspaceDetail,
             response_model_exclude_unset=True)
async def duplicate_workspace_version(workspace_id: str, version: str, services: ServicesDep,
                                      actor: CanRead) -> dict[str, Any]:
    """``version``: ``current``, a version name (``latest`` = the newest version) or a revision number."""
    revision: int | None = None
    if version.isdigit():
        revision = int(version)
    elif version != "current":
        revision = (await services.versions.get(workspace_id, version)).revision
    row = await duplicates.duplicate_workspace(services.workspaces, workspace_id, revision=revision,
                                               actor=actor.id, owner=owner_of_new_workspace(actor))
    return await services.workspaces.detail(row.id)


@router.delete("/{workspace_id}", response_model=Removed)
async def delete_workspace(workspace_id: str, services: ServicesDep, actor: CanDelete) -> dict[str, Any]:
    await services.workspaces.delete(workspace_id, actor=actor.id)
    return {"id": workspace_id}
