"""Idempotent webhooks: an ``Idempotency-Key`` retry returns the first run's result (issue 8)."""

from __future__ import annotations

import uuid

from core.runs.launcher import idempotent_workflow_id
from tests.api.helpers import workspace_doc
from tests.stack import Stack

AUTOMATIONS = {
    "count": {"name": "count", "when": {"endpoint": True},
              "do": [{"set": {"name": "$http", "value": {"status": 202, "headers": {"x-run": "{{run.correlationId}}"}}}}],
              "output": {"got": "{{body.n}}", "correlation": "{{run.correlationId}}"}},
    "fails": {"name": "fails", "when": {"endpoint": True}, "do": [{"ghost": {}}]},
}


async def _executed(stack: Stack, ws: str, slug: str) -> int:
    events = await stack.events(ws, types="runtime.automations.executed", limit=100)
    return sum(1 for e in events if e["payload"].get("slug", e["source"].get("automationSlug")) == slug)


async def test_same_key_runs_once_and_returns_the_first_result(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = str((await stack.import_workspace(workspace_doc(AUTOMATIONS)))["id"])
    url = f"/v2/workspaces/{ws}/webhooks/count"
    key = {"idempotency-key": f"order-{uuid.uuid4()}"}
    first = await stack.http.post(url, json={"n": 1}, headers=key)
    again = await stack.http.post(url, json={"n": 2}, headers=key)  # a provider retry (even a changed body)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json() == first.json() and first.json()["got"] == 1
    assert again.headers["x-run"] == first.headers["x-run"]
    assert await _executed(stack, ws, "count") == 1
    other = await stack.http.post(url, json={"n": 3}, headers={"idempotency-key": f"other-{uuid.uuid4()}"})
    assert other.status_code == 202 and other.json()["got"] == 3
    assert other.json()["correlation"] != first.json()["correlation"]
    plain = await stack.http.post(url, json={"n": 4})  # no key: every call runs
    assert plain.json()["got"] == 4
    assert await _executed(stack, ws, "count") == 3
    executed = await stack.events(ws, types="runtime.automations.executed", limit=100)
    ids = {e["source"]["workflowId"] for e in executed}
    assert idempotent_workflow_id(ws, "count", key["idempotency-key"]) in ids


async def test_failed_first_run_returns_the_same_error(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = str((await stack.import_workspace(workspace_doc(AUTOMATIONS)))["id"])
    url = f"/v2/workspaces/{ws}/webhooks/fails"
    key = {"idempotency-key": "same"}
    first = await stack.http.post(url, json={}, headers=key)
    again = await stack.http.post(url, json={}, headers=key)
    assert first.status_code == again.status_code == 404
    assert first.json()["error"] == "ObjectNotFoundError" and again.json() == first.json()
    errors = await stack.events(ws, types="error")
    assert len(errors) == 1  # the retry did not run the automation again


def test_workflow_id_is_derived_from_workspace_endpoint_and_key() -> None:
    one = idempotent_workflow_id("w1", "hook", "k")
    assert one.startswith("idem/w1/hook/") and len(one.rsplit("/", 1)[1]) == 32
    assert one == idempotent_workflow_id("w1", "hook", "k")
    assert len({one, idempotent_workflow_id("w2", "hook", "k"), idempotent_workflow_id("w1", "hook2", "k"),
                idempotent_workflow_id("w1", "hook", "k2")}) == 4
