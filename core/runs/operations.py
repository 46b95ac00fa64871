"""What a user does to a run after the fact (docs/runs.md): read it (with its live trace while it
runs), re-run it, cancel it, and send one of its events again. Each is recorded as an event
(``runtime.runs.rerun``, ``runtime.runs.cancelled``, ``runtime.events.reemitted``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from core.events.changes import change_event
from core.events.store import EVENTS, row_to_public
from core.infra.tables import RunRow
from core.runs.launcher import RunOutcome, StreamedRun
from core.runs.records import BLOB_KEY, get_run
from core.runs.triggers import send_events
from core.services import Services
from schemas.errors import ConflictError, ForbiddenError, InvalidArgumentsError, ObjectNotFoundError
from schemas.events import is_native
from schemas.runs import ENDED_STATUSES, Trigger, without_credentials

log = logging.getLogger("tideway.runs")
CANCEL_WAIT_SECONDS = 10.0  # how long POST …/cancel waits to answer the cancelled record
TRACE_QUERY_SECONDS = 2.0


async def find_run(services: Services, workspace_id: str, run_id: str) -> RunRow:
    async with services.db.session() as session:
        row = await get_run(session, workspace_id, run_id)
    if row is None:
        raise ObjectNotFoundError(f"No run '{run_id}' in workspace '{workspace_id}'", {"runId": run_id})
    return row


async def stored_value(services: Services, value: Any) -> Any:
    """A record's input or output, loaded from the blob store when it was stored by reference."""
    if isinstance(value, dict) and isinstance(value.get(BLOB_KEY), str):
        return await services.blobs.load(value[BLOB_KEY])
    return value


def handle_of(services: Services, row: RunRow) -> WorkflowHandle[Any, Any]:
    return services.client.get_workflow_handle(row.workflow_id, run_id=row.temporal_run_id)


async def live_trace(services: Services, row: RunRow) -> dict[str, Any] | None:
    """The trace of a run in flight, from the workflow itself (the record has it as of the run's
    last status change); None when the worker cannot answer in time."""
    try:
        found: dict[str, Any] = await asyncio.wait_for(handle_of(services, row).query("trace"), TRACE_QUERY_SECONDS)
        return found
    except (RPCError, TimeoutError, RuntimeError) as exc:
        log.info("trace query of %s not answered: %s", row.workflow_id, exc)
        return None


async def rerun(services: Services, row: RunRow, workflow_id: str, *, definition: str, user_id: str | None,
                session_id: str | None, api_key_id: str | None) -> RunOutcome | StreamedRun:
    """Start the run again with its input and trigger, as the caller, on the current definition
    (``definition='original'``: the revision it ran on); linked by ``rerunOf``."""
    if definition not in ("current", "original"):
        raise InvalidArgumentsError(f"definition must be 'current' or 'original', got {definition!r}",
                                    {"field": "definition"})
    revision = row.revision if definition == "original" else None
    compiled, tree = await services.trees.current(row.workspace_id, revision=revision)
    payload = without_credentials(await stored_value(services, row.input))
    webhook = row.trigger_type == "endpoint"
    await services.workspaces.changes.record(change_event(
        row.workspace_id, "runtime.runs.rerun",
        {"runId": row.id, "automation": row.automation, "definition": definition, "revision": compiled.revision},
        user_id))
    return await services.launcher.launch(
        compiled, row.automation, payload, Trigger(type=row.trigger_type, value=row.trigger_value),
        user_id=user_id, session_id=session_id, api_key_id=api_key_id, tree=tree, instance=row.instance,
        http_response=webhook, stream=webhook, rerun_of=row.id, workflow_id=workflow_id,
        timeout=services.settings.webhook_timeout_seconds)


async def cancel(services: Services, row: RunRow, *, user_id: str | None) -> RunRow:
    """Ask Temporal to cancel the run (its `finally` blocks run) and answer its record once the
    run reports itself cancelled (or as it stands after ``CANCEL_WAIT_SECONDS``)."""
    if row.status in ENDED_STATUSES:
        raise ConflictError(f"Run '{row.id}' has already ended ({row.status})", {"runId": row.id, "status": row.status})
    try:
        await handle_of(services, row).cancel()
    except RPCError as exc:
        raise ConflictError(f"Run '{row.id}' cannot be cancelled: {exc.message}", {"runId": row.id}) from None
    await services.workspaces.changes.record(change_event(
        row.workspace_id, "runtime.runs.cancelled", {"runId": row.id, "automation": row.automation,
                                                     "workflowId": row.workflow_id}, user_id))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_WAIT_SECONDS
    current = row
    while loop.time() < deadline:
        current = await find_run(services, row.workspace_id, row.id)
        if current.status in ENDED_STATUSES:
            break
        await asyncio.sleep(0.1)
    return current


async def reemit(services: Services, workspace_id: str, event_id: str, *, readable: Any,
                 user_id: str | None, session_id: str | None) -> dict[str, Any]:
    """Send a stored event again: a new id, ``source.reemitOf``, the caller as its user, so its
    listeners run again. Native events (the platform's own) cannot be re-emitted."""
    async with services.db.session() as session:
        found = (await session.execute(select(EVENTS).where(EVENTS.c.id == event_id,
                                                           EVENTS.c.workspace_id == workspace_id))).first()
    event = row_to_public(found) if found is not None else None
    if event is None or (readable is not None and not readable(event)):
        raise ObjectNotFoundError(f"No event '{event_id}' in workspace '{workspace_id}'", {"eventId": event_id})
    if is_native(str(event.get("type"))):
        raise ForbiddenError(f"Native event '{event['type']}' cannot be re-emitted: only events sent by automations "
                             "or users can", {"eventId": event_id, "type": event["type"]})
    item = {key: event[key] for key in ("type", "payload", "target", "options") if event.get(key) is not None}
    sent = await send_events(services, workspace_id, [item], user_id=user_id, session_id=session_id,
                             reemit_of=event_id)
    await services.workspaces.changes.record(change_event(
        workspace_id, "runtime.events.reemitted", {"eventId": event_id, "newEventId": sent[0]["id"],
                                                   "type": event["type"]}, user_id))
    return sent[0]
