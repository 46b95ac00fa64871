"""The platform-level event feed (superadmin): ``GET /v2/events``.

Without ``workspaceId`` it reads the platform feed (``events.cleaned`` of the retention runs,
recorded there rather than in a cleaned workspace where they would count as activity); with
``workspaceId=<id>`` it reads that workspace's events, deleted workspaces included (their
events stay readable until retention removes them). Other parameters are those of
``GET /v2/workspaces/{id}/events``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import ServicesDep
from api.permissions import SuperadminOnly
from core.events.retention import PLATFORM_FEED
from core.events.search import InvalidQueryError, parse_search_params, query_params, run_search
from schemas.api.events import PlatformEventsPage

router = APIRouter(prefix="/v2/events", tags=["events"])


@router.get("", response_model=PlatformEventsPage, response_model_exclude_unset=True)
async def platform_events(request: Request, services: ServicesDep, _: SuperadminOnly) -> dict[str, Any]:
    params = query_params(request.query_params.multi_items())
    raw = params.get("workspaceId")
    workspace_id = (raw[-1] if isinstance(raw, list) else raw) if raw is not None else PLATFORM_FEED
    if not workspace_id:
        raise InvalidQueryError("workspaceId must not be empty", {"parameter": "workspaceId"})
    parsed = parse_search_params(params, ignore={"workspaceId"})
    async with services.db.session() as session:
        events = await run_search(session, workspace_id, parsed)
    return {"result": {"events": events, "workspaceId": workspace_id}}
