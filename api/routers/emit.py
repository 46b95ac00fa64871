"""``POST /v2/workspaces/{id}/events``: user-sent events, accepted once durably handed off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.bodies import JsonBody
from api.client import request_client_address
from api.deps import ServicesDep
from api.openapi import json_body
from api.permissions import CanSendEvents
from core.runs.triggers import send_events
from schemas.api.events import SentEvents
from schemas.errors import InvalidEventError
from schemas.requests import EventsBody

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/events", tags=["events"])


@router.post("", response_model=SentEvents, response_model_exclude_unset=True, openapi_extra=json_body(EventsBody))
async def post_events(workspace_id: str, request: Request, services: ServicesDep, actor: CanSendEvents,
                      body: Annotated[Any, Depends(JsonBody("max_import_bytes"))]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidEventError("Invalid events: body: must be an object {\"events\": [...]}",
                                [{"path": "body", "message": "must be an object"}])
    events = body.get("events")
    # The caller's user and session become the events' source (spec §6.1); native event types
    # are refused to all but superadmins (they can never be forged).
    sent = await send_events(services, workspace_id, events, user_id=actor.user_id,
                             session_id=actor.session_id,
                             correlation_id=request.headers.get("x-correlation-id") or None,
                             ip=request_client_address(request),
                             allow_native=actor.superadmin)
    return {"events": sent}
