"""Running one case offline: the real ``Interpreter`` over :class:`InMemoryEffects`.

A run goes as ``AutomationWorkflow._run`` takes it (workflows/automation.py): the interaction
event, the automation resolved in the pinned tree, ``execute``, a failure turned into the run's
``error`` event and its error body. The trigger is built as the API builds it: ``/test`` for an
automation case (core/runs/triggers.py ``trigger_test``), the webhook payload for a webhook case,
a user-sent event whose listeners start for an event case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from activities.custom_code import CustomCodeActivities
from cli.workspace_tests.effects import CaseWorld, InMemoryEffects
from cli.workspace_tests.format import Case, Mocks
from cli.workspace_tests.mocks import RunnerProblem
from cli.workspace_tests.outcome import MISSING, CaseOutcome, RunTrace
from cli.workspace_tests.workspace import OfflineWorkspace
from language.values import deep_copy, strip_undefined
from schemas.errors import (
    ForbiddenError,
    InvalidEventError,
    ObjectNotFoundError,
    TidewayError,
    status_for,
)
from schemas.events import EMIT_TOPIC, EVENT_NAME, Event, EventSource, is_native, json_size
from schemas.run_settings import RunSettings
from schemas.runs import CallTarget, RunInput, Trigger
from workflows.automation import record_error
from workflows.interpreter.engine import Interpreter
from workflows.interpreter.events import EventRecorder
from workflows.interpreter.frames import BreakSignal

# Every step of every run is kept, so `reached` can look at all of them.
OFFLINE_SETTINGS = RunSettings.model_validate({"api_url": "http://localhost:3000", "trace_max_steps": 100_000})


class OfflineInterpreter(Interpreter):
    """The interpreter with the case's automation mocks: a call the case mocks answers the mock's
    output (or raises its error) instead of running, and still records its ``executed`` event."""

    def __init__(self, run: RunInput, effects: InMemoryEffects, limits: RunSettings, recorder: EventRecorder,
                 world: CaseWorld):
        super().__init__(run, effects, limits, recorder)
        self.world = world
        self.mocked: dict[int, str] = {}  # id(CallTarget) -> the mock's key

    async def resolve(self, caller: str, name: str) -> CallTarget | None:
        key = self.world.mock_for(caller, name) if self.frames else None  # the run's own automation runs
        if key is None:
            return await super().resolve(caller, name)
        target = self._calls.get((caller, name))
        if target is None:
            target = self._calls[(caller, name)] = self.world.mocked_target(caller, name)
            self.mocked[id(target)] = key
        return target

    async def execute(self, target: CallTarget, payload: dict[str, Any], parent_depth: int,
                      trigger: dict[str, Any], *, root: bool = False,
                      seen_trigger: dict[str, Any] | None = None) -> Any:
        key = self.mocked.get(id(target))
        if key is None or root:
            return await super().execute(target, payload, parent_depth, trigger, root=root, seen_trigger=seen_trigger)
        mock = self.world.automation_mocks[key]
        started = self.effects.now()
        self.world.calls.append({"automation": key, "arguments": deep_copy(payload)})
        depth = parent_depth + 1
        if mock.error is not None:
            exc = TidewayError(mock.error.message or mock.error.error, mock.error.details, name=mock.error.error)
            self._executed(target.slug, payload, started, trigger, depth, target.instance,
                           {"error": {"error": exc.name, "message": exc.message}})
            raise exc
        output = deep_copy(mock.output)
        self._executed(target.slug, payload, started, trigger, depth, target.instance,
                       {"output": output, "break": False})
        return output


@dataclass
class OfflineRunner:
    """Runs the cases of one workspace folder; one Custom Code sandbox pool for all of them."""

    workspace: OfflineWorkspace
    settings: RunSettings = field(default_factory=lambda: OFFLINE_SETTINGS)

    def __post_init__(self) -> None:
        self.custom_code = CustomCodeActivities(self.settings)

    async def run_case(self, case: Case, file_mocks: Mocks) -> CaseOutcome:
        compiled, tree = await self.workspace.tree(case.config, case.secrets)
        world = CaseWorld(compiled, tree, case, file_mocks, self.settings, self.custom_code)
        traces: list[RunTrace] = []

        async def launch(run: RunInput) -> None:
            traces.append(await self.run_one(world, run))

        world.launch = launch
        outcome = CaseOutcome()
        correlation_id = world.new_id().replace("-", "")
        session_id = world.session_id or correlation_id
        world.seed_session(session_id)
        try:
            if case.event is not None:
                await self.send_event(world, case, correlation_id, session_id)
            else:
                run = self.root_run(world, case, correlation_id, session_id)
                root = await self.run_one(world, run)
                traces.insert(0, root)
                outcome.output, outcome.error = root.output, root.error
                if case.webhook is not None:
                    outcome.http_status = (status_for(root.error["error"]) if root.error is not None
                                           else root.http_status or 200)
                    outcome.http_headers = dict(root.http_headers)
        except RunnerProblem as problem:
            outcome.problem = str(problem)
        except TidewayError as exc:  # refused before any run started, as the route refuses it
            outcome.error = exc.to_dict()
            if case.webhook is not None:
                outcome.http_status = exc.status
        if case.event is not None and outcome.error is None:
            outcome.error = next((t.error for t in traces if t.error is not None), None)
        outcome.runs = traces
        outcome.events = [event for _, event in world.log]
        outcome.requests = world.requests
        outcome.calls = world.calls
        return outcome

    def root_run(self, world: CaseWorld, case: Case, correlation_id: str, session_id: str) -> RunInput:
        compiled, tree = world.compiled, world.tree
        common: dict[str, Any] = dict(workspace=compiled.ref(), correlation_id=correlation_id, user_id=case.user,
                                      session_id=session_id, versions=tree.versions)
        if case.webhook is not None:
            hook = case.webhook
            found = tree.resolve_endpoint(hook.endpoint)
            if found is None:
                raise ObjectNotFoundError(f"No endpoint '{hook.endpoint}' in workspace '{compiled.slug}'",
                                          {"endpoint": hook.endpoint})
            instance, slug = found
            headers = {k.lower(): v for k, v in hook.headers.items()}
            body = hook.body if hook.body is not None else {}
            if hook.body is not None:
                headers.setdefault("content-type", "application/json")
            path = f"/v2/workspaces/{compiled.id}/webhooks/{hook.endpoint}"
            query = "&".join(f"{k}={v}" for k, v in hook.query.items())
            http = {"method": hook.method, "path": path, "originalUrl": path + (f"?{query}" if query else ""),
                    "hostname": "localhost", "ip": "127.0.0.1"}
            payload = {"workspaceId": compiled.id, "automationSlug": slug, "method": hook.method, "headers": headers,
                       "query": dict(hook.query), "body": body}
            return self.checked(world, instance, slug, RunInput(
                automation_slug=slug, payload=payload, trigger=Trigger(type="endpoint", value=hook.endpoint),
                http=http, http_response=True, **common))
        assert case.automation is not None
        instance, _, slug = case.automation.rpartition(".")
        if instance and instance not in tree.nodes:
            raise ObjectNotFoundError(f"No app instance '{instance}' in workspace '{compiled.slug}'",
                                      {"slug": case.automation})
        return self.checked(world, instance, slug, RunInput(
            automation_slug=slug, payload=dict(case.payload or {}), trigger=Trigger(type="test", value=case.automation),
            **common))

    @staticmethod
    def checked(world: CaseWorld, instance: str, slug: str, run: RunInput) -> RunInput:
        """What ``RunLauncher.launch`` checks before it starts a run, and the run it starts."""
        node = world.tree.nodes[instance]
        automation = node.automations.get(slug)
        model = node.model(slug)
        if automation is None or model is None or model.disabled:
            where = f" in app instance '{instance}'" if instance else ""
            raise ObjectNotFoundError(f"Automation '{slug}' not found{where}", {"slug": slug})
        if instance and model.private:
            raise ForbiddenError(f"Automation '{slug}' is private to app instance '{instance}': only that app's "
                                 "automations can call it", {"slug": slug, "instance": instance})
        run.automation, run.instance = automation, instance
        run.instance_info = node.info if instance else None
        return run

    async def send_event(self, world: CaseWorld, case: Case, correlation_id: str, session_id: str) -> None:
        """``POST …/events`` (core/runs/triggers.py ``send_events``): checked, logged, listeners started."""
        assert case.event is not None
        event_type, payload = case.event.type, deep_copy(case.event.payload)
        if not EVENT_NAME.match(event_type):
            raise InvalidEventError(f"{event_type!r} is not a valid event name", {"type": event_type})
        if is_native(event_type) or is_native(event_type.lower()):
            raise ForbiddenError(f"native event '{event_type}' cannot be sent", {"type": event_type})
        event = Event(id=world.new_id(), type=event_type, payload=payload, createdAt=world.clock.now(),
                      size=json_size(payload),
                      source=EventSource(workspaceId=world.compiled.id, correlationId=correlation_id, userId=case.user,
                                         sessionId=session_id, serviceTopic=EMIT_TOPIC))
        await world.flush([event], [], [], case.user, None)

    async def run_one(self, world: CaseWorld, run: RunInput) -> RunTrace:
        settings = self.settings
        effects = InMemoryEffects(world, run)
        recorder = EventRecorder(run, effects, settings.max_event_size, effects.workflow_id, world.new_id())
        it = OfflineInterpreter(run, effects, settings, recorder, world)
        trace = RunTrace(automation=run.automation_slug, instance=run.instance, trigger=run.trigger.public())
        trigger = run.trigger.public()
        if run.record_interaction:
            recorder.native("runtime.interactions.triggered", {
                "workspaceId": run.workspace.id, "automation": run.automation_slug, "trigger": trigger,
                "startedAt": effects.now().isoformat().replace("+00:00", "Z")}, run.automation_slug, 0, user=True,
                instance=it.start_instance)
        try:
            try:
                start = it.start_instance
                target = await it.resolve(start.full_slug, run.automation_slug)
                if target is None or target.automation is None:
                    raise ObjectNotFoundError(f"Automation '{run.automation_slug}' not found",
                                              {"slug": run.automation_slug})
                output = await it.execute(target, run.payload, run.depth, trigger, root=True,
                                          seen_trigger=run.trigger.seen())
            except BreakSignal:
                output = {}
            except TidewayError as exc:
                body = record_error(it, recorder, run, exc)
                it.status, trace.error = "failed", body
                await it.flush()
                return trace
            except RunnerProblem:
                raise
            except Exception as exc:  # a bug fails the run visibly, as in the workflow
                body = it.redact({"error": "InternalError", "message": f"Internal error: {type(exc).__name__}: {exc}"})
                recorder.native("error", body, run.automation_slug, run.depth + 1, user=True, workflow=True)
                it.status, trace.error = "failed", body
                await it.flush()
                return trace
            it.status = "succeeded"
            await it.flush()
            trace.output = json_value(strip_undefined(output))
            trace.http_status, trace.http_headers = it.http.status, dict(it.http.headers)
            trace.chunks = list(it.http.chunks)
            return trace
        finally:
            trace.steps = it.tracer.snapshot(it.secrets)["steps"]
            trace.status = it.status


def json_value(value: Any) -> Any:
    """The value as a caller reads it back from JSON (what the server mode compares too)."""
    if value is MISSING:
        return value
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
