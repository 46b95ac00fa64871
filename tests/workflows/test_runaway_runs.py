"""Runs that could never end on their own: an `all` whose branches call their own automation
fails promptly with a clear error (it used to leave orphan branches issuing commands after the
workflow had failed, so Temporal refused the task and the run stayed `Running`, retried every
10 s), and a webhook caller never waits longer than WEBHOOK_TIMEOUT_SECONDS."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from tests.api.helpers import workspace_doc
from tests.stack import Stack

SELF_FANOUT = {
    # Each call fans out twice more: past the parallel-branch limit long before the call depth.
    "selfall": {"name": "selfall", "when": {"endpoint": True},
                "do": [{"all": [{"selfall": {}}, {"selfall": {}}, {"emit": {"event": "x"}}]}]},
    # One recursive call per level, through `all`: the call depth limit.
    "selfchain": {"name": "selfchain", "when": {"endpoint": True},
                  "do": [{"all": [{"selfchain": {}}, {"emit": {"event": "x"}}]}]},
    "hello": {"name": "hello", "when": {"endpoint": True}, "do": [], "output": "hi"},
}


async def _closed_status(stack: Stack, ws: str, slug: str) -> list[WorkflowExecutionStatus | None]:
    client = stack.services.client
    statuses = []
    async for execution in client.list_workflows(f'WorkflowId STARTS_WITH "{ws}/{slug}/"'):
        statuses.append((await client.get_workflow_handle(execution.id).describe()).status)
    return statuses


async def test_all_calling_its_own_automation_fails_promptly(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc(SELF_FANOUT)))["id"]

    async def call(route: str) -> tuple[int, Any]:
        # Before the fix this never answered: 30 s is far above the run's real duration.
        response = await asyncio.wait_for(stack.http.post(route, json={}, headers=stack.auth), 30)
        return response.status_code, response.json()

    for route in (f"/v2/workspaces/{ws}/webhooks/selfall", f"/v2/workspaces/{ws}/test/selfall"):
        status, body = await call(route)
        assert status == 400 and body["error"] == "TooManyBranchesError", (route, body)
    for route in (f"/v2/workspaces/{ws}/webhooks/selfchain", f"/v2/workspaces/{ws}/test/selfchain"):
        status, body = await call(route)
        assert status == 400 and body["error"] == "TooManyCallError", (route, body)
        assert body["details"]["limit"] == stack.services.settings.run.max_call_depth

    # The error is recorded as an event, and the runs are closed as failed (not retrying a task).
    errors = await stack.events(ws, types="error")
    assert {e["payload"]["error"] for e in errors} == {"TooManyBranchesError", "TooManyCallError"}, errors
    assert await _closed_status(stack, ws, "selfall") == [WorkflowExecutionStatus.FAILED] * 2  # webhook and /test
    assert await _closed_status(stack, ws, "selfchain") == [WorkflowExecutionStatus.FAILED] * 2  # webhook and /test
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/hello", json={})
    assert (response.status_code, response.json()) == (200, "hi")
