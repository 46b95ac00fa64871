"""Starting automation runs and turning their outcome into a result or a TidewayError."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.apps.tree import AppTree
from core.infra.settings import Settings
from core.runs.blobs import BlobStore
from core.workspaces.resolved import ResolvedWorkspace
from schemas.automations import load_automation
from schemas.errors import (
    ForbiddenError,
    ObjectNotFoundError,
    RunCancelledError,
    ServiceUnavailableError,
    TidewayError,
    WebhookTimeoutError,
    status_for,
)
from schemas.events import Event, json_size
from schemas.runs import (
    HTTP_CHUNKS_UPDATE,
    ListenerStart,
    RunInput,
    RunResult,
    Trigger,
    run_record_id,
)
from schemas.search_attributes import run_search_attributes


class RunFailed(TidewayError):
    """An automation run failed; carries the public error name and body from the workflow."""

    def __init__(self, name: str, message: str, details: Any = None, extra: dict[str, Any] | None = None):
        super().__init__(message, details, name=name)
        self.status = status_for(name)
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body.update(self.extra)
        return body


@dataclass
class RunOutcome:
    output: Any
    status: int | None
    headers: dict[str, str]
    workflow_id: str
    trace: dict[str, Any] | None = None  # the run's step trace (None: read it from the run record)

    @property
    def run_id(self) -> str:
        """The run record's id (``{runId}`` of the runs routes)."""
        return run_record_id(self.workflow_id)


T = TypeVar("T")


