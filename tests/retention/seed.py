"""Seeding an events table with dated events for the retention tests and the bench."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from core.events.store import insert_rows
from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceRevision


def event_rows(workspace_id: str, count: int, age: timedelta, *, now: datetime, type_: str = "tick",
               spread: timedelta = timedelta(0)) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        created = now - age - (spread * i / max(count, 1))
        rows.append({"id": uuid.uuid4().hex, "workspace_id": workspace_id, "type": type_, "correlation_id": None,
                     "created_at": created, "size": 2, "source": {"workspaceId": workspace_id, "correlationId": "c"},
                     "payload": {"i": i}, "target": None, "options": None, "ephemeral": False})
    return rows


async def insert(db: Database, rows: list[dict[str, Any]], chunk: int = 2000) -> None:
    for start in range(0, len(rows), chunk):
        async with db.engine.begin() as conn:
            await conn.run_sync(insert_rows, rows[start:start + chunk])


async def add_workspace(db: Database, workspace_id: str, *, deleted_at: datetime | None = None) -> None:
    async with db.session() as session:
        session.add(Workspace(id=workspace_id, slug=f"s-{workspace_id}", name=workspace_id, revision=1,
                              deleted_at=deleted_at))
        await session.flush()
        session.add(WorkspaceRevision(workspace_id=workspace_id, revision=1, digest="x",
                                      document={"name": workspace_id, "slug": f"s-{workspace_id}"}))
        await session.commit()


def ids(prefix: str) -> dict[str, str]:
    return {name: f"{prefix}{name}"[:32] for name in
            ("old", "small", "active", "errs", "big", "gone", "recent")}


async def seed(db: Database, now: datetime, prefix: str) -> dict[str, str]:
    """The retention fixture; returns the workspace ids by role. Expected after one run:

    old     live, 150 recent + 10 events older than 3 years    -> the 10 old ones go
    small   live, 5 events 20 days old                          -> all 5 go (inactive, < 100)
    active  live, 5 events 1 day old                            -> kept
    errs    live, 5 events 20 days old + 1 fresh error          -> all 6 go (errors are no activity)
    big     live, 120 events 20 days old                        -> kept (not small)
    gone    deleted 200 days ago, 3 events                      -> all 3 go
    recent  deleted 30 days ago, 3 events 40 days old           -> kept (until 6 months)
    """
    w = ids(prefix)
    for role in ("old", "small", "active", "errs", "big"):
        await add_workspace(db, w[role])
    await add_workspace(db, w["gone"], deleted_at=now - timedelta(days=200))
    await add_workspace(db, w["recent"], deleted_at=now - timedelta(days=30))
    rows = (event_rows(w["old"], 150, timedelta(hours=1), now=now)
            + event_rows(w["old"], 10, timedelta(days=3 * 365 + 2), now=now, spread=timedelta(days=30))
            + event_rows(w["small"], 5, timedelta(days=20), now=now)
            + event_rows(w["active"], 5, timedelta(days=1), now=now)
            + event_rows(w["errs"], 5, timedelta(days=20), now=now)
            + event_rows(w["errs"], 1, timedelta(minutes=5), now=now, type_="error")
            + event_rows(w["big"], 120, timedelta(days=20), now=now)
            + event_rows(w["gone"], 3, timedelta(days=210), now=now)
            + event_rows(w["recent"], 3, timedelta(days=40), now=now))
    await insert(db, rows)
    return w
