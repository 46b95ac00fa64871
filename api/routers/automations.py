"""Automations of a workspace (spec §10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.bodies import JsonBody
from api.deps import AdminDep, ServicesDep
from schemas.errors import ObjectNotFoundError
from schemas.validation import CheckReport

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/automations", tags=["automations"])
Body = Annotated[Any, Depends(JsonBody("max_import_bytes"))]


@router.post("")
async def create_automation(workspace_id: str, services: ServicesDep, actor: AdminDep, body: Body) -> dict[str, Any]:
    """The automation as stored, with ``warnings`` (calls that will not resolve, …) next to it."""
    report = CheckReport()
    automation = await services.automations.save(workspace_id, body, actor=actor, report=report)
    return {**automation, "warnings": [w.model_dump() for w in report.warnings]}


@router.get("")
async def list_automations(workspace_id: str, services: ServicesDep, _: AdminDep) -> dict[str, Any]:
    detail = await services.workspaces.detail(workspace_id)
    automations: dict[str, Any] = detail["automations"]
    return automations


@router.get("/{slug}")
async def get_automation(workspace_id: str, slug: str, services: ServicesDep, _: AdminDep) -> dict[str, Any]:
    compiled = await services.workspaces.compiled(workspace_id)
    automation = compiled.automations.get(slug)
    if automation is None:
        raise ObjectNotFoundError(f"Automation '{slug}' not found", {"slug": slug})
    return {**automation, "slug": slug}


@router.patch("/{slug}")
async def update_automation(workspace_id: str, slug: str, services: ServicesDep, actor: AdminDep,
                            body: Body) -> dict[str, Any]:
    report = CheckReport()
    automation = await services.automations.save(workspace_id, body, slug=slug, actor=actor,
                                                           report=report)
    return {**automation, "warnings": [w.model_dump() for w in report.warnings]}


@router.delete("/{slug}")
async def delete_automation(workspace_id: str, slug: str, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    await services.automations.delete(workspace_id, slug, actor=actor)
    return {"slug": slug}
