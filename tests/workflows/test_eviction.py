"""More runs parked in `wait` than the worker caches: the evicted ones unwind cleanly (no
cancellation handler runs for them, nothing is left waiting, no eviction is retried) and each
resumes from its history when its event comes (workflows/eviction.py, issue 22)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from core.infra.tables import Wait
from tests.api.helpers import workspace_doc
from tests.stack import Stack, open_stack

CACHE = 3
PARKED = 8
PARKER = {"name": "parker", "when": {"events": ["park"]}, "do": [
    {"try": {"do": [{"wait": {"oneOf": [{"event": "resume"}], "timeout": 600, "output": "got"}}],
             "finally": [{"emit": {"event": "parked.done", "payload": {"n": "{{payload.n}}"}}}]}}],
    "output": "{{payload.n}}"}


async def _until(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return value


async def _pending_waits(stack: Stack, ws: str) -> int:
    async with stack.services.db.session() as session:
        statement = select(func.count()).select_from(Wait).where(Wait.workspace_id == ws, Wait.status == "pending")
        return int((await session.execute(statement)).scalar() or 0)


# Both runners: `tideway run` and `tideway worker` run workflow code unsandboxed by default.
@pytest.mark.parametrize("sandboxed", [False, True], ids=["unsandboxed", "sandboxed"])
async def test_runs_parked_past_the_cache_are_evicted_and_resume(temporal_env: WorkflowEnvironment,
                                                                 tmp_path: Path, sandboxed: bool) -> None:
    async with open_stack(temporal_env.client, f"sqlite:///{tmp_path / 'evict.db'}", "sqlite",
                          rate_limit_disabled=True, worker_max_cached_workflows=CACHE,
                          tideway_workflow_sandbox=sandboxed) as stack:
        ws = (await stack.import_workspace(workspace_doc({"parker": PARKER})))["id"]
        sent = await stack.http.post(f"/v2/workspaces/{ws}/events", headers=stack.auth, json={
            "events": [{"type": "park", "payload": {"n": n}} for n in range(PARKED)]})
        assert sent.status_code == 200, sent.text
        await _until("every run parked", lambda: _count_is(_pending_waits(stack, ws), PARKED))
        workflows = stack.worker._workflow_worker
        assert workflows is not None
        await asyncio.sleep(1.0)  # evictions run as their jobs arrive
        # Evicted runs left nothing behind: no eviction failed (the SDK would retry it for ever,
        # keeping the run's memory and a task slot), and the cache holds at most CACHE runs.
        assert workflows._could_not_evict_count == 0
        assert len(workflows._running_workflows) <= CACHE
        # The eviction ran no cancellation handler: no `finally` emitted, no wait was cancelled.
        assert not await stack.events(ws, types="parked.done")
        assert await _pending_waits(stack, ws) == PARKED

        resumed = await stack.http.post(f"/v2/workspaces/{ws}/events", headers=stack.auth,
                                        json={"events": [{"type": "resume"}]})
        assert resumed.status_code == 200, resumed.text
        done = await _until("every run's finally", lambda: _at_least(stack.events(ws, types="parked.done"), PARKED))
        assert sorted(event["payload"].get("n", -1) for event in done) == list(range(PARKED)), done
        ended = await _until("every run's end", lambda: _at_least(
            stack.events(ws, types="runtime.automations.executed"), PARKED))
        assert sorted(event["payload"].get("output", -1) for event in ended) == list(range(PARKED)), ended[:2]
        assert workflows._could_not_evict_count == 0


async def _count_is(count: Any, wanted: int) -> bool:
    return bool(await count == wanted)


async def _at_least(events: Any, wanted: int) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await events
    return found if len(found) >= wanted else None
