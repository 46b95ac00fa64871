"""``POST /v2/workspaces/{id}/search``: Elasticsearch-style search of the workspace's events
(docs/search.md; the work is ``core.events.es_search``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.authorization import Actor, actor_permissions
from api.bodies import JsonBody
from api.deps import ServicesDep
from api.openapi import errors, json_body
from api.permissions import EventReader
from api.routers.events import VISIBLE_APP_DEPTH, audience_of, readable_by
from core.events.es_search import Reader, search_events
from core.services import Services
from schemas.api.search import SearchAnswer, SearchBody, parse_search_body

router = APIRouter(prefix="/v2/workspaces/{workspace_id}", tags=["events"])


async def reader_of(services: Services, actor: Actor, workspace_id: str) -> Reader:
    """The caller's read rules on events, as GET …/events applies them (``readable_by``)."""
    if actor.superadmin:
        return Reader()
    audience = await audience_of(services, actor, workspace_id)
    return Reader(perms=await actor_permissions(services, actor, workspace_id), topics=frozenset(audience.topics),
                  max_depth=VISIBLE_APP_DEPTH,
                  readable=await readable_by(services, actor, workspace_id, audience))


@router.post("/search", response_model=SearchAnswer, response_model_exclude_unset=True,
             openapi_extra=json_body(SearchBody), responses=errors(403))
async def search_workspace_events(workspace_id: str, services: ServicesDep, actor: EventReader,
                                  body: Annotated[Any, Depends(JsonBody())]) -> dict[str, Any]:
    """Search the events the caller may read with the Elasticsearch query language (a documented
    subset): ``size`` is how many match, ``documents`` the page, ``aggs`` the aggregations (403
    for a caller who may not read every event of the workspace). An unsupported clause is a 400
    naming it."""
    parsed, problems = parse_search_body(body)
    await services.workspaces.get_row(workspace_id)
    reader = await reader_of(services, actor, workspace_id)
    async with services.db.session() as session:
        return await search_events(session, workspace_id, parsed, reader, problems=problems)
