"""WEBHOOK_TIMEOUT_SECONDS bounds how long a webhook caller waits: past it the caller gets 504
WebhookTimeoutError naming the run's workflow id (plain, idempotent retry, SSE before and after
the first chunk), and the run itself goes on to its end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.api.helpers import workspace_doc
from tests.api.test_events_read import StreamingASGITransport
from tests.stack import Stack, open_stack

WAIT = {"wait": {"oneOf": [{"event": "never.sent"}], "timeout": 3}}
AUTOMATIONS = {
    "slow": {"name": "slow", "when": {"endpoint": True}, "do": [WAIT], "output": "late"},
    "slowStream": {"name": "slowStream", "when": {"endpoint": True},
                   "do": [WAIT, {"set": {"name": "$http.chunk", "value": 1}}], "output": "late"},
    "chunkThenSlow": {"name": "chunkThenSlow", "when": {"endpoint": True},
                      "do": [{"set": {"name": "$http.chunk", "value": {"n": 1}}}, WAIT], "output": "late"},
    "quick": {"name": "quick", "when": {"endpoint": True}, "do": [], "output": "hi"},
}


@pytest.fixture(scope="module")
async def short_timeout(temporal_env: WorkflowEnvironment,
                        tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("timeout")) / "timeout.db"
    async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite", webhook_timeout_seconds=1) as stack:
        yield stack


def _timed_out(response: httpx.Response, ws: str, slug: str) -> str:
    """The workflow id named by a 504 WebhookTimeoutError answer."""
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["error"] == "WebhookTimeoutError", body
    workflow_id: str = body["details"]["workflowId"]
    assert workflow_id in body["message"] and "WEBHOOK_TIMEOUT_SECONDS" in body["message"], body
    return workflow_id


async def _goes_on_to_its_end(stack: Stack, workflow_id: str) -> None:
    handle = stack.services.client.get_workflow_handle(workflow_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # not cancelled by the 504
    assert (await handle.result())["output"] == "late"


async def test_plain_and_idempotent_callers_get_504_and_the_run_goes_on(short_timeout: Stack) -> None:
    stack = short_timeout
    ws = (await stack.import_workspace(workspace_doc(AUTOMATIONS)))["id"]
    hook = f"/v2/workspaces/{ws}/webhooks"
    workflow_id = _timed_out(await stack.http.post(f"{hook}/slow", json={}), ws, "slow")
    assert workflow_id.startswith(f"{ws}/slow/")
    await _goes_on_to_its_end(stack, workflow_id)

    key = {"idempotency-key": "order-42"}
    first = _timed_out(await stack.http.post(f"{hook}/slow", json={}, headers=key), ws, "slow")
    retry = _timed_out(await stack.http.post(f"{hook}/slow", json={}, headers=key), ws, "slow")
    assert retry == first  # the retry waits for the same run, bounded the same way
    await _goes_on_to_its_end(stack, first)
    done = await stack.http.post(f"{hook}/slow", json={}, headers=key)
    assert (done.status_code, done.json()) == (200, "late")  # a retry after the end gets the result
    quick = await stack.http.post(f"{hook}/quick", json={})
    assert (quick.status_code, quick.json()) == (200, "hi")


async def test_streamed_callers_are_bounded_too(short_timeout: Stack) -> None:
    stack = short_timeout
    ws = (await stack.import_workspace(workspace_doc(AUTOMATIONS)))["id"]
    hook = f"/v2/workspaces/{ws}/webhooks"
    # No chunk yet when the deadline passes: a plain 504.
    workflow_id = _timed_out(await stack.http.post(f"{hook}/slowStream", json={}), ws, "slowStream")
    await _goes_on_to_its_end(stack, workflow_id)

    # After a first chunk, the stream ends with the timeout error as its last event.
    transport = StreamingASGITransport(create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=30) as client:
        async with client.stream("POST", f"{hook}/chunkThenSlow", json={}) as response:
            assert response.status_code == 200
            text = (await response.aread()).decode()
    events: list[Any] = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert events[0] == {"n": 1}, events
    assert events[-1]["error"] == "WebhookTimeoutError", events
    await _goes_on_to_its_end(stack, events[-1]["details"]["workflowId"])