class Deadline:
    """How long a caller still waits for a run (WEBHOOK_TIMEOUT_SECONDS from the call's start);
    ``None`` seconds waits forever. Expiry stops the caller's wait only: the run goes on."""

    def __init__(self, workflow_id: str, seconds: float | None):
        self.workflow_id = workflow_id
        self.seconds = seconds
        self.at = None if seconds is None else asyncio.get_running_loop().time() + seconds

    def error(self) -> WebhookTimeoutError:
        return WebhookTimeoutError(
            f"Run '{self.workflow_id}' did not finish within {self.seconds:g} s (WEBHOOK_TIMEOUT_SECONDS); "
            "it goes on running: find it by this workflow id", {"workflowId": self.workflow_id})

    async def bound(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, or WebhookTimeoutError once the deadline has passed. Whatever
        the awaitable turns its cancellation into (the SDK raises its own error for a cancelled
        update), an expired deadline is what the caller hears about."""
        scope = asyncio.timeout_at(self.at)
        try:
            async with scope:
                return await awaitable
        except BaseException:
            if scope.expired():
                raise self.error() from None
            raise


@dataclass
class ChunkPoll:
    chunks: list[Any]
    next: int
    done: bool
    status: int | None
    headers: dict[str, str]
    keepalive_ms: int | None


class StreamedRun:
    """A started webhook run whose ``$http.chunk``s the API relays as Server-Sent Events: each
    :meth:`poll` is a workflow update that answers once chunks after ``after`` exist or the run
    has ended; :meth:`result` is the run's outcome (or its error)."""

    def __init__(self, launcher: RunLauncher, handle: WorkflowHandle[Any, RunResult], deadline: Deadline):
        self.launcher = launcher
        self.handle = handle
        self.deadline = deadline

    @property
    def workflow_id(self) -> str:
        return self.handle.id

    async def poll(self, after: int) -> ChunkPoll:
        """The chunks after ``after``; WebhookTimeoutError once the caller's deadline has passed."""
        try:
            answer: dict[str, Any] = await self.deadline.bound(
                self.handle.execute_update(HTTP_CHUNKS_UPDATE, after, result_type=dict))
        except (WorkflowUpdateFailedError, RPCError):
            # The run closed before the update was taken (it had nothing more to stream).
            return ChunkPoll([], after, True, None, {}, None)
        return ChunkPoll(answer.get("chunks") or [], int(answer.get("next") or after), bool(answer.get("done")),
                         answer.get("status"), answer.get("headers") or {}, answer.get("keepAliveMs"))

    async def result(self) -> RunOutcome:
        with run_errors():
            result = await self.deadline.bound(self.handle.result())
        return await self.launcher.outcome(result, self.handle.id)


@contextlib.contextmanager
def run_errors() -> Iterator[None]:
    """A failed run as its TidewayError; Temporal out of reach as 503."""
    try:
        yield
    except WorkflowFailureError as exc:
        raise RunLauncher._failure(exc) from None
    except (RPCError, RuntimeError) as exc:  # RuntimeError: a lazy client failing to connect
        raise ServiceUnavailableError(f"Temporal is unavailable: {exc}") from None


def idempotent_workflow_id(workspace_id: str, endpoint: str, key: str) -> str:
    """The workflow id of an idempotent webhook call: a same-key retry collides with the first run."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"idem/{workspace_id}/{endpoint}/{digest}"


class RunLauncher:
    def __init__(self, client: Client, settings: Settings, blobs: BlobStore, task_queue: str | None = None):
        self.client = client
        self.settings = settings
        self.blobs = blobs
        self.task_queue = task_queue or settings.temporal_task_queue
        self.memo = {"settings": settings.run.model_dump()}
        self.eager = False  # set by the embedded launcher (api + worker in one process)

    async def run(self, ws: ResolvedWorkspace, slug: str, payload: dict[str, Any], trigger: Trigger,
                  **options: Any) -> RunOutcome:
        """Run one automation and wait for its result (see :meth:`launch`)."""
        outcome = await self.launch(ws, slug, payload, trigger, stream=False, **options)
        assert isinstance(outcome, RunOutcome)  # stream=False never returns a StreamedRun
        return outcome

    async def launch(self, ws: ResolvedWorkspace, slug: str, payload: dict[str, Any], trigger: Trigger, *,
                  user_id: str | None = None, session_id: str | None = None, http: dict[str, Any] | None = None,
                  http_response: bool = False, correlation_id: str | None = None, tree: AppTree | None = None,
                  instance: str = "", workflow_id: str | None = None, api_key_id: str | None = None,
                  stream: bool = False, timeout: float | None = None,
                  rerun_of: str | None = None) -> RunOutcome | StreamedRun:
        """Run one automation and wait for its result. A given ``workflow_id`` makes the call
        idempotent: when a run with that id exists (running, completed or failed), its result
        (or error) is returned instead of starting another one. With ``stream`` (webhooks), an
        automation that may set ``$http.chunk`` is only started: the caller follows it through
        the returned :class:`StreamedRun`. ``timeout`` bounds the caller's wait (from now):
        past it, WebhookTimeoutError names the run, which goes on."""
        node = tree.nodes.get(instance) if tree is not None else None
        automations = node.automations if node is not None else ws.automations
        automation = automations.get(slug)
        model = (node.model(slug) if node is not None else
                 load_automation(automation) if isinstance(automation, dict) else None)
        if automation is None or model is None or model.disabled:
            where = f" in app instance '{instance}'" if instance else ""
            raise ObjectNotFoundError(f"Automation '{slug}' not found{where}", {"slug": slug})
        if instance and model.private:
            # Every run started from outside (webhook, test, page) starts outside the app: a private
            # automation is callable only from its own app's automations (issue 14).
            raise ForbiddenError(
                f"Automation '{slug}' is private to app instance '{instance}': only that app's automations "
                "can call it", {"slug": slug, "instance": instance})
        correlation_id = correlation_id or uuid.uuid4().hex
        run = RunInput(
            workspace=ws.ref(),
            automation_slug=slug, automation=automation, payload=payload, trigger=trigger,
            correlation_id=correlation_id, user_id=user_id, session_id=session_id or correlation_id,
            api_key_id=api_key_id, http=http, http_response=http_response, instance=instance,
            instance_info=node.info if node is not None and instance else None,
            versions=tree.versions if tree is not None else {}, rerun_of=rerun_of)
        if json_size(payload) > self.settings.run.inline_value_bytes:
            blob_id, chunks = await self.blobs.store(payload)
            run.payload, run.payload_ref = {"$chunks": chunks}, blob_id
        workflow_id = workflow_id or self.new_workflow_id(ws.id, instance, slug)
        deadline = Deadline(workflow_id, timeout)
        options = self._start_options(run, workflow_id, self.task_queue, eager=self.eager)
        if stream and model.facts.streams_http:
            try:
                with run_errors():
                    handle = await self.client.start_workflow("AutomationWorkflow", run, result_type=RunResult,
                                                              **options)
                return StreamedRun(self, handle, deadline)
            except WorkflowAlreadyStartedError:
                pass  # an idempotent retry: the first run's result, as below
        with run_errors():
            try:
                handle = await self.client.start_workflow("AutomationWorkflow", run, result_type=RunResult,
                                                          **options)
            except WorkflowAlreadyStartedError:
                # Same id: an idempotent retry. REJECT_DUPLICATE keeps a closed run's id taken (for
                # the namespace retention), so this is the first run's outcome, success or failure.
                handle = self.client.get_workflow_handle(workflow_id, result_type=RunResult)
            result = await deadline.bound(handle.result())
        return await self.outcome(result, workflow_id)

    async def start_listener(self, start: ListenerStart, task_queue: str) -> bool:
        """Start one listener run of an event (its id is deterministic: an event's listener
        starts once, a repeated start is refused by Temporal). Eager: this is called from a
        worker of ``task_queue``, which takes the run's first task from the start's answer.
        Answers False when it had been started already."""
        try:
            await self.client.start_workflow("AutomationWorkflow", start.run,
                                             **self._start_options(start.run, start.workflow_id, task_queue, eager=True))
        except WorkflowAlreadyStartedError:
            return False
        return True

    def _start_options(self, run: RunInput, workflow_id: str, task_queue: str, *, eager: bool) -> dict[str, Any]:
        """The options every AutomationWorkflow start gives Temporal."""
        instance, slug, trigger = run.instance, run.automation_slug, run.trigger
        return dict(
            id=workflow_id, task_queue=task_queue, memo=self.memo,
            # What the Temporal UI shows of the run at a glance.
            static_summary=f"{run.workspace.slug} · {instance + '.' if instance else ''}{slug} · {trigger.type}"
                           f"{' ' + trigger.value if trigger.value else ''}",
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=run_search_attributes(self.settings.run.run_search_attributes, run.workspace.id, slug,
                                                    run.correlation_id),
            request_eager_start=eager)

    @staticmethod
    def new_workflow_id(workspace_id: str, instance: str, slug: str) -> str:
        """A new run's workflow id: found in the Temporal UI by its ``<workspace>/<automation>/`` prefix."""
        return f"{workspace_id}/{instance + '.' if instance else ''}{slug}/{uuid.uuid4().hex}"

    async def outcome(self, result: RunResult, workflow_id: str) -> RunOutcome:
        output = result.output
        if result.output_ref:
            output = await self.blobs.load(result.output_ref)
        return RunOutcome(output, result.status, result.headers, workflow_id, result.trace)

    async def dispatch(self, workspace_id: str, events: list[Event]) -> None:
        """Hand events to one DispatchWorkflow: the durable acceptance (it persists them, then
        starts their listeners). Raises ServiceUnavailableError when Temporal cannot take it."""
        try:
            await self.client.start_workflow(
                "DispatchWorkflow", args=[workspace_id, events], id=f"dispatch-{events[0].id}",
                task_queue=self.task_queue, memo=self.memo, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except (RPCError, RuntimeError) as exc:  # RuntimeError: a lazy client failing to connect
            raise ServiceUnavailableError(f"Events not accepted: Temporal is unavailable ({exc})") from None

    @staticmethod
    def _failure(exc: WorkflowFailureError) -> TidewayError:
        cause: BaseException | None = exc.cause
        if isinstance(cause, CancelledError):
            return RunCancelledError("The run was cancelled before it answered (POST …/runs/{runId}/cancel)")
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = getattr(cause, "cause", None)
        if isinstance(cause, ApplicationError):
            body = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
            name = cause.type or body.get("error") or "Error"
            extra = {k: v for k, v in body.items() if k not in ("error", "message", "details")}
            return RunFailed(name, body.get("message") or cause.message, body.get("details"), extra)
        return RunFailed("InternalError", f"Run failed: {exc.cause or exc}")
