"""Drill: SIGKILL the worker in the middle of N concurrent runs (inside repeat, fan-out and
wait), start a new one: every run completes exactly once, every expected event exists
exactly once, no trigger runs twice. Reduced: 20 runs; full: 100."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.runs.triggers import send_events
from schemas.dsul import WorkspaceSource
from tests.drills.helpers import events_of, figure, scale, wait_until, worker_services

LISTENERS = 3


def drill_workspace() -> dict[str, object]:
    listener = {"when": {"events": ["fanned"]}, "do": [{"set": {"name": "x", "value": "{{payload.n}}"}}],
                "output": "{{x}}"}
    runner = {"name": "runner", "when": {"events": ["start"]}, "do": [
        {"repeat": {"on": 30, "do": [{"set": {"name": "i", "value": "{{item}}"}}]}},
        {"emit": {"event": "fanned", "payload": {"n": "{{payload.n}}"}}},
        {"wait": {"oneOf": [{"event": "go"}], "timeout": 300, "output": "r"}},
    ], "output": {"n": "{{payload.n}}", "go": "{{r.payload.ok}}"}}
    return {"name": "Kill drill", "slug": f"kill-{uuid.uuid4().hex[:6]}",
            "automations": {"runner": runner, **{f"l{i}": {"name": f"l{i}", **listener} for i in range(LISTENERS)}}}


async def test_worker_sigkill_mid_runs(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    runs = scale(20, 100)
    async with worker_services(temporal_env.client, tmp_path) as (services, worker):
        ws = (await services.workspaces.create(WorkspaceSource.from_document(drill_workspace()))).id
        worker.start()
        await asyncio.gather(*(send_events(services, ws, [{"type": "start", "payload": {"n": n}}])
                               for n in range(runs)))

        async def pending_at_least(count: int) -> bool:
            return len({e["id"] for e in await events_of(services, ws, "runtime.waits.pending")}) >= count

        await wait_until(lambda: pending_at_least(max(1, runs // 3)), 90, "a third of the runs waiting")
        worker.kill()  # some runs are waiting, others are in repeat or fanning out
        parked = len({e["id"] for e in await events_of(services, ws, "runtime.waits.pending")})
        listened = len(await events_of(services, ws, "runtime.automations.executed"))
        assert parked < runs or listened < runs * LISTENERS, "the kill must interrupt the drill"
        worker.start()
        await wait_until(lambda: pending_at_least(runs), 120, "every run waiting")
        await send_events(services, ws, [{"type": "go", "payload": {"ok": True}}])

        async def all_done() -> bool:
            return len(await events_of(services, ws, "runtime.automations.executed")) >= runs * (1 + LISTENERS)

        await wait_until(all_done, 120, "every run and listener done")
        await asyncio.sleep(2.0)  # anything duplicated would show up now
        executed = await events_of(services, ws, "runtime.automations.executed")
        per_trigger = Counter((e["payload"]["trigger"].get("id"), e["payload"]["slug"]) for e in executed)
        runners = [e for e in executed if e["payload"]["slug"] == "runner"]
        fanned = await events_of(services, ws, "fanned")
        outputs = sorted(e["payload"].get("output", {}).get("n") for e in runners)
        twice = sum(1 for v in per_trigger.values() if v > 1)
        figure("worker SIGKILL", f"runs {len(runners)}/{runs} exactly once, listener runs "
               f"{len(executed) - len(runners)}/{runs * LISTENERS}, fan-out events {len(fanned)}/{runs}, "
               f"triggers run twice {twice} (killed with {parked} runs parked in wait)")
        assert twice == 0 and len(per_trigger) == runs * (1 + LISTENERS)
        assert len(fanned) == runs and len({e["id"] for e in fanned}) == runs
        assert outputs == list(range(runs)), outputs
        assert all(e["payload"]["output"]["go"] is True for e in runners)
