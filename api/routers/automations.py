"""Automations of a workspace (spec §10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.bodies import JsonBody
from api.deps import ServicesDep
from api.openapi import json_body
from api.permissions import CanRead, CanUpdate
from schemas.api.automations import (
    Automation,
    AutomationBody,
    AutomationSummary,
    RemovedAutomation,
    SavedAutomation,
)
from schemas.errors import ObjectNotFoundError
from schemas.validation import CheckReport

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/automations", tags=["automations"])
Body = Annotated[Any, Depends(JsonBody("max_import_bytes"))]


@router.post("", response_model=SavedAutomation, response_model_exclude_unset=True,
             openapi_extra=json_body(AutomationBody))
async def create_automation(workspace_id: str, services: ServicesDep, actor: CanUpdate, body: Body) -> dict[str, Any]:
    """The automation as stored, with ``warnings`` (calls that will not resolve, …) next to it."""
    report = CheckReport()
    saved = await services.automations.save(workspace_id, body, actor=actor.id, report=report)
    return {**saved, "warnings": [w.model_dump() for w in report.warnings]}


@router.get("", response_model=dict[str, AutomationSummary], response_model_exclude_unset=True)
async def list_automations(workspace_id: str, services: ServicesDep, _: CanRead) -> dict[str, Any]:
    detail = await services.workspaces.detail(workspace_id)
    automations: dict[str, Any] = detail["automations"]
    return automations


@router.get("/{slug}", response_model=Automation, response_model_exclude_unset=True)
async def get_automation(workspace_id: str, slug: str, services: ServicesDep, _: CanRead) -> dict[str, Any]:
    compiled = await services.workspaces.compiled(workspace_id)
    automation = compiled.automations.get(slug)
    if automation is None:
        raise ObjectNotFoundError(f"Automation '{slug}' not found", {"slug": slug})
    return {**automation, "slug": slug}


@router.patch("/{slug}", response_model=SavedAutomation, response_model_exclude_unset=True,
              openapi_extra=json_body(AutomationBody))
async def update_automation(workspace_id: str, slug: str, services: ServicesDep, actor: CanUpdate,
                            body: Body) -> dict[str, Any]:
    report = CheckReport()
    saved = await services.automations.save(workspace_id, body, slug=slug, actor=actor.id, report=report)
    return {**saved, "warnings": [w.model_dump() for w in report.warnings]}


@router.delete("/{slug}", response_model=RemovedAutomation)
async def delete_automation(workspace_id: str, slug: str, services: ServicesDep, actor: CanUpdate) -> dict[str, Any]:
    await services.automations.delete(workspace_id, slug, actor=actor.id)
    return {"slug": slug}
