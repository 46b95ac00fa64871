"""Drill (issue 22): under a steady webhook load spread over 2 api processes, SIGKILL one worker
and then one api process, start each again. A client whose request fails (its api process died)
retries it on the other api process with the same Idempotency-Key, as a webhook provider does.
Counted at the end: requests acknowledged, runs (GET …/runs, the runs table of issue 19), events
and listener runs — 0 acknowledged lost, 0 duplicated. Full drill only (``make drills``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.runs.launcher import idempotent_workflow_id
from tests.drills.helpers import FULL, figure, scale, wait_until
from tests.drills.multiprocess import Cluster, PostgresSchema, cluster

pytestmark = pytest.mark.skipif(not FULL, reason="full drill (make drills)")
LISTENERS = 3
CLIENTS = 4  # concurrent callers of the load


def drill_workspace() -> dict[str, Any]:
    order = {"name": "order", "when": {"endpoint": True},
             "do": [{"emit": {"event": "order.placed", "payload": {"n": "{{body.n}}"}}}], "output": {"n": "{{body.n}}"}}
    listener = {"when": {"events": ["order.placed"]}, "do": [], "output": "{{payload.n}}"}
    return {"name": "Fault drill", "slug": f"faults-{uuid.uuid4().hex[:6]}",
            "automations": {"order": order, **{f"l{i}": {"name": f"l{i}", **listener} for i in range(LISTENERS)}}}


@pytest.fixture(scope="module")
async def shape(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    schema = PostgresSchema()
    url = schema.create()
    if url is None:
        pytest.skip(f"PostgreSQL unreachable at {schema.base}")
    try:
        # The load, not the workspace rate limits, is what this drill is about.
        async with cluster(temporal_env.client.service_client.config.target_host, url,
                           Path(tmp_path_factory.mktemp("faults")), RATE_LIMIT_DISABLED="true") as made:
            yield made
    finally:
        schema.drop()


@dataclass
class Load:
    """Webhook calls numbered 0, 1, 2…, alternating between the api processes."""

    shape: Cluster
    ws: str
    sent: int = 0
    acknowledged: dict[int, dict[str, Any]] = field(default_factory=dict)
    retried: int = 0  # calls that failed on one process and were sent again (same key)
    unanswered: list[int] = field(default_factory=list)
    stop: bool = False

    async def call(self, n: int) -> None:
        key = {"idempotency-key": f"load-{n}"}
        deadline = time.monotonic() + 120
        attempt = 0
        while time.monotonic() < deadline:
            try:
                answer = await self.shape.client(n + attempt).post(f"/v2/workspaces/{self.ws}/webhooks/order",
                                                                   json={"n": n}, headers=key)
                if answer.status_code == 200:
                    assert answer.json() == {"n": n}, answer.text
                    self.acknowledged[n] = answer.json()
                    return
            except httpx.TransportError:
                pass  # the process died under the call (or is not up yet)
            attempt += 1
            self.retried += 1
            await asyncio.sleep(0.2)
        self.unanswered.append(n)

    async def caller(self) -> None:
        while not self.stop:
            n = self.sent
            self.sent += 1
            await self.call(n)


async def test_kill_a_worker_and_an_api_process_under_load(shape: Cluster) -> None:
    ws = await shape.import_workspace(drill_workspace())
    load = Load(shape, ws)
    callers = [asyncio.create_task(load.caller()) for _ in range(CLIENTS)]
    seconds = scale(20, 30)
    started = time.monotonic()
    kills: list[str] = []
    for victim in (shape.workers[0], shape.apis[1]):
        await asyncio.sleep(seconds / 4)
        before = len(load.acknowledged)
        victim.kill()
        kills.append(f"{victim.name} at {time.monotonic() - started:.0f} s ({before} acknowledged)")
        await asyncio.sleep(2.0)
        await shape.restart(victim)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    load.stop = True
    await asyncio.gather(*callers)
    elapsed = time.monotonic() - started
    acked = set(load.acknowledged)

    async def settled() -> bool:
        executed = await shape.events(ws, "runtime.automations.executed")
        return len(executed) >= load.sent * (1 + LISTENERS)

    await wait_until(settled, 120, "every run and listener run finished")
    await asyncio.sleep(3.0)  # a duplicate would be written by now
    runs = await shape.runs(ws, via=1, automation="order")
    workflow_of = {idempotent_workflow_id(ws, "order", f"load-{n}"): n for n in range(load.sent)}
    run_count = Counter(workflow_of.get(r["workflowId"], -1) for r in runs)
    placed = Counter(e["payload"]["n"] for e in await shape.events(ws, "order.placed"))
    executed = await shape.events(ws, "runtime.automations.executed", via=1)
    listened = Counter((e["payload"]["slug"], e["payload"]["output"]) for e in executed
                       if e["payload"]["slug"] != "order")
    listener_keys = {(f"l{i}", n) for i in range(LISTENERS) for n in acked}
    lost = {"runs": len(acked - set(run_count)), "events": len(acked - set(placed)),
            "listener runs": len(listener_keys - set(listened))}
    duplicated = {"runs": sum(c - 1 for c in run_count.values()), "events": sum(c - 1 for c in placed.values()),
                  "listener runs": sum(c - 1 for c in listened.values())}
    statuses = Counter(r["status"] for r in runs)
    figure("many processes under faults", f"{load.sent} requests in {elapsed:.0f} s "
           f"({load.sent / elapsed:.1f}/s, {CLIENTS} clients over 2 api processes), {len(acked)} acknowledged, "
           f"{load.retried} retried on the other api, {len(load.unanswered)} never answered; "
           f"runs {sum(run_count.values())} ({dict(statuses)}), events {sum(placed.values())}, listener runs "
           f"{sum(listened.values())}/{len(acked) * LISTENERS}; lost {lost}, duplicated {duplicated}; "
           f"killed -9: {', '.join(kills)}")
    assert not load.unanswered and -1 not in run_count
    assert all(v == 0 for v in lost.values()) and all(v == 0 for v in duplicated.values()), (lost, duplicated)
    assert statuses == Counter({"succeeded": load.sent}), statuses
