"""Starting listener runs for persisted events, and DispatchWorkflow for user-sent events.

Each listener is a run of its own with a deterministic id per (event, automation) and
REJECT_DUPLICATE: replays and retries never start a trigger twice, and listeners outlive the run
that emitted their event. They are started together by one local activity
(activities/listeners.py); runs recorded before that started them as abandoned child workflows,
and replay so.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from schemas import activity_names as names
from schemas.events import Event
from schemas.runs import (
    FlushRequest,
    FlushResult,
    ListenerStart,
    ListenerStarts,
    RunInput,
    Trigger,
    TriggerSpec,
)
from schemas.search_attributes import run_search_attributes

LOCAL = timedelta(seconds=30)
LOCAL_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(seconds=5),
                          maximum_attempts=30)


def listener_workflow_id(workspace_id: str, slug: str, event_id: str) -> str:
    return f"{workspace_id}/{slug}/evt-{event_id}"


# Runs that started listeners as child workflows before this patch replay that way (their
# histories hold the child starts); new runs start them from a local activity.
LISTENERS_FROM_ACTIVITY = "listeners-from-activity"


def _listener_run(result: FlushResult, event: Event, spec: TriggerSpec, user_id: str | None) -> ListenerStart:
    assert result.workspace is not None
    ws, slug, instance = result.workspace, spec.automation_slug, spec.instance
    public = event.to_public()
    user_sent = event.source.automationSlug is None
    run = RunInput(
        workspace=ws, automation_slug=slug, automation=None, instance=instance,
        instance_info=result.instances.get(instance) if instance else None, versions=result.versions,
        payload={"id": event.id, "source": public["source"], "payload": public.get("payload", {})},
        trigger=Trigger(type="event", value=event.type, id=event.id, local_value=spec.event_name),
        correlation_id=event.source.correlationId,
        # Events never carry the user of a run, but the listeners act for it (spec §6.1 cases).
        user_id=event.source.userId if user_sent else user_id, session_id=event.source.sessionId,
        depth=event.source.automationDepth or 0, after_seq=result.seqs.get(event.id, 0),
        record_interaction=user_sent)
    return ListenerStart(workflow_id=listener_workflow_id(ws.id, f"{instance}.{slug}" if instance else slug, event.id),
                         run=run)


async def start_listeners(result: FlushResult, events: list[Event], user_id: str | None = None) -> None:
    """Start every listener of ``result``, in parallel, each once (deterministic ids)."""
    if not result.triggers or result.workspace is None:
        return
    by_id = {e.id: e for e in events}
    starts = [_listener_run(result, by_id[t.event_id], t, user_id) for t in result.triggers if t.event_id in by_id]
    if not starts:
        return
    if workflow.patched(LISTENERS_FROM_ACTIVITY):
        await workflow.execute_local_activity(
            names.START_LISTENERS, ListenerStarts(starts=starts, task_queue=workflow.info().task_queue),
            start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY, result_type=int)
        return
    await asyncio.gather(*(_start_child(start) for start in starts))


async def _start_child(start: ListenerStart) -> None:
    """The listener as an abandoned child workflow: how runs recorded before the patch did it."""
    memo = {"settings": workflow.memo_value("settings", default={}) or {}}
    run = start.run
    try:
        await workflow.start_child_workflow(
            "AutomationWorkflow", run, id=start.workflow_id, task_queue=workflow.info().task_queue, memo=memo,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=run_search_attributes(bool(memo["settings"].get("run_search_attributes")),
                                                    run.workspace.id, run.automation_slug, run.correlation_id))
    except WorkflowAlreadyStartedError:
        pass  # started by an earlier attempt: exactly once


async def flush_and_dispatch(request: FlushRequest) -> FlushResult:
    result: FlushResult = await workflow.execute_local_activity(
        names.FLUSH, request, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY, result_type=FlushResult)
    await start_listeners(result, request.events, request.user_id)
    return result


@workflow.defn(name="DispatchWorkflow")
class DispatchWorkflow:
    """The durable hand-off of user-sent events: persist them, then start their listeners."""

    @workflow.run
    async def run(self, workspace_id: str, events: list[Event]) -> dict[str, Any]:
        result = await flush_and_dispatch(FlushRequest(workspace_id=workspace_id, events=events))
        return {"events": [e.id for e in events], "triggered": len(result.triggers)}
