"""Apps: publish a workspace, browse the catalogue, delete (spec §7.1, §10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.authorization import Actor
from api.bodies import JsonBody
from api.deps import ServicesDep
from api.openapi import json_body
from api.permissions import AnyUser, OnNamedWorkspace
from core.apps.catalog import is_internal
from schemas.api.apps import AppDetail, AppListItem, AppVersionItem, PublishedApp
from schemas.api.common import Removed
from schemas.errors import ForbiddenError, InvalidWorkspaceError, MissingFieldError
from schemas.requests import PublishBody, parse_body

router = APIRouter(prefix="/v2/apps", tags=["apps"])
PUBLISHER = OnNamedWorkspace("update", where="named by the body's workspaceId")
# Deleting: `update` on the app's workspace; apps without one (platform apps) are superadmin-only.
REMOVER = OnNamedWorkspace("update", where="the app was published from")


@router.post("", response_model=PublishedApp, response_model_exclude_unset=True,
             openapi_extra=json_body(PublishBody))
async def publish_app(services: ServicesDep, actor: Annotated[Actor, Depends(PUBLISHER)],
                      body: Annotated[Any, Depends(JsonBody("max_import_bytes"))]) -> dict[str, Any]:
    """Publish a workspace as an app: ``update`` on that workspace (its owner or an editor)."""
    published = parse_body(PublishBody, body, what="app publication", error=InvalidWorkspaceError)
    workspace_id = published.workspaceId
    if not workspace_id:
        raise MissingFieldError("'workspaceId' is required", {"fields": ["workspaceId"]})
    await PUBLISHER.check(services, actor, workspace_id)
    return await services.apps.publish(workspace_id, slug=published.slug, name=published.name,
                                       description=published.description,
                                       workspace_version=published.workspaceVersion, actor=actor.user_id)


@router.get("", response_model=list[AppListItem], response_model_exclude_unset=True)
async def list_apps(services: ServicesDep, _: AnyUser, text: str | None = None, labels: str | None = None,
                    workspaceId: str | None = None, page: int = 0, limit: int = 50) -> list[dict[str, Any]]:  # noqa: N803
    wanted = [label.strip() for label in labels.split(",")] if labels else None
    return await services.apps.search(text=text, labels=wanted, workspace_id=workspaceId, page=page, limit=limit)


@router.get("/{slug:path}/versions", response_model=list[AppVersionItem], response_model_exclude_unset=True)
async def list_app_versions(slug: str, services: ServicesDep, _: AnyUser) -> list[dict[str, Any]]:
    return await services.apps.versions(slug)


@router.get("/{slug:path}", response_model=AppDetail, response_model_exclude_unset=True)
async def get_app(slug: str, services: ServicesDep, _: AnyUser, version: str | None = None) -> dict[str, Any]:
    return await services.apps.get(slug, version)


@router.delete("/{slug:path}", response_model=Removed)
async def delete_app(slug: str, services: ServicesDep, actor: Annotated[Actor, Depends(REMOVER)]) -> dict[str, Any]:
    workspace_id = (await services.apps.row(slug)).workspace_id
    if not actor.superadmin:
        if is_internal(workspace_id):
            raise ForbiddenError(f"App '{slug}' is a platform app: only superadmins delete it", {"slug": slug})
        await REMOVER.check(services, actor, workspace_id)
    return await services.apps.delete(slug, actor=actor.user_id)
