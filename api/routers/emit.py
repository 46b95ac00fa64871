"""``POST /v2/workspaces/{id}/events``: user-sent events, accepted once durably handed off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.bodies import parse_json, read_limited
from api.client import request_client_address
from api.deps import CallerDep, ServicesDep
from core.triggers import send_events

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/events", tags=["events"])


@router.post("")
async def post_events(workspace_id: str, request: Request, services: ServicesDep, actor: CallerDep) -> dict[str, Any]:
    raw = await read_limited(request, services.settings.max_import_bytes)
    body = parse_json(raw) if raw else {}
    events = body.get("events") if isinstance(body, dict) else None
    # The caller's user and session become the events' source (spec §6.1); native event types
    # are refused to all but superadmins (they can never be forged).
    sent = await send_events(services, workspace_id, events or [], user_id=actor.user_id,
                             session_id=actor.session_id,
                             correlation_id=request.headers.get("x-correlation-id") or None,
                             ip=request_client_address(request),
                             allow_native=actor.superadmin)
    return {"events": sent}
