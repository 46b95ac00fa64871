"""Automation schedules on Temporal Schedules (dev server): created, fired, replaced and removed
as automations, app instances and workspaces change; never a duplicate or a leftover."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from sqlmodel import select
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleSpec
from temporalio.service import RPCError, RPCStatusCode

from core.infra.tables import ScheduleEntry, Wait
from core.runs.schedules import schedule_id
from tests.api.helpers import workspace_doc
from tests.stack import Stack

CRON = "*/15 * * * *"
PHOTO = "https://example.org/app.png"
TICK = {"name": "tick", "when": {"schedules": [CRON]},
        "do": [{"set": {"name": "seen", "value": "{{payload.trigger.value}}"}}],
        "output": {"cron": "{{seen}}", "event": "{{payload.automation}}", "id": "{{id}}"}}


async def wait_events(stack: Stack, ws: str, types: str, n: int = 1, timeout: float = 15,
                      **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        response = await stack.http.get("/v2/events", params={"workspaceId": ws, "types": types,
                                                               "appInstanceDepth": 5, **params}, headers=stack.auth)
        found: list[dict[str, Any]] = response.json()["result"]["events"]
        if len(found) >= n or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def registered(stack: Stack, ws: str) -> dict[str, ScheduleEntry]:
    async with stack.services.db.session() as session:
        rows = (await session.exec(select(ScheduleEntry).where(ScheduleEntry.workspace_id == ws))).all()
    return {r.id: r for r in rows}


async def exists(stack: Stack, sid: str) -> bool:
    try:
        await stack.services.client.get_schedule_handle(sid).describe()
        return True
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND
        return False


async def test_a_schedule_fires_and_runs_the_automation(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({"tick": TICK})))["id"]
    sid = schedule_id(ws, "", "tick", CRON)
    assert set(await registered(stack, ws)) == {sid}
    handle = stack.services.client.get_schedule_handle(sid)
    described = await handle.describe()
    assert described.schedule.spec.cron_expressions == [CRON] or described.schedule.spec.calendars
    assert len(described.info.next_action_times) >= 1
    first, *rest = described.info.next_action_times
    assert first.minute % 15 == 0 and first.second == 0
    assert all((b - a).total_seconds() >= 15 * 60 for a, b in zip(described.info.next_action_times, rest,
                                                                    strict=False))
    scheduled = await wait_events(stack, ws, "runtime.automations.scheduled")
    assert scheduled[0]["payload"] == {"slug": "tick", "schedules": [CRON], "details": {"launched": True}}

    await handle.trigger()
    executed = await wait_events(stack, ws, "runtime.automations.executed")
    assert executed, "the triggered schedule did not run the automation"
    payload = executed[0]["payload"]
    assert payload["trigger"] == {"type": "schedule", "value": CRON}
    interaction = (await wait_events(stack, ws, "runtime.interactions.triggered"))[0]
    assert interaction["payload"]["trigger"] == {"type": "schedule", "value": CRON}
    assert interaction["payload"]["automation"] == "tick"
    # The run's local variables are the interaction event's {id, source, payload} (spec §2.3).
    assert payload["output"] == {"cron": CRON, "event": "tick", "id": interaction["id"]}


async def test_a_failing_scheduled_run_records_schedule_failed(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    broken = {"name": "broken", "when": {"schedules": ["0 * * * *"]}, "do": [{"missingAutomation": {}}]}
    ws = (await stack.import_workspace(workspace_doc({"broken": broken})))["id"]
    await stack.services.client.get_schedule_handle(schedule_id(ws, "", "broken", "0 * * * *")).trigger()
    errors = await wait_events(stack, ws, "error", n=2)
    failed = [e for e in errors if e["payload"].get("type") == "scheduleFailed"]
    assert failed, errors
    assert failed[0]["payload"]["details"]["automation"] == "broken"
    assert failed[0]["payload"]["details"]["schedule"] == "0 * * * *"


async def test_invalid_cron_is_refused_on_save(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    bad = {"name": "fast", "when": {"schedules": ["*/5 * * * *"]}, "do": []}
    response = await stack.http.post("/v2/workspaces/import", json=workspace_doc({"fast": bad}), headers=stack.auth)
    assert response.status_code == 400, response.text
    body = response.json()
    # Reported with every other problem of the import, at the schedule's place (issue 17).
    assert body["error"] == "InvalidWorkspaceError" and "*/5 * * * *" in body["message"]
    assert body["details"][0]["path"] == "document: automations.fast.when.schedules[0]"
    assert "InvalidScheduleError" in body["details"][0]["message"]
    ws = (await stack.import_workspace(workspace_doc({"tick": TICK})))["id"]
    patched = await stack.http.patch(f"/v2/workspaces/{ws}/automations/tick",
                                     json={**TICK, "when": {"schedules": ["not a cron"]}}, headers=stack.auth)
    assert patched.status_code == 400 and patched.json()["error"] == "InvalidWorkspaceError"
    assert "not a cron" in patched.json()["message"]
    assert set(await registered(stack, ws)) == {schedule_id(ws, "", "tick", CRON)}  # unchanged


async def test_editing_the_cron_replaces_the_schedule_and_disabling_removes_it(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({"tick": TICK})))["id"]
    old = schedule_id(ws, "", "tick", CRON)
    new_cron = "0 */2 * * *"
    response = await stack.http.patch(f"/v2/workspaces/{ws}/automations/tick",
                                      json={**TICK, "when": {"schedules": [new_cron, "30 1 * * *"]}},
                                      headers=stack.auth)
    assert response.status_code == 200, response.text
    wanted = {schedule_id(ws, "", "tick", new_cron), schedule_id(ws, "", "tick", "30 1 * * *")}
    assert set(await registered(stack, ws)) == wanted
    assert not await exists(stack, old)
    assert all([await exists(stack, sid) for sid in wanted])
    # Re-saving the same definition changes nothing (no duplicate).
    await stack.services.schedules.reconcile(ws)
    assert set(await registered(stack, ws)) == wanted
    response = await stack.http.patch(f"/v2/workspaces/{ws}/automations/tick",
                                      json={**TICK, "disabled": True}, headers=stack.auth)
    assert response.status_code == 200, response.text
    assert await registered(stack, ws) == {}
    assert not any([await exists(stack, sid) for sid in wanted])


async def test_app_instance_schedules_nested_and_private_follow_install_and_uninstall(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    suffix = uuid.uuid4().hex[:6]
    inner, outer = f"inner{suffix}", f"outer{suffix}"
    await stack.services.apps.publish_document(inner, {
        "name": "Inner", "automations": {
            "hidden": {"name": "hidden", "private": True, "when": {"schedules": ["0 3 * * *"]}, "do": []}}})
    await stack.services.apps.publish_document(outer, {
        "name": "Outer", "imports": {"deep": {"appSlug": inner}}, "automations": {
            "report": {"name": "report", "when": {"schedules": ["0 * * * *"]}, "do": [], "output": "ok"},
            "off": {"name": "off", "disabled": True, "when": {"schedules": ["0 * * * *"]}, "do": []}}})
    ws = (await stack.import_workspace(workspace_doc({"tick": TICK})))["id"]
    installed = await stack.http.post(f"/v2/workspaces/{ws}/apps", json={"appSlug": outer, "slug": "out"},
                                      headers=stack.auth)
    assert installed.status_code == 200, installed.text
    wanted = {schedule_id(ws, "", "tick", CRON), schedule_id(ws, "out", "report", "0 * * * *"),
              schedule_id(ws, "out.deep", "hidden", "0 3 * * *")}
    assert set(await registered(stack, ws)) == wanted
    # The nested private one fires inside its app instance.
    await stack.services.client.get_schedule_handle(schedule_id(ws, "out.deep", "hidden", "0 3 * * *")).trigger()
    executed = await wait_events(stack, ws, "runtime.automations.executed")
    assert executed and executed[0]["source"]["appInstanceFullSlug"] == "out.deep", executed
    interaction = await wait_events(stack, ws, "runtime.interactions.triggered")
    assert interaction[0]["payload"]["trigger"] == {"type": "schedule", "value": "0 3 * * *",
                                                    "appInstanceSlug": "out.deep"}
    removed = await stack.http.delete(f"/v2/workspaces/{ws}/apps/out", headers=stack.auth)
    assert removed.status_code == 200, removed.text
    assert set(await registered(stack, ws)) == {schedule_id(ws, "", "tick", CRON)}
    for sid in wanted - {schedule_id(ws, "", "tick", CRON)}:
        assert not await exists(stack, sid)


async def test_deleting_the_workspace_removes_schedules_and_stops_waits(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    waiter = {"name": "waiter", "when": {"endpoint": True},
              "do": [{"wait": {"oneOf": [{"event": "never"}], "timeout": 120}}]}
    ws = (await stack.import_workspace(workspace_doc({"tick": TICK, "waiter": waiter})))["id"]
    sid = schedule_id(ws, "", "tick", CRON)
    run = asyncio.create_task(stack.http.post(f"/v2/workspaces/{ws}/webhooks/waiter", json={}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with stack.services.db.session() as session:
            pending = (await session.exec(select(Wait).where(Wait.workspace_id == ws))).all()
        if pending:
            break
        await asyncio.sleep(0.05)
    assert pending and pending[0].status == "pending"
    deleted = await stack.http.delete(f"/v2/workspaces/{ws}", headers=stack.auth)
    assert deleted.status_code == 200
    assert await registered(stack, ws) == {} and not await exists(stack, sid)
    response = await asyncio.wait_for(run, 15)  # the parked run was stopped, not left for 120 s
    assert response.status_code >= 400
    async with stack.services.db.session() as session:
        statuses = {w.status for w in (await session.exec(select(Wait).where(Wait.workspace_id == ws))).all()}
    assert statuses == {"cancelled"}
    # Refused afterwards, and its events stay readable by the superadmin.
    assert (await stack.http.post(f"/v2/workspaces/{ws}/webhooks/waiter", json={})).status_code == 404
    assert (await stack.http.get(f"/v2/workspaces/{ws}/events", headers=stack.auth)).status_code == 404
    kept = await wait_events(stack, ws, "workspaces.deleted")
    assert kept and kept[0]["payload"]["workspaceId"] == ws


async def test_worker_start_reconciles_and_sweeps_leftovers(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    service = stack.services.schedules
    ws = (await stack.import_workspace(workspace_doc({"tick": TICK})))["id"]
    sid = schedule_id(ws, "", "tick", CRON)
    # A schedule lost in Temporal is re-created; one nothing registers is swept.
    await stack.services.client.get_schedule_handle(sid).delete()
    leftover = f"sched/{ws}/_/gone/0123456789"
    await stack.services.client.create_schedule(
        leftover, Schedule(action=ScheduleActionStartWorkflow("ScheduledRunWorkflow", {}, id="x",
                                                              task_queue=service.task_queue),
                           spec=ScheduleSpec(cron_expressions=["0 0 1 1 *"])),
        memo={"taskQueue": service.task_queue})
    counts = await service.reconcile_all()
    assert counts["swept"] >= 1
    assert await exists(stack, sid) and not await exists(stack, leftover)

