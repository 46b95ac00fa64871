"""ScheduledRunWorkflow: what a Temporal Schedule of an automation cron starts.

It resolves the workspace's current revision and app tree (a local activity), records
``runtime.interactions.triggered {workspaceId, automation, trigger: {type: 'schedule', value:
cron, appInstanceSlug?}, startedAt}`` (persisted and dispatched like any triggering native
event), then runs the automation as a child ``AutomationWorkflow`` whose local variables are
that event's ``{id, source, payload}`` (spec §2.3). A failed run records ``error {type:
'scheduleFailed', …}``. A schedule that no longer matches the definition (the automation is
gone, disabled or has another cron; the workspace is deleted) runs nothing and is reconciled
away.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

from schemas.events import Event, EventSource, json_size
from schemas.runs import FlushRequest, RunInput, RunResult, Trigger
from schemas.schedules import RESOLVE_SCHEDULE, ScheduledRun, ScheduleTarget
from schemas.search_attributes import run_search_attributes
from workflows.dispatch import LOCAL, LOCAL_RETRY, flush_and_dispatch


def _iso(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")


@workflow.defn(name="ScheduledRunWorkflow")
class ScheduledRunWorkflow:
    @workflow.run
    async def run(self, job: ScheduledRun) -> dict[str, Any]:
        target: ScheduleTarget = await workflow.execute_local_activity(
            RESOLVE_SCHEDULE, job, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY, result_type=ScheduleTarget)
        if target.skip or target.workspace is None:
            return {"skipped": target.skip or "unknown"}
        ws = target.workspace
        started = workflow.now()
        correlation_id = workflow.uuid4().hex
        info = target.instance_info
        app: dict[str, Any] = {}
        if info is not None and info.full_slug:
            app = {"appSlug": info.app_slug, "appInstanceSlug": info.slug, "appInstanceFullSlug": info.full_slug,
                   "appInstanceDepth": info.depth}
            if info.parent_app_slug:
                app["parentAppSlug"] = info.parent_app_slug
        trigger: dict[str, Any] = {"type": "schedule", "value": job.cron}
        if job.instance:
            trigger["appInstanceSlug"] = job.instance
        payload = {"workspaceId": ws.id, "automation": job.automation, "trigger": trigger,
                   "startedAt": _iso(started)}

        def source(type_: str) -> EventSource:
            return EventSource(**app, workspaceId=ws.id, correlationId=correlation_id, sessionId=correlation_id,
                               automationSlug=job.automation, automationDepth=0, serviceTopic=type_)

        interaction = Event(id=str(workflow.uuid4()), type="runtime.interactions.triggered",
                            source=source("runtime.interactions.triggered"), payload=payload, createdAt=started,
                            size=json_size(payload))
        flushed = await flush_and_dispatch(FlushRequest(workspace_id=ws.id, events=[interaction]))
        public = interaction.to_public()
        run = RunInput(
            workspace=ws, automation_slug=job.automation, automation=target.automation,
            payload={"id": interaction.id, "source": public["source"], "payload": public["payload"]},
            trigger=Trigger(type="schedule", value=job.cron), correlation_id=correlation_id,
            session_id=correlation_id, after_seq=flushed.watermark, instance=job.instance,
            instance_info=info if job.instance else None, versions=target.versions, record_interaction=False)
        slug = f"{job.instance}.{job.automation}" if job.instance else job.automation
        child_id = f"{ws.id}/{slug}/sched-{workflow.info().run_id}"
        settings = workflow.memo_value("settings", default={}) or {}
        try:
            result: RunResult = await workflow.execute_child_workflow(
                "AutomationWorkflow", run, id=child_id,
                task_queue=workflow.info().task_queue, result_type=RunResult,
                memo={"settings": settings},
                search_attributes=run_search_attributes(bool(settings.get("run_search_attributes")), ws.id,
                                                        job.automation, correlation_id))
        except ChildWorkflowError as exc:
            cause: BaseException | None = exc.cause
            while cause is not None and not isinstance(cause, ApplicationError):
                cause = getattr(cause, "cause", None)
            name = (cause.type if isinstance(cause, ApplicationError) else None) or "RunFailed"
            message = cause.message if isinstance(cause, ApplicationError) else str(exc.cause or exc)
            details: dict[str, Any] = {"automation": job.automation, "schedule": job.cron, "error": name,
                                       "correlationId": correlation_id}
            if job.instance:
                details["appInstanceSlug"] = job.instance
            body = {"type": "scheduleFailed", "error": "ScheduleFailed", "message": message, "details": details}
            failed = Event(id=str(workflow.uuid4()), type="error", source=source("error"), payload=body,
                           createdAt=workflow.now(), size=json_size(body))
            await flush_and_dispatch(FlushRequest(workspace_id=ws.id, events=[failed], dispatch=False))
            raise ApplicationError(message, body, type="ScheduleFailed", non_retryable=True) from None
        return {"workflowId": child_id, "status": result.status,
                "duration": (workflow.now() - started) / timedelta(milliseconds=1)}
