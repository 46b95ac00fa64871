"""Hostile `all` trees end with a clear error, quickly, and leave the worker healthy: branches
pause together at every activation yield (so many parallel branches never keep one activation
past Temporal's deadlock detector), the first failing branch stops its siblings, and a run holds
at most MAX_PARALLEL_BRANCHES branches at once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.helpers import workspace_doc
from tests.stack import Stack, open_stack
from workflows.interpreter.instructions import MAX_PARALLEL_BRANCHES


def _tree(depth: int) -> dict[str, Any]:
    """Nested `all`s doubling at each level: 2**depth leaves."""
    return {"all": [_tree(depth - 1), _tree(depth - 1)]} if depth else {"set": {"name": "n", "value": 1}}


SET = {"set": {"name": "n", "value": "{{item}}"}}
AUTOMATIONS = {
    # 4 parallel branches of 30,000 steps: past the 100,000-step budget, in parallel.
    "busy": {"name": "busy", "when": {"endpoint": True},
             "do": [{"all": [{"repeat": {"on": 30_000, "do": [SET]}}] * 4}]},
    "wide": {"name": "wide", "when": {"endpoint": True},
             "do": [{"repeat": {"on": 3, "do": [{"all": [SET] * 400}]}}], "output": "{{n}}"},
    "tooWide": {"name": "tooWide", "when": {"endpoint": True},
                "do": [{"all": [{"set": {"name": "n", "value": 1}}] * (MAX_PARALLEL_BRANCHES + 1)}]},
    "deep": {"name": "deep", "when": {"endpoint": True}, "do": [_tree(11)]},
    "failing": {"name": "failing", "when": {"endpoint": True},
                "do": [{"all": [{"repeat": {"on": 90_000, "do": [SET]}}, {"missing.automation": {}}]}]},
    "hello": {"name": "hello", "when": {"endpoint": True}, "do": [], "output": "hi"},
}


@pytest.fixture(scope="module")
async def unthrottled(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Rate limits off: `repeat` iterations are otherwise throttled to 1,000/s, which would hide
    how fast a run reaches its step budget."""
    path = Path(tmp_path_factory.mktemp("parallel")) / "parallel.db"
    async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite", rate_limit_disabled=True) as stack:
        yield stack


async def test_parallel_trees_end_with_clear_errors(unthrottled: Stack) -> None:
    stack = unthrottled
    ws = (await stack.import_workspace(workspace_doc(AUTOMATIONS)))["id"]
    url = f"/v2/workspaces/{ws}/webhooks"

    async def call(name: str) -> tuple[int, Any, float]:
        started = time.perf_counter()
        response = await stack.http.post(f"{url}/{name}", json={})
        return response.status_code, response.json(), time.perf_counter() - started

    status, body, seconds = await call("busy")
    assert status == 400 and body["error"] == "StepBudgetExceededError", body
    assert seconds < 30, seconds
    status, body, _ = await call("wide")  # 400 branches at a time is fine
    assert status == 200 and body == 2, body
    for name in ("tooWide", "deep"):
        status, body, _ = await call(name)
        assert status == 400 and body["error"] == "TooManyBranchesError", (name, body)
        assert str(MAX_PARALLEL_BRANCHES) in body["message"]
    # The failing branch stops its sibling long before its 90,000 steps.
    status, body, seconds = await call("failing")
    assert status == 404 and body["error"] == "ObjectNotFoundError", body
    assert seconds < 5, seconds
    status, body, _ = await call("hello")
    assert (status, body) == (200, "hi")  # the worker is healthy
