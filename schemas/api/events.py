"""Events (spec §6): as read back, as sent, and the pages of a search."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed, Open


class EventSourceOut(Open):
    """Where an event comes from: workspace, correlation id, user, session, automation, app
    instance, HTTP request… (absent fields are not sent)."""

    workspaceId: str | None = None
    correlationId: str | None = None


class PublicEvent(Closed):
    id: str
    type: str
    source: EventSourceOut
    payload: Any
    target: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    createdAt: str
    size: int

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "0b7…", "type": "order.created", "source": {"workspaceId": "5f0c…", "correlationId": "c1"},
         "payload": {"orderId": 1}, "createdAt": "2026-01-01T00:00:00Z", "size": 12}]})


class EventList(Closed):
    events: list[PublicEvent]


class EventsPage(Closed):
    """``GET …/events``: newest first unless ``sort=asc``; only what the caller may read."""

    result: EventList


class PlatformEventList(EventList):
    workspaceId: str = Field(description="the workspace read, or the platform feed's id")


class PlatformEventsPage(Closed):
    result: PlatformEventList


class SentEvents(Closed):
    """The accepted events, with their ids (listeners start as child workflows)."""

    events: list[PublicEvent]
