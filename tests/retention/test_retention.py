"""Retention (DECISIONS 3) on a seeded database, SQLite and PostgreSQL: exactly the right rows go,
a second run deletes nothing, batches resume after an interruption, the RetentionWorkflow runs
on its Temporal Schedule and reports in the platform feed."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from core.events.retention import (
    PLATFORM_FEED,
    RetentionPolicy,
    delete_workspace_events,
    plan_workspaces,
    run_retention,
)
from core.infra.db import Database
from core.infra.tables import Event as EventRow
from schemas.retention import RetentionInput
from schemas.schedules import RETENTION_SCHEDULE_ID
from tests.retention.seed import seed
from tests.stack import open_stack

EVENTS = EventRow.__table__  # type: ignore[attr-defined]


async def counts(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(EVENTS.c.workspace_id, func.count()).group_by(EVENTS.c.workspace_id))).all()
    return {r[0]: int(r[1]) for r in rows}


def expected_after(w: dict[str, str]) -> dict[str, int]:
    return {w["old"]: 150, w["active"]: 5, w["big"]: 120, w["recent"]: 3}


async def test_rules_delete_exactly_the_right_rows_and_a_second_run_nothing(
        retention_db: tuple[str, Database]) -> None:
    _, db = retention_db
    now = datetime.now(UTC)
    w = await seed(db, now, "r")
    before = await counts(db)
    policy = RetentionPolicy(batch_size=7)

    dry = await run_retention(db, policy, now=now, dry_run=True, full=True)
    assert await counts(db) == before  # a dry run deletes nothing and records nothing
    assert dry["expiredEvents"] == 10
    assert dry["inactiveWorkspaces"] == {"workspaces": 2, "events": 11, "ids": sorted([w["small"], w["errs"]])}
    assert dry["deletedWorkspaces"] == {"workspaces": 1, "events": 3, "ids": [w["gone"]]}
    assert dry["total"] == 24

    applied = await run_retention(db, policy, now=now)
    assert {k: applied[k] for k in ("expiredEvents", "inactiveWorkspaces", "deletedWorkspaces", "total")} == {
        k: dry[k] for k in ("expiredEvents", "inactiveWorkspaces", "deletedWorkspaces", "total")}
    after = await counts(db)
    assert after.pop(PLATFORM_FEED) == 1  # events.cleaned, in the platform feed only
    assert after == expected_after(w)

    again = await run_retention(db, policy, now=now)
    assert again["total"] == 0
    after.update({PLATFORM_FEED: 2})
    assert await counts(db) == after
    async with db.engine.connect() as conn:
        cleaned = (await conn.execute(select(EVENTS.c.type, EVENTS.c.payload)
                                      .where(EVENTS.c.workspace_id == PLATFORM_FEED)
                                      .order_by(EVENTS.c.seq))).all()
    assert [c.type for c in cleaned] == ["events.cleaned"] * 2
    assert cleaned[0].payload["total"] == 24 and cleaned[1].payload["total"] == 0


async def test_batches_resume_after_an_interruption(retention_db: tuple[str, Database]) -> None:
    _, db = retention_db
    now = datetime.now(UTC)
    w = await seed(db, now, "i")
    policy = RetentionPolicy(batch_size=2)
    plan = await plan_workspaces(db, policy, now)
    targets = sorted(plan.inactive)
    beats: list[dict[str, Any]] = []

    def crash_after_three(progress: dict[str, Any]) -> None:
        beats.append(progress)
        if len(beats) == 3:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        await delete_workspace_events(db, targets, policy, max_seq=plan.max_seq, progress=crash_after_three)
    resumed = await delete_workspace_events(db, targets, policy, max_seq=plan.max_seq, resume=beats[-1])
    assert resumed == {w["small"]: 5, w["errs"]: 6}  # counted once across the interruption
    assert w["small"] not in await counts(db) and w["errs"] not in await counts(db)


async def test_retention_workflow_on_its_schedule(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scheduled.db'}"
    async with open_stack(temporal_env.client, url, "sqlite", retention_batch_size=3) as stack:
        db = stack.services.db
        now = datetime.now(UTC)
        w = await seed(db, now, "s")
        client = stack.services.client
        dry = await client.execute_workflow("RetentionWorkflow", RetentionInput(dry_run=True),
                                            id=f"retention-dry-{uuid.uuid4().hex[:6]}",
                                            task_queue=stack.services.task_queue, result_type=dict)
        assert dry["total"] == 24 and dry["dryRun"] is True
        assert PLATFORM_FEED not in await counts(db)

        assert await stack.services.schedules.ensure_retention_schedule() == RETENTION_SCHEDULE_ID
        handle = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
        try:
            described = await handle.describe()
            assert described.info.next_action_times
            assert described.info.next_action_times[0].hour == 3  # RETENTION_CRON default: 03:00 UTC
            await handle.trigger()
            deadline = time.monotonic() + 20
            feed: list[dict[str, Any]] = []
            while not feed and time.monotonic() < deadline:
                response = await stack.http.get("/v2/events", params={"types": "events.cleaned"},
                                                headers=stack.auth)
                assert response.status_code == 200
                feed = response.json()["result"]["events"]
                await asyncio.sleep(0.1)
            assert feed, "the scheduled RetentionWorkflow recorded nothing"
            assert feed[0]["payload"]["total"] == 24 and feed[0]["payload"]["expiredEvents"] == 10
            after = await counts(db)
            after.pop(PLATFORM_FEED)
            assert after == expected_after(w)
        finally:
            await handle.delete()
        # The platform feed and deleted workspaces are the superadmin's only.
        assert (await stack.http.get("/v2/events")).status_code == 401
        kept = await stack.http.get("/v2/events", params={"workspaceId": w["recent"]}, headers=stack.auth)
        assert len(kept.json()["result"]["events"]) == 3


async def test_cli_dry_run_prints_what_would_go(retention_db: tuple[str, Database], monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url, db = retention_db
    w = await seed(db, datetime.now(UTC), "c")
    from cli import main as cli_main
    from core.infra.settings import Settings

    monkeypatch.setattr(cli_main, "get_settings", lambda: Settings(database_url=url))
    assert await cli_main.run_retention_command(dry_run=True, as_json=False) == 0
    out = capsys.readouterr().out
    assert "would delete 10 event(s) older than 1095 days" in out
    assert w["small"] in out and w["gone"] in out and "total: 24 event(s)" in out
    assert PLATFORM_FEED not in await counts(db)


async def test_run_records_go_with_their_events(retention_db: tuple[str, Database]) -> None:
    """A run's record is kept as long as the events (docs/runs.md): expired ones go with rule 1,
    those of a deleted workspace with rule 3."""
    from datetime import timedelta

    from core.runs.records import RUNS

    _, db = retention_db
    now = datetime.now(UTC)
    w = await seed(db, now, "runs")
    policy = RetentionPolicy(batch_size=7)

    def run(workspace_id: str, started: datetime) -> dict[str, Any]:
        return {"id": uuid.uuid4().hex, "workspace_id": workspace_id, "workflow_id": f"{workspace_id}/a/{uuid.uuid4()}",
                "temporal_run_id": "r", "revision": 1, "automation": "a", "instance": "", "trigger_type": "test",
                "correlation_id": "c", "status": "succeeded", "started_at": started}

    old = now - timedelta(days=policy.retention_days + 1)
    rows = [run(w["active"], old), run(w["active"], now), run(w["gone"], now)]
    async with db.engine.begin() as conn:
        await conn.execute(RUNS.insert(), rows)
    await run_retention(db, policy, now=now)
    async with db.engine.connect() as conn:
        kept = (await conn.execute(select(RUNS.c.id))).scalars().all()
    assert kept == [rows[1]["id"]]
