"""Workspaces: CRUD, import and export (spec §10)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.authorization import make_owner, security_write
from api.bodies import content_type, parse_json, read_limited
from api.deps import ActorDep, AdminDep, ServicesDep
from core.errors import InvalidWorkspaceError
from core.members import MemberService
from core.services import Services
from schemas.archive import export_archive, parse_archive, parse_import
from schemas.dsul import WorkspaceSource

router = APIRouter(prefix="/v2/workspaces", tags=["workspaces"])


async def import_source(request: Request, services: Services) -> WorkspaceSource:
    """An import body: a zip (application/zip or multipart field ``archive``) or one JSON/YAML document."""
    limit = services.settings.max_import_bytes
    if content_type(request) == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        archive = form.get("archive")
        if archive is None or not hasattr(archive, "read"):
            raise InvalidWorkspaceError("Multipart import needs a file field named 'archive'",
                                        [{"path": "archive", "message": "missing file field"}])
        data = await archive.read()
        return parse_archive(data)
    raw = await read_limited(request, limit, "archive")
    if not raw:
        raise InvalidWorkspaceError("Empty import body", [{"path": "body", "message": "empty"}])
    return parse_import(raw, request.headers.get("content-type"))


@router.post("/import")
async def import_workspace(request: Request, services: ServicesDep, actor: AdminDep,
                           who: ActorDep) -> dict[str, Any]:
    source = await import_source(request, services)
    row = await services.workspaces.create(source, actor=actor)
    await make_owner(services, row.id, who)
    return {"workspace": await services.workspaces.detail(row.id)}


@router.post("/{workspace_id}/import")
async def reimport_workspace(workspace_id: str, request: Request, services: ServicesDep,
                             actor: AdminDep, who: ActorDep, keepSecurity: bool = False) -> dict[str, Any]:  # noqa: N803
    """A new revision from an archive. Changing security.yml needs ``manage_security`` (403 naming
    ``security.yml`` otherwise, nothing written); ``?keepSecurity=true`` imports everything else
    and keeps the current security."""
    await services.workspaces.get_row(workspace_id)
    mode = await security_write(services, who, workspace_id, keepSecurity)
    source = await import_source(request, services)
    row, changed = await services.workspaces.replace(workspace_id, source, actor=actor, security=mode)
    body: dict[str, Any] = {"workspace": await services.workspaces.detail(row.id), "changed": changed}
    if keepSecurity:
        body["securityKept"] = True
    return body


@router.api_route("/{workspace_id}/export", methods=["GET", "POST"])
async def export_workspace(workspace_id: str, services: ServicesDep, _: AdminDep) -> Response:
    source = await services.workspaces.source(workspace_id)
    data = export_archive(source)
    slug = source.index.get("slug") or workspace_id
    return Response(data, media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="{slug}.zip"'})


@router.post("")
async def create_workspace(request: Request, services: ServicesDep, actor: AdminDep, who: ActorDep) -> JSONResponse:
    raw = await read_limited(request, services.settings.max_import_bytes)
    body = parse_json(raw) if raw else {}
    if not isinstance(body, dict):
        raise InvalidWorkspaceError("The body must be a workspace object",
                                    [{"path": "body", "message": "must be an object"}])
    source = WorkspaceSource.from_document(body)
    row = await services.workspaces.create(source, actor=actor)
    await make_owner(services, row.id, who)
    return JSONResponse(await services.workspaces.detail(row.id), status_code=200)


@router.get("")
async def list_workspaces(services: ServicesDep, _: AdminDep, who: ActorDep, slug: str | None = None,
                          name: str | None = None) -> list[dict[str, Any]]:
    """Superadmins see every workspace; users the ones they hold a role on."""
    listed = await services.workspaces.list(slug=slug, name=name)
    if who.superadmin:
        return listed
    mine = await MemberService(services.db).workspaces_of(who.id)
    return [w for w in listed if w["id"] in mine]


@router.get("/{workspace_id}")
async def get_workspace(workspace_id: str, services: ServicesDep, _: AdminDep) -> dict[str, Any]:
    return await services.workspaces.detail(workspace_id)


@router.patch("/{workspace_id}")
async def patch_workspace(workspace_id: str, request: Request, services: ServicesDep,
                          actor: AdminDep) -> dict[str, Any]:
    raw = await read_limited(request, services.settings.max_import_bytes)
    return await services.workspaces.patch(workspace_id, parse_json(raw) if raw else {}, actor=actor)


@router.post("/{workspace_id}/duplicate")
async def duplicate_workspace(workspace_id: str, services: ServicesDep, actor: AdminDep,
                              who: ActorDep) -> dict[str, Any]:
    """A new workspace owned by the caller, like any creation: its security.yml is a copy that only
    its owner may change, and nobody's role on the original is copied."""
    row = await services.workspaces.duplicate(workspace_id, actor=actor)
    await make_owner(services, row.id, who)
    return await services.workspaces.detail(row.id)


@router.post("/{workspace_id}/versions/{version}/duplicate")
async def duplicate_workspace_version(workspace_id: str, version: str, services: ServicesDep,
                                      actor: AdminDep, who: ActorDep) -> dict[str, Any]:
    """``version``: ``current``, a version name (``latest`` = the newest version) or a revision number."""
    revision: int | None = None
    if version.isdigit():
        revision = int(version)
    elif version != "current":
        revision = (await services.versions.get(workspace_id, version)).revision
    row = await services.workspaces.duplicate(workspace_id, revision=revision, actor=actor)
    await make_owner(services, row.id, who)
    return await services.workspaces.detail(row.id)


@router.delete("/{workspace_id}")
async def delete_workspace(workspace_id: str, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    await services.workspaces.delete(workspace_id, actor=actor)
    return {"id": workspace_id}
