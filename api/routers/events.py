"""Reading a workspace's event log (full search comes with the events capability)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import AdminDep, ServicesDep
from core.eventstore import query_events

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/events", tags=["events"])


@router.get("")
async def list_events(workspace_id: str, services: ServicesDep, _: AdminDep,
                      types: str | None = None,
                      correlation_id: Annotated[str | None, Query(alias="source.correlationId")] = None,
                      page: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    await services.workspaces.get_row(workspace_id)
    type_list = [t.strip() for t in types.split(",") if t.strip()] if types else None
    async with services.db.session() as session:
        events = await query_events(session, workspace_id, types=type_list, correlation_id=correlation_id,
                                    page=page, limit=limit)
    return {"result": {"events": events}}
