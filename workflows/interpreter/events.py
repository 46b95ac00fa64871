"""Building the events a run records (emit, native runtime events, errors)."""

from __future__ import annotations

from typing import Any

from language.values import strip_undefined
from schemas.errors import InvalidEventError, TidewayError
from schemas.events import EMIT_TOPIC, EVENT_NAME, Event, EventSource, event_type_problem, json_size
from schemas.runs import InstanceInfo, RunInput
from workflows.interpreter.effects import Effects


class EventTooLargeError(TidewayError):
    """Name kept from the reference (EventValidationError, reason EventTooLarge)."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message, details, name="EventValidationError")


class EventRecorder:
    """Creates events with run-wide source fields and buffers them until the next flush."""

    def __init__(self, run: RunInput, effects: Effects, max_size: int, workflow_id: str | None, run_id: str | None):
        self.run = run
        self.effects = effects
        self.max_size = max_size
        self.buffer: list[Event] = []
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.session_id = run.session_id
        self.user_id = run.user_id

    def source(self, automation_slug: str | None, depth: int | None, *, user: bool = False,
               topic: str | None = None, workflow: bool = False, instance: InstanceInfo | None = None) -> EventSource:
        run = self.run
        app: dict[str, Any] = {}
        if instance is not None and instance.full_slug:
            app = {"appSlug": instance.app_slug, "appInstanceSlug": instance.slug,
                   "appInstanceFullSlug": instance.full_slug, "appInstanceDepth": instance.depth}
            if instance.parent_app_slug:
                app["parentAppSlug"] = instance.parent_app_slug
        return EventSource(**app,
            workspaceId=run.workspace.id,
            correlationId=run.correlation_id,
            userId=self.user_id if user else None,
            sessionId=self.session_id,
            automationSlug=automation_slug,
            automationDepth=depth,
            serviceTopic=topic,
            http=run.http,  # type: ignore[arg-type]
            workflowId=self.workflow_id if workflow else None,
            runId=self.run_id if workflow else None,
            rerunOf=run.rerun_of if workflow else None,
        )

    def make(self, type_: str, payload: Any, source: EventSource, *, target: Any = None, options: Any = None) -> Event:
        payload = strip_undefined(payload)
        size = json_size(payload)
        return Event(
            id=self.effects.new_id(),
            type=type_,
            source=source,
            payload=payload,
            target=strip_undefined(target) if isinstance(target, dict) else None,
            options=strip_undefined(options) if isinstance(options, dict) else None,
            createdAt=self.effects.now(),
            size=size,
        )

    def record(self, event: Event) -> Event:
        self.buffer.append(event)
        return event

    def native(self, type_: str, payload: Any, automation_slug: str | None, depth: int | None, *,
               user: bool = False, workflow: bool = False, instance: InstanceInfo | None = None) -> Event:
        source = self.source(automation_slug, depth, user=user, topic=type_, workflow=workflow, instance=instance)
        event = self.make(type_, payload, source)
        if event.size > self.max_size:
            # A native event is never dropped: its payload is replaced by a marker.
            event.payload = {"truncated": True, "size": event.size}
            event.size = json_size(event.payload)
        return self.record(event)

    def custom(self, name: Any, payload: Any, automation_slug: str, depth: int, target: Any, options: Any,
               instance: InstanceInfo | None = None) -> Event:
        if not isinstance(name, str) or not EVENT_NAME.match(name):
            raise InvalidEventError(f"Invalid event name {name!r}", {"event": name})
        if instance is not None and instance.full_slug:
            name = f"{instance.full_slug}.{name}"  # emits inside an app are prefixed (spec §7.4)
        problem = event_type_problem(name)
        if problem is not None:  # too long: on PostgreSQL the log's type column would refuse the flush
            raise InvalidEventError(f"Invalid event name: {problem}", {"event": name[:100] + "…"})
        event = self.make(name, payload, self.source(automation_slug, depth, topic=EMIT_TOPIC, instance=instance),
                          target=target, options=options)
        if event.size > self.max_size:
            raise EventTooLargeError(
                f"Event {name!r} is too large ({event.size} > {self.max_size} characters)",
                {"event": name, "size": event.size, "limit": self.max_size, "reason": "EventTooLarge"},
            )
        return self.record(event)

    def take(self) -> list[Event]:
        events, self.buffer = self.buffer, []
        return events
