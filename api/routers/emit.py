"""``POST /v2/workspaces/{id}/events``: user-sent events, accepted once durably handed off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.bodies import parse_json, read_limited
from api.deps import AdminDep, ServicesDep
from core.triggers import send_events

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/events", tags=["events"])


@router.post("")
async def post_events(workspace_id: str, request: Request, services: ServicesDep, actor: AdminDep) -> dict[str, Any]:
    raw = await read_limited(request, services.settings.max_import_bytes)
    body = parse_json(raw) if raw else {}
    events = body.get("events") if isinstance(body, dict) else None
    sent = await send_events(services, workspace_id, events or [], user_id=actor,
                             correlation_id=request.headers.get("x-correlation-id") or None,
                             ip=request.client.host if request.client else None,
                             allow_native=actor == "admin")  # the admin token is a superadmin
    return {"events": sent}
