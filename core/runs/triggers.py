"""Turning an outside trigger into a run: shared by the HTTP routes and the conformance runner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from core.runs.launcher import RunOutcome, StreamedRun, idempotent_workflow_id
from core.services import Services
from schemas.errors import (
    ForbiddenError,
    InvalidEventError,
    ObjectNotFoundError,
    PayloadTooLargeError,
)
from schemas.events import EMIT_TOPIC, Event, EventSource, event_type_problem, is_native, json_size
from schemas.requests import EventsBody, parse_body, summary
from schemas.runs import Trigger


async def trigger_webhook(services: Services, workspace_id: str, endpoint: str, *, method: str,
                          headers: dict[str, str], query: dict[str, Any], body: Any,
                          user_id: str | None = None, session_id: str | None = None,
                          http: dict[str, Any] | None = None, correlation_id: str | None = None,
                          idempotency_key: str | None = None,
                          api_key_id: str | None = None) -> RunOutcome | StreamedRun:
    """Run the automation behind ``endpoint`` (spec §2.3; ``instance.name`` for app endpoints).
    With ``idempotency_key`` the run's workflow id is derived from (workspace, endpoint, key), so a
    retried call returns the first run's result instead of running again."""
    compiled, tree = await services.trees.current(workspace_id)
    found = tree.resolve_endpoint(endpoint)
    if found is None:
        raise ObjectNotFoundError(f"No endpoint '{endpoint}' in workspace '{workspace_id}'", {"endpoint": endpoint})
    instance, slug = found
    payload: dict[str, Any] = {"workspaceId": compiled.id, "automationSlug": slug, "method": method,
                               "headers": headers, "query": query, "body": body}
    return await services.launcher.launch(
        compiled, slug, payload, Trigger(type="endpoint", value=endpoint), user_id=user_id,
        session_id=session_id, http=http, http_response=True, correlation_id=correlation_id, tree=tree,
        instance=instance, api_key_id=api_key_id, stream=True, timeout=services.settings.webhook_timeout_seconds,
        workflow_id=idempotent_workflow_id(compiled.id, endpoint, idempotency_key) if idempotency_key else None)


async def trigger_test(services: Services, workspace_id: str, slug: str, payload: dict[str, Any], *,
                       user_id: str | None = None, session_id: str | None = None,
                       api_key_id: str | None = None) -> RunOutcome:
    compiled, tree = await services.trees.current(workspace_id)
    instance, _, automation = slug.rpartition(".")
    if instance and instance not in tree.nodes:
        raise ObjectNotFoundError(f"No app instance '{instance}' in workspace '{workspace_id}'", {"slug": slug})
    return await services.launcher.run(compiled, automation, payload, Trigger(type="test", value=slug),
                                       user_id=user_id, session_id=session_id, tree=tree, instance=instance,
                                       api_key_id=api_key_id)


async def send_events(services: Services, workspace_id: str, events: Any, *,
                      user_id: str | None = None, session_id: str | None = None,
                      correlation_id: str | None = None, ip: str | None = None,
                      allow_native: bool = False, reemit_of: str | None = None) -> list[dict[str, Any]]:
    """Accept user-sent events: all validated first (every problem listed), then handed to one
    DispatchWorkflow (the durable hand-off: nothing is written unless that start succeeds).
    Returns the events with ids."""
    await services.workspaces.get_row(workspace_id)
    items = parse_body(EventsBody, {"events": events}, error=InvalidEventError,
                       what="events (expected {\"events\": [{type, payload?, target?, options?}, ...]})").events
    problems = [{"path": f"body.events[{index}].type", "message": problem}
                for index, item in enumerate(items) if (problem := event_type_problem(item.type)) is not None]
    if problems:
        raise InvalidEventError(summary("events", problems), problems)
    for index, item in enumerate(items):
        if is_native(item.type) and not allow_native:
            raise ForbiddenError(f"events[{index}]: native event '{item.type}' cannot be sent", {"type": item.type})
    # Types are case-sensitive, so these are not native events; but listeners and readers comparing
    # loosely would take them for one (issue 14): refused, each named.
    lookalikes = [{"path": f"body.events[{index}].type",
                   "message": f"'{item.type}' differs from the native event type '{item.type.lower()}' only by case: "
                              "event types are case-sensitive and native ones cannot be sent"}
                  for index, item in enumerate(items) if not allow_native and is_native(item.type.lower())]
    if lookalikes:
        raise InvalidEventError(summary("events", lookalikes), lookalikes)
    correlation_id = correlation_id or uuid.uuid4().hex
    built: list[Event] = []
    for index, item in enumerate(items):
        payload = item.payload if item.payload is not None else {}
        size = json_size(payload)
        if size > services.settings.run.max_event_size:
            raise PayloadTooLargeError(f"events[{index}] is too large ({size} > {services.settings.run.max_event_size})",
                                       {"index": index, "size": size, "limit": services.settings.run.max_event_size})
        built.append(Event(
            id=str(uuid.uuid4()), type=item.type, payload=payload, target=item.target, options=item.options,
            createdAt=datetime.now(UTC), size=size,
            source=EventSource(workspaceId=workspace_id, correlationId=correlation_id, userId=user_id,
                               sessionId=session_id or user_id or correlation_id, serviceTopic=EMIT_TOPIC, ip=ip,
                               reemitOf=reemit_of)))
    await services.launcher.dispatch(workspace_id, built)
    return [e.to_public() for e in built]
