"""AutomationWorkflow: one automation run = one durable Temporal workflow.

Deterministic code only: time, ids and randomness come from ``workflow``; every
side effect is an activity (local where short).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from language import LanguageEnv
from language.values import strip_undefined
from schemas import activity_names as names
from schemas.errors import ObjectNotFoundError, TidewayError
from schemas.events import Event, json_size
from schemas.run_settings import RunSettings
from schemas.runs import (
    HTTP_CHUNKS_MAX_BYTES,
    HTTP_CHUNKS_UPDATE,
    AuthorizeRequest,
    CallRequest,
    CallTarget,
    ContextKeys,
    ContextWrite,
    CustomCodeOutcome,
    CustomCodeRequest,
    FlushRequest,
    FlushResult,
    RateLimitRequest,
    RateLimitResult,
    RunInput,
    RunRecord,
    RunResult,
    UserTopicRequest,
    WaitRequest,
    without_credentials,
)
from workflows.dispatch import LOCAL, LOCAL_RETRY, flush_and_dispatch
from workflows.eviction import being_evicted
from workflows.interpreter.engine import Interpreter
from workflows.interpreter.events import EventRecorder
from workflows.interpreter.frames import BreakSignal, HttpResponseState
from workflows.run_report import RunReporter

BLOB_CHUNK = 200_000
CHUNKS_LINGER_PATCH = "chunks-taken-before-the-end"
CHUNKS_LINGER_SECONDS = 10  # how long a run whose $http.chunks nobody took waits for the API
# Blob bytes loaded by local activities in one workflow task, then by each regular activity (see
# load_blob): far below the 4 MB of a task completion and the 2 MB of one payload.
BLOB_BYTES_PER_TASK = 1_000_000
BLOB_TASKS_PATCH = "blob-load-batches"  # runs started before replay with local activities only
RECORD_BEFORE_FETCH_PATCH = "run-record-before-fetch"  # runs started before the runs table (issue 19)


class TemporalEffects:
    """``Effects`` backed by Temporal: workflow clock/ids, local and regular activities."""

    def __init__(self, run: RunInput, settings: RunSettings, fulfilled: dict[str, Any]):
        self.run = run
        self.settings = settings
        self.fulfilled = fulfilled
        self.workflow_id = workflow.info().workflow_id
        self.describe: Callable[[], str] | None = None
        self.before_fetch: Callable[[], Awaitable[None]] | None = None
        self.env = LanguageEnv(now=workflow.now, random=workflow.random().random,
                               timezone=settings.default_timezone, locale=settings.default_locale)

    def now(self) -> datetime:
        return workflow.now()

    def new_id(self) -> str:
        return str(workflow.uuid4())

    async def flush(self, events: list[Event], writes: list[ContextWrite], charges: dict[str, int],
                    not_watermark: list[str], user_id: str | None = None, quiet: list[str] | None = None,
                    run: RunRecord | None = None) -> FlushResult:
        # Called with nothing to write too: the local activity ends the activation, so a long
        # pure loop never trips the SDK's 2 s deadlock detector.
        self.show_step()
        return await flush_and_dispatch(FlushRequest(workspace_id=self.run.workspace.id, events=events,
                                                     writes=writes, charges=charges, not_watermark=not_watermark,
                                                     user_id=user_id, quiet=quiet or [], run=run))

    def show_step(self) -> None:
        """The run's current step as the workflow's current details (the Temporal UI): only
        where the run blocks, since a query or the UI can only see it between activations."""
        if self.describe is not None:
            workflow.set_current_details(self.describe())

    async def sleep(self, seconds: float) -> None:
        self.show_step()
        await workflow.sleep(timedelta(seconds=seconds))

    async def rate_limit(self, request: RateLimitRequest) -> RateLimitResult:
        result: RateLimitResult = await workflow.execute_local_activity(
            names.RATE_LIMIT, request, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY,
            result_type=RateLimitResult)
        return result

    async def run_custom_code(self, request: CustomCodeRequest) -> CustomCodeOutcome:
        # Not deterministic, so an activity; local (fast), with room for the sandbox's own limit.
        outcome: CustomCodeOutcome = await workflow.execute_local_activity(
            names.RUN_CUSTOM_CODE, request, result_type=CustomCodeOutcome, retry_policy=LOCAL_RETRY,
            start_to_close_timeout=timedelta(seconds=self.settings.custom_code_timeout_seconds + 10))
        return outcome

    async def user_topic(self, request: UserTopicRequest) -> None:
        await workflow.execute_local_activity(names.USER_TOPIC, request, start_to_close_timeout=LOCAL,
                                              retry_policy=LOCAL_RETRY)

    async def load_contexts(self, keys: ContextKeys) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = await workflow.execute_local_activity(
            names.LOAD_CONTEXTS, keys, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY)
        return result

    async def wait_for_event(self, request: WaitRequest) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await workflow.execute_local_activity(
            names.REGISTER_WAIT, request, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY)
        if found is not None:
            return found
        self.show_step()
        try:
            await workflow.wait_condition(lambda: request.wait_id in self.fulfilled,
                                          timeout=timedelta(seconds=request.timeout))
        except asyncio.CancelledError:
            if being_evicted():
                raise
            # The run is cancelled while it waits: its wait must not match a later event.
            await workflow.execute_local_activity(names.CANCEL_WAIT, request.wait_id,
                                                  start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY)
            raise
        except TimeoutError:
            await workflow.execute_local_activity(names.CANCEL_WAIT, request.wait_id,
                                                  start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY)
            # A reply may have been matched just before the wait was cancelled.
            return self.fulfilled.pop(request.wait_id, None)
        event: dict[str, Any] = self.fulfilled.pop(request.wait_id)
        return event

    async def fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.before_fetch is not None and workflow.patched(RECORD_BEFORE_FETCH_PATCH):
            await self.before_fetch()  # a run that starts with a slow request is listed as running
        self.show_step()
        result: dict[str, Any] = await workflow.execute_activity(
            names.FETCH, request,
            start_to_close_timeout=timedelta(seconds=self.settings.fetch_timeout_seconds + 10),
            retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=["FetchError"]),
        )
        if result.get("body_ref"):
            result["body"] = await self.load_blob(result["body_ref"], result["body_chunks"])
        return result

    async def may_execute(self, automation: dict[str, Any], user_id: str | None) -> bool:
        ws = self.run.workspace
        allowed: bool = await workflow.execute_local_activity(
            names.AUTHORIZE, AuthorizeRequest(workspace_id=ws.id, revision=ws.revision, user_id=user_id,
                                              api_key_id=self.run.api_key_id, automation=automation),
            start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY)
        return allowed

    async def resolve_call(self, caller: str, name: str) -> CallTarget | None:
        ws = self.run.workspace
        request = CallRequest(workspace_id=ws.id, revision=ws.revision, versions=self.run.versions, caller=caller,
                              name=name)
        result: CallTarget | None = await workflow.execute_local_activity(
            names.RESOLVE_CALL, request, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY,
            result_type=CallTarget | None)  # type: ignore[arg-type]
        return result

    async def load_blob(self, blob_id: str, chunks: int) -> Any:
        """A value stored by reference. Chunks are local activities (fast), but the SDK records
        each result as a marker and sends all the markers of a workflow task in one gRPC message,
        which the server refuses above 4 MB (``GrpcMessageTooLarge``: a 3 MB upload failed). So
        after ``BLOB_BYTES_PER_TASK`` the rest comes through regular activities, about that many
        bytes each: every result is its own history event, below the 2 MB payload limit."""
        parts: list[str] = []
        loaded = 0
        while len(parts) < chunks:
            if loaded >= BLOB_BYTES_PER_TASK and workflow.patched(BLOB_TASKS_PATCH):
                batch: list[str] = await workflow.execute_activity(
                    names.LOAD_BLOB_CHUNKS, args=[blob_id, len(parts), chunks, BLOB_BYTES_PER_TASK],
                    start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY)
                parts.extend(batch)
                continue
            part: str = await workflow.execute_local_activity(
                names.LOAD_BLOB_CHUNK, args=[blob_id, len(parts)], start_to_close_timeout=LOCAL,
                retry_policy=LOCAL_RETRY)
            parts.append(part)
            loaded += len(part.encode("utf-8"))
        return json.loads("".join(parts))

    async def store_blob(self, value: Any) -> tuple[str, int]:
        text = json.dumps(value, ensure_ascii=False)
        blob_id = str(workflow.uuid4())
        chunks = [text[i:i + BLOB_CHUNK] for i in range(0, len(text), BLOB_CHUNK)] or [""]
        for index, chunk in enumerate(chunks):
            await workflow.execute_local_activity(
                names.STORE_BLOB_CHUNK, args=[blob_id, index, chunk], start_to_close_timeout=LOCAL,
                retry_policy=LOCAL_RETRY)
        return blob_id, len(chunks)


def error_body(exc: TidewayError) -> dict[str, Any]:
    body = exc.to_dict()
    body["details"] = strip_undefined(body.get("details"))
    if body["details"] is None:
        body.pop("details")
    automation = getattr(exc, "automation_slug", None)
    instruction = getattr(exc, "instruction", None)
    if automation:
        body["at"] = {"automation": automation, "instruction": instruction}
    return body


def record_error(interpreter: Interpreter, recorder: EventRecorder, run: RunInput, exc: TidewayError) -> dict[str, Any]:
    """The ``error`` event of a failed run, where it was raised, without the run's secrets; its
    body (also what the caller is answered). Shared with the offline test runner."""
    body: dict[str, Any] = interpreter.redact(error_body(exc))
    origin = getattr(exc, "origin", None)
    recorder.native("error", body, getattr(exc, "automation_slug", None) or run.automation_slug,
                    origin.depth if origin else run.depth + 1, user=True, workflow=True,
                    instance=getattr(exc, "instance", None) or interpreter.start_instance)
    return body


@workflow.defn(name="AutomationWorkflow")
class AutomationWorkflow:
    def __init__(self) -> None:
        self.fulfilled: dict[str, Any] = {}
        self.http: HttpResponseState | None = None
        self.done = False
        self.interpreter: Interpreter | None = None

    @workflow.query(name="trace")
    def trace(self) -> dict[str, Any]:
        """The step trace so far, secrets redacted (a run in flight; docs/runs.md)."""
        it = self.interpreter
        if it is None:
            return {"level": "off", "steps": [], "dropped": 0}
        return it.tracer.snapshot(it.secrets)

    @workflow.signal(name="wait_fulfilled")
    def wait_fulfilled(self, wait_id: str, event: dict[str, Any]) -> None:
        self.fulfilled[wait_id] = event

    @workflow.update(name=HTTP_CHUNKS_UPDATE)
    async def http_chunks(self, after: int) -> dict[str, Any]:
        """The API's long poll for ``$http.chunk``: returns once there are chunks after the first
        ``after`` or the run has ended. Through Temporal, so it works whether the API and the
        worker share a process or not (DESIGN "Processes")."""
        await workflow.wait_condition(lambda: self.done or (self.http is not None and self.http.total > after))
        http = self.http or HttpResponseState()
        chunks = http.take(after, HTTP_CHUNKS_MAX_BYTES)
        return {"chunks": chunks, "next": http.base + len(chunks), "done": self.done and http.total <= after + len(chunks),
                "status": http.status, "headers": http.headers, "keepAliveMs": http.keepalive_ms}

    @http_chunks.validator
    def _check_after(self, after: int) -> None:
        if not isinstance(after, int) or after < 0:
            raise ValueError("after must be a non-negative chunk count")

    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        settings = RunSettings.model_validate(workflow.memo_value("settings", default={}) or {})
        effects = TemporalEffects(run, settings, self.fulfilled)
        info = workflow.info()
        recorder = EventRecorder(run, effects, settings.max_event_size, info.workflow_id, info.run_id)
        interpreter = Interpreter(run, effects, settings, recorder)
        self.interpreter = interpreter
        reporter = RunReporter(run, interpreter, info.workflow_id, info.run_id, effects.now())
        interpreter.report = reporter.pending
        effects.describe = lambda: interpreter.tracer.describe(run.automation_slug)

        async def record_running() -> None:
            if reporter.reported is None:
                await interpreter.flush()

        effects.before_fetch = record_running
        self.http = http = interpreter.http
        try:
            return await self._run(run, settings, effects, recorder, interpreter, reporter)
        finally:
            # Evicted from the worker's cache, the run is unwinding, not ending: nothing may be
            # awaited (workflows/eviction.py).
            if not being_evicted():
                await self._close(http)

    async def _close(self, http: HttpResponseState) -> None:
        """What a run does before it closes, however it ended."""
        if http.handed_out < http.total and workflow.patched(CHUNKS_LINGER_PATCH):
            # A fast run can end before the API's first poll reaches it, and its chunks would
            # be lost with it: it waits, a bounded time, until the API has taken them.
            await workflow.wait_condition(lambda: http.handed_out >= http.total,
                                          timeout=timedelta(seconds=CHUNKS_LINGER_SECONDS))
        # Let a pending `http_chunks` poll see the end before the run closes.
        self.done = True
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _run(self, run: RunInput, settings: RunSettings, effects: TemporalEffects, recorder: EventRecorder,
                   interpreter: Interpreter, reporter: RunReporter) -> RunResult:
        started = effects.now()
        trigger = run.trigger.public()
        if run.record_interaction:
            recorder.native("runtime.interactions.triggered", {
                "workspaceId": run.workspace.id, "automation": run.automation_slug, "trigger": trigger,
                "startedAt": started.isoformat().replace("+00:00", "Z")}, run.automation_slug, 0, user=True,
                instance=interpreter.start_instance)
        try:
            payload = run.payload
            if run.payload_ref:
                payload = await effects.load_blob(run.payload_ref, int(payload.get("$chunks", 1)))
            reporter.input = without_credentials(payload)
            start = interpreter.start_instance
            target = await interpreter.resolve(start.full_slug, run.automation_slug)
            if target is None or target.automation is None:
                raise ObjectNotFoundError(f"Automation '{run.automation_slug}' not found",
                                          {"slug": run.automation_slug})
            output = await interpreter.execute(target, payload, run.depth, trigger, root=True,
                                              seen_trigger=run.trigger.seen())
        except BreakSignal:  # `break: {scope: all}` stops the root quietly (handled in execute)
            output = {}
        except asyncio.CancelledError:
            if being_evicted():
                raise
            # Cancelled (POST …/runs/{id}/cancel): the `finally` blocks have run; the record says so.
            interpreter.status = "cancelled"
            await interpreter.flush()
            raise
        except TidewayError as exc:
            # The caller (possibly an anonymous webhook caller) gets the error as the event shows
            # it: without the run's secrets (a failed fetch names its URL, issue 14).
            body = record_error(interpreter, recorder, run, exc)
            interpreter.status, reporter.error = "failed", body
            await interpreter.flush()
            raise ApplicationError(body["message"], body, type=exc.name, non_retryable=True) from None
        except Exception as exc:  # a bug must fail the run visibly, never retry the task forever
            body = interpreter.redact({"error": "InternalError",
                                       "message": f"Internal error: {type(exc).__name__}: {exc}"})
            recorder.native("error", body, run.automation_slug, run.depth + 1, user=True, workflow=True)
            interpreter.status, reporter.error = "failed", body
            await interpreter.flush()
            raise ApplicationError(body["message"], body, type="InternalError", non_retryable=True) from None
        output = strip_undefined(output)
        interpreter.status, reporter.output = "succeeded", output
        await interpreter.flush()
        # The trace is returned by reference (the run's record, written by the final flush): inlined
        # in the result it made every run's history heavier and cost 2 ms of the dev server's CPU
        # per run (README, "Run traces and records").
        result = RunResult(output=output, status=interpreter.http.status, headers=interpreter.http.headers,
                           record_id=reporter.id)
        if json_size(output) > settings.inline_value_bytes:
            blob_id, chunks = await effects.store_blob(output)
            result.output = {"$chunks": chunks}
            result.output_ref = blob_id
        return result
