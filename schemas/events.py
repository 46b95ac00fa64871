"""The event envelope (spec §6.1) and builders for the native runtime events."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EMIT_TOPIC = "topic:runtime:emit"
# A valid event type (an emit's `event`, a user-sent event's `type`).
EVENT_NAME = re.compile(r"^[a-zA-Z0-9 ._-]+$")
MAX_EVENT_TYPE = 300  # characters, an app instance's prefix included (the events.type column)



def event_type_problem(name: Any) -> str | None:
    """Why ``name`` cannot be an event's type, or None when it can."""
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        return f"{name!r} is not a valid event name (letters, digits, spaces, '.', '_' and '-')"
    if len(name) > MAX_EVENT_TYPE:
        return f"the event name is {len(name)} characters long: at most {MAX_EVENT_TYPE}"
    return None


NATIVE_PREFIXES = ("runtime.", "workspaces.", "apps.", "apikeys.", "events.", "gateway.")
NATIVE_EXACT = frozenset({"error"})

# Native events that may trigger automations (spec §6.3, and `error`, docs/events.md "Listening
# to native events"); custom (emit-topic) events always may.
TRIGGERING_NATIVES = frozenset({
    "workspaces.configured", "workspaces.apps.configured", "workspaces.apps.installed",
    "workspaces.apps.uninstalled", "workspaces.deleted", "apps.deleted", "apps.published", "runtime.fetch.failed",
    "runtime.interactions.triggered", "workspaces.pages.permissions.shared", "workspaces.pages.permissions.deleted",
    "workspaces.versions.published", "workspaces.versions.deleted", "workspaces.duplicated", "error",
})
# What `when.events` may name among native events: the triggering ones, and the two names a
# listener of runtime.interactions.triggered may use for its endpoint and schedule kinds.
LISTENABLE_NATIVES = TRIGGERING_NATIVES | {"runtime.webhooks.triggered", "runtime.schedules.triggered"}
# Native events an automation may wait for but never be started by (each would start itself).
WAIT_ONLY_NATIVES = frozenset({"runtime.automations.executed"})


def is_native(event_type: str) -> bool:
    """Platform event types (spec §6.2) that users may never forge."""
    return event_type in NATIVE_EXACT or event_type.startswith(NATIVE_PREFIXES)


def listen_problem(event_type: str) -> str | None:
    """Why ``when.events`` may not name ``event_type`` (None: it may)."""
    if not is_native(event_type) or event_type in LISTENABLE_NATIVES:
        return None
    allowed = ", ".join(sorted(LISTENABLE_NATIVES))
    if event_type in WAIT_ONLY_NATIVES:
        return (f"'{event_type}' cannot start automations (every run emits it, so a listener would start "
                f"itself): wait for it with `wait` instead. Native events automations may listen to: {allowed}")
    return f"'{event_type}' is a native event automations cannot listen to; those they may listen to: {allowed}"


class HttpSource(BaseModel):
    model_config = ConfigDict(extra="allow")

    method: str | None = None
    path: str | None = None
    originalUrl: str | None = None
    hostname: str | None = None
    ip: str | None = None


class EventSource(BaseModel):
    """Where an event comes from. Field names are the public (camelCase) ones."""

    model_config = ConfigDict(extra="allow")

    workspaceId: str
    correlationId: str
    userId: str | None = None
    sessionId: str | None = None
    automationSlug: str | None = None
    automationDepth: int | None = None
    appSlug: str | None = None
    appInstanceSlug: str | None = None
    appInstanceFullSlug: str | None = None
    appInstanceDepth: int | None = None
    parentAppSlug: str | None = None
    serviceTopic: str | None = None
    http: HttpSource | None = None
    ip: str | None = None
    workflowId: str | None = None
    runId: str | None = None
    rerunOf: str | None = None  # the run record a re-run's events come from (docs/runs.md)
    reemitOf: str | None = None  # the event a re-emitted event repeats


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    type: str
    source: EventSource
    payload: Any = Field(default_factory=dict)
    target: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    createdAt: datetime
    size: int = 0

    def to_public(self) -> dict[str, Any]:
        """The JSON shape users see: nulls dropped from ``source``, no empty extras."""
        data = self.model_dump(mode="json", exclude_none=True)
        data.setdefault("payload", {})
        return data

    @property
    def persist(self) -> bool:
        return not (self.options and self.options.get("persist") is False)


def json_size(value: Any) -> int:
    """Length of the compact JSON text, the unit of the event size limit."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))
