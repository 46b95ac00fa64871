"""Run-level guarantees: pinned revisions, step budget and yields, large values by reference."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from core.runs.triggers import trigger_webhook
from tests.api.helpers import workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.stack import Stack, open_stack


class GatedServer(HttpStub):
    """Answers only once the test opens the gate, so a run stays in flight."""

    def __init__(self) -> None:
        super().__init__([], app=Starlette(routes=[Route("/slow", self.slow)]))
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()

    async def slow(self, request: Request) -> JSONResponse:
        self.arrived.set()
        await self.gate.wait()
        return JSONResponse({"slow": True})


async def test_an_edit_never_changes_a_run_in_flight(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    async with GatedServer() as server:
        doc = workspace_doc({
            "start": {"name": "start", "when": {"endpoint": True},
                      "do": [{"fetch": {"url": f"{server.url}/slow", "output": "r"}}, {"child": {"output": "c"}}],
                      "output": "{{c}}"},
            "child": {"name": "child", "do": [], "output": "old"},
        })
        ws = await stack.import_workspace(doc)
        run = asyncio.create_task(trigger_webhook(stack.services, ws["id"], "start", method="POST", headers={},
                                                  query={}, body={}))
        await asyncio.wait_for(server.arrived.wait(), 20)
        doc["automations"]["child"]["output"] = "new"
        response = await stack.http.post(f"/v2/workspaces/{ws['id']}/import", json=doc, headers=stack.auth)
        assert response.json()["changed"] is True
        server.gate.set()
        outcome = await asyncio.wait_for(run, 30)
        assert outcome.output == "old"
        fresh = await trigger_webhook(stack.services, ws["id"], "start", method="POST", headers={}, query={},
                                      body={})
        assert fresh.output == "new"


async def test_step_budget_fails_the_run_with_an_error_event(temporal_env: WorkflowEnvironment,
                                                            tmp_path: Path) -> None:
    async with open_stack(temporal_env.client, f"sqlite:///{tmp_path / 'budget.db'}", "sqlite",
                          max_steps_per_run=300, yield_every_steps=50) as stack:
        ws = await stack.import_workspace(workspace_doc({
            "loop": {"name": "loop", "when": {"endpoint": True},
                     "do": [{"repeat": {"on": 1000, "do": [{"set": {"name": "n", "value": "{{item}}"}}]}}]},
            "fine": {"name": "fine", "when": {"endpoint": True},
                     "do": [{"repeat": {"on": 200, "do": [{"set": {"name": "n", "value": "{{item}}"}}]}}],
                     "output": "{{n}}"},
        }))
        failed = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/loop", json={})
        assert failed.status_code == 400 and failed.json()["error"] == "StepBudgetExceededError"
        errors = await stack.events(ws["id"], types="error")
        assert errors[0]["payload"]["details"]["limit"] == 300
        # 200 iterations yield the activation 4 times and finish normally.
        ok = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/fine", json={})
        assert ok.json() == 199


@pytest.mark.parametrize("size", [300_000])
async def test_large_outputs_travel_by_reference(sqlite_stack: Stack, size: int) -> None:
    stack = sqlite_stack
    ws = await stack.import_workspace(workspace_doc({
        "big": {"name": "big", "when": {"endpoint": True},
                "do": [{"repeat": {"on": size // 1000, "do": [{"set": {"name": "parts[]", "value": "{{chunk}}"}}]}}],
                "output": "{{parts}}"},
        "wrap": {"name": "wrap", "when": {"endpoint": True},
                 "do": [{"set": {"name": "chunk", "value": "{{body.chunk}}"}}, {"big": {"chunk": "{{chunk}}",
                                                                                     "output": "o"}}],
                 "output": {"count": "{{o}}"}},
    }))
    chunk = "y" * 999
    call = await trigger_webhook(stack.services, ws["id"], "wrap", method="POST", headers={}, query={},
                                 body={"chunk": chunk})
    assert len(call.output["count"]) == size // 1000 and call.output["count"][0] == chunk
    # Over HTTP too: the API reads the stored output back.
    response = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/wrap", json={"chunk": chunk})
    assert response.status_code == 200 and len(response.json()["count"]) == size // 1000
