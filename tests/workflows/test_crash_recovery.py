"""Failure drills with a real worker process: SIGKILL mid-dispatch and during a wait."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.composition import build_services
from core.events.store import query_events
from core.infra.db import Database, migrate_async
from core.infra.settings import Settings
from core.infra.temporal import connect
from core.runs.triggers import send_events, trigger_webhook
from core.services import Services
from schemas.dsul import WorkspaceSource
from tests.drills.helpers import WorkerProcess
from tests.stack import TEST_SECRETS_KEY

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def external_worker_services(client: Client, tmp: Path) -> AsyncIterator[tuple[Services, WorkerProcess]]:
    url = f"sqlite:///{tmp / 'crash.db'}"
    await migrate_async(url)
    db = Database(url)
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    services = build_services(Settings(database_url=url), db, client, admin_token="x", task_queue=queue)
    worker = WorkerProcess(client.service_client.config.target_host, url, queue, tmp / "worker.log")
    try:
        yield services, worker
    finally:
        worker.stop()
        await db.dispose()


async def _executed(services: Services, ws: str) -> list[dict[str, Any]]:
    async with services.db.session() as session:
        return await query_events(session, ws, types=["runtime.automations.executed"], limit=1000)


async def _wait_until(predicate: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


async def test_listeners_run_exactly_once_when_the_worker_is_killed_mid_dispatch(
        temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with external_worker_services(temporal_env.client, tmp_path) as (services, worker):
        listener = {"when": {"events": ["tick"]}, "do": [{"set": {"name": "x", "value": "{{payload.n}}"}}],
                    "output": "{{x}}"}
        doc = {"name": "Crash", "slug": f"crash-{uuid.uuid4().hex[:6]}",
               "automations": {f"l{i}": {"name": f"l{i}", **listener} for i in range(3)}}
        ws = (await services.workspaces.create(WorkspaceSource.from_document(doc))).id
        worker.start()
        for n in range(20):
            await send_events(services, ws, [{"type": "tick", "payload": {"n": n}}])
        async def started() -> bool:
            return len(await _executed(services, ws)) >= 1

        await _wait_until(started, 30)  # the worker is busy dispatching: kill it now
        worker.kill()
        done_at_kill = len(await _executed(services, ws))
        assert done_at_kill < 60, "the drill must interrupt the dispatch"
        worker.start()

        async def all_done() -> bool:
            return len(await _executed(services, ws)) >= 60

        await _wait_until(all_done, 75)
        await asyncio.sleep(1.0)  # anything duplicated would show up now
        executed = await _executed(services, ws)
        runs = Counter((e["payload"]["trigger"]["id"], e["payload"]["slug"]) for e in executed)
        assert len(runs) == 60 and set(runs.values()) == {1}


async def test_a_wait_survives_a_worker_restart(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with external_worker_services(temporal_env.client, tmp_path) as (services, worker):
        doc = {"name": "Waiter", "slug": f"wait-{uuid.uuid4().hex[:6]}", "automations": {
            "asker": {"name": "asker", "when": {"endpoint": True},
                      "do": [{"wait": {"oneOf": [{"event": "reply"}], "timeout": 120, "output": "r"}}],
                      "output": "{{r.payload.answer}}"}}}
        ws = (await services.workspaces.create(WorkspaceSource.from_document(doc))).id
        worker.start()
        run = asyncio.create_task(trigger_webhook(services, ws, "asker", method="POST", headers={}, query={},
                                                  body={}))

        async def pending() -> bool:
            async with services.db.session() as session:
                return bool(await query_events(session, ws, types=["runtime.waits.pending"]))

        await _wait_until(pending, 30)
        worker.kill()
        worker.start()
        await send_events(services, ws, [{"type": "reply", "payload": {"answer": 42}}])
        outcome = await asyncio.wait_for(run, 75)
        assert outcome.output == 42


async def test_events_are_refused_with_503_when_temporal_is_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    await migrate_async(url)
    db = Database(url)
    client = await connect("127.0.0.1:1", secrets_key=TEST_SECRETS_KEY, lazy=True)
    services = build_services(Settings(database_url=url), db, client, admin_token="t", task_queue="none")
    doc = {"name": "Down", "slug": "down", "automations": {
        "hook": {"name": "hook", "when": {"endpoint": True, "events": ["e"]}, "do": []}}}
    ws = (await services.workspaces.create(WorkspaceSource.from_document(doc))).id
    from httpx import ASGITransport, AsyncClient

    from api.app import create_app

    async with AsyncClient(transport=ASGITransport(app=create_app(services)), base_url="http://t") as http:
        auth = {"authorization": "Bearer t"}
        sent = await http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "e"}]}, headers=auth)
        hook = await http.post(f"/v2/workspaces/{ws}/webhooks/hook", json={})
    assert sent.status_code == 503 and sent.json()["error"] == "ServiceUnavailableError"
    assert hook.status_code == 503
    async with db.session() as session:
        assert [e["type"] for e in await query_events(session, ws)] == ["workspaces.created"]
    await db.dispose()
