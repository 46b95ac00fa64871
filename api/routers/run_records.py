"""Runs (docs/runs.md): list and read a workspace's automation runs with their step traces,
re-run and cancel them, and send a stored event again. The records are written by the runs
themselves (``workflows/run_report.py``); the work is done in ``core.runs.operations``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from api.authorization import Actor, actor_permissions
from api.bodies import JsonBody
from api.deps import ServicesDep
from api.errors import error_response
from api.openapi import ANY_JSON, json_body
from api.permissions import CanSendEvents, CanTest, CanUpdate, EventReader
from api.routers.activity import temporal_ui_url
from api.routers.events import audience_of, readable_by
from api.routers.runs import output_response, streamed_response
from core.access.permissions.checks import can
from core.infra.tables import RunRow
from core.runs import operations
from core.runs.launcher import RunFailed, StreamedRun
from core.runs.records import RunQuery, details, list_runs, summary
from core.services import Services
from schemas.api.runs import ReemitPage, RerunBody, RunPage, RunsPage
from schemas.errors import InvalidArgumentsError, ObjectNotFoundError
from schemas.requests import parse_body
from schemas.runs import ENDED_STATUSES, run_record_id

router = APIRouter(prefix="/v2/workspaces/{workspace_id}", tags=["runs"])
RUN_HEADER = "X-Tideway-Run-Id"


def as_event(row: RunRow) -> dict[str, Any]:
    """A run as the event that reports it (``runtime.automations.executed``): runs are readable
    by whoever may read that event (the rules of ``GET …/events``)."""
    source: dict[str, Any] = {"workspaceId": row.workspace_id, "correlationId": row.correlation_id,
                              "userId": row.user_id, "automationSlug": row.automation,
                              "serviceTopic": "runtime.automations.executed", "workflowId": row.workflow_id}
    if row.instance:
        source.update(appInstanceFullSlug=row.instance, appInstanceDepth=row.instance.count(".") + 1)
    return {"type": "runtime.automations.executed", "source": source, "payload": {"slug": row.automation}}


class RunReader:
    """What the caller sees of the workspace's runs: which ones (the events rule), and whether
    their input, output, error and trace (``read`` on the workspace)."""

    def __init__(self, readable: Any, full: bool):
        self.readable = readable
        self.full = full

    @classmethod
    async def of(cls, services: Services, actor: Actor, workspace_id: str) -> RunReader:
        readable = await readable_by(services, actor, workspace_id, await audience_of(services, actor, workspace_id))
        full = actor.superadmin or can(await actor_permissions(services, actor, workspace_id), "read", "workspaces",
                                       {"id": workspace_id})
        return cls(readable, full)

    def sees(self, row: RunRow) -> bool:
        return self.readable is None or bool(self.readable(as_event(row)))


@router.get("/runs", response_model=RunsPage, response_model_exclude_unset=True)
async def list_workspace_runs(workspace_id: str, request: Request, services: ServicesDep,
                              actor: EventReader) -> dict[str, Any]:
    """Runs, newest first: ``automation``, ``status``, ``triggerType``, ``correlationId``,
    ``userId``, ``workflowId``, ``afterDate``, ``beforeDate``, ``page``, ``limit``."""
    query = RunQuery.parse(dict(request.query_params))
    await services.workspaces.get_row(workspace_id)
    reader = await RunReader.of(services, actor, workspace_id)
    async with services.db.session() as session:
        rows = await list_runs(session, workspace_id, query)
    runs = []
    for row in rows:
        if not reader.sees(row):
            continue
        item = summary(row)
        if reader.full and row.error is not None:
            item["error"] = row.error
        runs.append(item)
    return {"result": {"runs": runs}}


async def readable_run(services: Services, actor: Actor, workspace_id: str, run_id: str) -> tuple[RunRow, RunReader]:
    row = await operations.find_run(services, workspace_id, run_id)
    reader = await RunReader.of(services, actor, workspace_id)
    if not reader.sees(row):
        raise ObjectNotFoundError(f"No run '{run_id}' in workspace '{workspace_id}'", {"runId": run_id})
    return row, reader


def temporal_link(services: Services, row: RunRow) -> str:
    settings = services.settings
    return (f"{temporal_ui_url(settings)}/namespaces/{quote(settings.temporal_namespace, safe='')}/workflows/"
            f"{quote(row.workflow_id, safe='')}/{quote(row.temporal_run_id, safe='')}/history")


@router.get("/runs/{run_id}", response_model=RunPage, response_model_exclude_unset=True)
async def get_workspace_run(workspace_id: str, run_id: str, services: ServicesDep, actor: EventReader) -> dict[str, Any]:
    """One run: its summary, a link to it in the Temporal UI, and (for readers of the workspace)
    its input, output or error, and its step trace (live for a run in flight)."""
    row, reader = await readable_run(services, actor, workspace_id, run_id)
    run = summary(row)
    run["temporalUrl"] = temporal_link(services, row)
    if reader.full:
        run.update(details(row))
        run["input"] = await operations.stored_value(services, run["input"])
        if "output" in run:
            run["output"] = await operations.stored_value(services, run["output"])
        if row.status not in ENDED_STATUSES:
            live = await operations.live_trace(services, row)
            if live is not None:
                run["trace"] = live
    return {"result": {"run": run}}


@router.post("/runs/{run_id}/rerun", response_model=None, responses=ANY_JSON, openapi_extra=json_body(RerunBody))
async def rerun_workspace_run(workspace_id: str, run_id: str, services: ServicesDep, actor: CanTest,
                              body: Annotated[Any, Depends(JsonBody())]) -> Response:
    """Run it again with the same input and trigger, as the caller (never as the original user,
    never with its credentials), on the current definition or, with ``{"definition":
    "original"}``, the revision it ran on. A webhook run answers like the webhook; others answer
    the new run. The new run's id is in the ``X-Tideway-Run-Id`` header."""
    definition = parse_body(RerunBody, body, what='rerun body (expected {} or {"definition": "current" | "original"})',
                            error=InvalidArgumentsError).definition
    row = await operations.find_run(services, workspace_id, run_id)
    workflow_id = services.launcher.new_workflow_id(workspace_id, row.instance, row.automation)
    try:
        outcome = await operations.rerun(services, row, workflow_id, definition=definition, user_id=actor.user_id,
                                         session_id=actor.session_id,
                                         api_key_id=actor.api_key.id if actor.api_key else None)
    except RunFailed as exc:  # the new run failed: its error, and where to find it
        failed = error_response(exc)
        failed.headers[RUN_HEADER] = run_record_id(workflow_id)
        return failed
    if isinstance(outcome, StreamedRun):
        response = await streamed_response(outcome)
        response.headers[RUN_HEADER] = run_record_id(outcome.workflow_id)
        return response
    if row.trigger_type == "endpoint":
        response = output_response(outcome)
    else:
        response = JSONResponse({"result": {"run": {"id": outcome.run_id, "workflowId": outcome.workflow_id,
                                                    "rerunOf": row.id, "status": "succeeded",
                                                    "output": outcome.output}}})
    response.headers[RUN_HEADER] = outcome.run_id
    return response


@router.post("/runs/{run_id}/cancel", response_model=RunPage, response_model_exclude_unset=True)
async def cancel_workspace_run(workspace_id: str, run_id: str, services: ServicesDep,
                               actor: CanUpdate) -> dict[str, Any]:
    """Cancel a running or waiting run (its ``finally`` blocks run); 409 once it has ended."""
    row = await operations.find_run(services, workspace_id, run_id)
    cancelled = await operations.cancel(services, row, user_id=actor.user_id)
    return {"result": {"run": summary(cancelled)}}


@router.post("/events/{event_id}/reemit", response_model=ReemitPage)
async def reemit_event(workspace_id: str, event_id: str, services: ServicesDep, actor: CanSendEvents) -> dict[str, Any]:
    """Send a stored event again (new id, ``source.reemitOf``, the caller as its user), so its
    listeners run again; native events cannot be re-emitted."""
    readable = await readable_by(services, actor, workspace_id, await audience_of(services, actor, workspace_id))
    event = await operations.reemit(services, workspace_id, event_id, readable=readable, user_id=actor.user_id,
                                    session_id=actor.session_id)
    return {"result": {"event": event}}
