"""Event retention (spec §6.5, DECISIONS 3): what goes and how it is deleted.

Three rules, each number a setting (-1 turns a rule off):

1. events older than ``EVENTS_RETENTION_DAYS`` (3 years) — every workspace, the platform feed too;
2. all the events of a live workspace whose newest non-``error`` event is older than
   ``EVENTS_CLEANUP_WORKSPACE_INACTIVITY_DAYS`` (15) and that holds fewer than
   ``EVENTS_CLEANUP_WORKSPACE_MAX_EVENTS`` (100) events (counted after rule 1);
3. all the events of a workspace deleted more than ``EVENTS_SCHEDULED_DELETION_DAYS`` (180) ago.

Rule 1 runs first, then rules 2 and 3 are planned on what is left, so one run reaches a fixed
point: a second run with the same clock deletes nothing. Deletes go in batches of
``RETENTION_BATCH_SIZE`` rows found by walking the primary key (``seq``) or the
``(workspace_id, seq)`` index, one committed statement each, so memory stays flat whatever
the table size and a retried run resumes where the last batch committed. ``progress`` is called
after every batch (the activities heartbeat with it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, select

from core.files.expiry import count_expired_files, delete_expired_files
from core.infra.settings import Settings
from core.infra.tables import Event as EventRow
from core.infra.tables import Workspace
from core.runs.records import RUNS
from schemas.events import Event, EventSource, json_size
from schemas.retention import WorkspacePlan, report, utc

EVENTS = EventRow.__table__  # type: ignore[attr-defined]
WORKSPACES = Workspace.__table__  # type: ignore[attr-defined]
# The platform-level feed (``GET /v2/events``): events about the platform itself, such as
# ``events.cleaned``, never recorded in a workspace where they would count as activity.
PLATFORM_FEED = "~platform"

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RetentionPolicy:
    retention_days: int = 3 * 365
    inactivity_days: int = 15
    max_events: int = 100
    deleted_days: int = 180
    batch_size: int = 5000

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(settings.events_retention_days, settings.events_cleanup_workspace_inactivity_days,
                   settings.events_cleanup_workspace_max_events, settings.events_scheduled_deletion_days,
                   max(1, min(settings.retention_batch_size, 20_000)))

    def expired_before(self, now: datetime) -> datetime | None:
        return None if self.retention_days < 0 else now - timedelta(days=self.retention_days)


# -- rule 1 -------------------------------------------------------------------------------
# Rule 1 walks the primary key in windows of WINDOW_BATCHES batches of seqs, so no statement
# scans more than that many rows, however few match (each window is one heartbeat).
WINDOW_BATCHES = 40


async def _top_seq(db: Any) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.max(EVENTS.c.seq)))).scalar() or 0)


async def count_expired(db: Any, policy: RetentionPolicy, now: datetime, *,
                        progress: Progress | None = None) -> int:
    before = policy.expired_before(utc(now))
    if before is None:
        return 0
    top, cursor, total = await _top_seq(db), 0, 0
    window = policy.batch_size * WINDOW_BATCHES
    while cursor < top:
        end = min(cursor + window, top)
        async with db.engine.connect() as conn:
            total += int((await conn.execute(select(func.count()).select_from(EVENTS).where(
                EVENTS.c.seq > cursor, EVENTS.c.seq <= end, EVENTS.c.created_at < before))).scalar() or 0)
        cursor = end
        if progress is not None:
            progress({"counted": total, "cursor": cursor})
    return total


async def delete_expired(db: Any, policy: RetentionPolicy, now: datetime, *, resume: dict[str, Any] | None = None,
                         progress: Progress | None = None) -> int:
    """Delete events created before the retention cutoff, walking ``seq`` upwards."""
    before = policy.expired_before(utc(now))
    if before is None:
        return 0
    state = {"done": 0, "cursor": 0, **(resume or {})}
    condition = EVENTS.c.created_at < before
    top = await _top_seq(db)
    window = policy.batch_size * WINDOW_BATCHES
    while int(state["cursor"]) < top:
        cursor = int(state["cursor"])
        found = await _delete_batch(db, condition, cursor, policy.batch_size, until=min(cursor + window, top))
        state["cursor"], deleted = found
        state["done"] += deleted
        if progress is not None:
            progress(dict(state))
    await _delete_runs(db, RUNS.c.started_at < before)  # runs are kept as long as their events
    return int(state["done"])


async def _delete_runs(db: Any, condition: Any) -> int:
    """Run records follow their events (docs/runs.md); far fewer rows: one statement."""
    async with db.engine.begin() as conn:
        return int((await conn.execute(delete(RUNS).where(condition))).rowcount or 0)


async def _delete_batch(db: Any, condition: Any, cursor: int, size: int, *,
                        until: int | None = None) -> tuple[int, int]:
    """Delete the next ``size`` rows matching ``condition`` above ``cursor`` (and up to ``until``):
    (new cursor, count). The cursor reaches ``until`` when fewer rows match; without ``until`` it
    stays put when nothing is left."""
    async with db.engine.begin() as conn:
        stmt = select(EVENTS.c.seq).where(condition, EVENTS.c.seq > cursor)
        if until is not None:
            stmt = stmt.where(EVENTS.c.seq <= until)
        seqs = (await conn.execute(stmt.order_by(EVENTS.c.seq).limit(size))).scalars().all()
        if len(seqs) < size and until is not None:
            high = until
        elif not seqs:
            return cursor, 0
        else:
            high = int(seqs[-1])
        if not seqs:
            return high, 0
        result = await conn.execute(delete(EVENTS).where(condition, EVENTS.c.seq > cursor, EVENTS.c.seq <= high))
        return high, int(result.rowcount or 0)


# -- rules 2 and 3 ------------------------------------------------------------------------
async def plan_workspaces(db: Any, policy: RetentionPolicy, now: datetime) -> WorkspacePlan:
    """The workspaces whose events all go, counted without the events rule 1 removes."""
    now = utc(now)
    plan = WorkspacePlan()
    expired = policy.expired_before(now)
    kept = EVENTS.c.created_at >= expired if expired is not None else None
    async with db.engine.connect() as conn:
        plan.max_seq = int((await conn.execute(select(func.max(EVENTS.c.seq)))).scalar() or 0)
        deleted_ids = set((await conn.execute(
            select(WORKSPACES.c.id).where(WORKSPACES.c.deleted_at.is_not(None)))).scalars().all())
        if policy.inactivity_days >= 0 and policy.max_events != -1:
            counted = func.count() if kept is None else func.sum(case((kept, 1), else_=0))
            live_event = EVENTS.c.type != "error" if kept is None else and_(EVENTS.c.type != "error", kept)
            last_activity = func.max(case((live_event, EVENTS.c.created_at)))
            inactive_before = now - timedelta(days=policy.inactivity_days)
            stmt = (select(EVENTS.c.workspace_id, counted.label("n"))
                    .where(EVENTS.c.workspace_id != PLATFORM_FEED)
                    .group_by(EVENTS.c.workspace_id)
                    .having(and_(counted > 0, counted < policy.max_events,
                                 (last_activity.is_(None)) | (last_activity < inactive_before))))
            async for row in await conn.stream(stmt):
                if row.workspace_id not in deleted_ids:
                    plan.inactive[row.workspace_id] = int(row.n)
        if policy.deleted_days >= 0 and deleted_ids:
            cutoff = now - timedelta(days=policy.deleted_days)
            counted = func.count() if kept is None else func.sum(case((kept, 1), else_=0))
            stmt = (select(EVENTS.c.workspace_id, counted.label("n"))
                    .join(WORKSPACES, WORKSPACES.c.id == EVENTS.c.workspace_id)
                    .where(WORKSPACES.c.deleted_at.is_not(None), WORKSPACES.c.deleted_at < cutoff)
                    .group_by(EVENTS.c.workspace_id).having(counted > 0))
            async for row in await conn.stream(stmt):
                plan.deleted[row.workspace_id] = int(row.n)
    return plan


async def delete_workspace_events(db: Any, workspace_ids: list[str], policy: RetentionPolicy, *,
                                  max_seq: int | None = None, resume: dict[str, Any] | None = None,
                                  progress: Progress | None = None) -> dict[str, int]:
    """Delete every event of each workspace, by ``(workspace_id, seq)`` batches."""
    state: dict[str, Any] = {"counts": {}, "current": None, "cursor": 0, **(resume or {})}
    counts: dict[str, int] = state["counts"]
    for workspace_id in workspace_ids:
        if workspace_id in counts and state["current"] != workspace_id:
            continue  # finished before a retry
        cursor = int(state["cursor"]) if state["current"] == workspace_id else 0
        state["current"], state["cursor"] = workspace_id, cursor
        counts.setdefault(workspace_id, 0)
        condition = EVENTS.c.workspace_id == workspace_id
        if max_seq is not None:
            condition = and_(condition, EVENTS.c.seq <= max_seq)
        while True:
            cursor, deleted = await _delete_batch(db, condition, cursor, policy.batch_size)
            if not deleted:
                break
            counts[workspace_id] += deleted
            state["cursor"] = cursor
            if progress is not None:
                progress({**state, "counts": dict(counts)})
        await _delete_runs(db, RUNS.c.workspace_id == workspace_id)
        state["current"], state["cursor"] = None, 0
        if progress is not None:
            progress({**state, "counts": dict(counts)})
    return counts


# -- report -------------------------------------------------------------------------------
def cleaned_event(result: dict[str, Any], event_id: str | None = None) -> Event:
    payload = {k: v for k, v in result.items() if k != "dryRun"}
    return Event(id=event_id or str(uuid.uuid4()), type="events.cleaned", payload=payload,
                 createdAt=datetime.now(UTC), size=json_size(payload),
                 source=EventSource(workspaceId=PLATFORM_FEED, correlationId=uuid.uuid4().hex,
                                    serviceTopic="events.cleaned"))


async def record_cleaned(db: Any, result: dict[str, Any], event_id: str | None = None) -> str:
    """``events.cleaned`` in the platform feed (idempotent on ``event_id``)."""
    from core.events.store import insert_events

    event = cleaned_event(result, event_id)
    async with db.session() as session:
        await insert_events(session, [event])
    return event.id


async def run_retention(db: Any, policy: RetentionPolicy, *, now: datetime | None = None, dry_run: bool = False,
                        record: bool = True, full: bool = False) -> dict[str, Any]:
    """The whole pass in this process (``tideway retention``, the bench); the scheduled
    RetentionWorkflow runs the same steps as activities."""
    now = utc(now or datetime.now(UTC))
    started = time.monotonic()
    if dry_run:
        files = await count_expired_files(db, now, deleted_days=policy.deleted_days)
        expired = await count_expired(db, policy, now)
        plan = await plan_workspaces(db, policy, now)
        result = report(expired, plan, dry_run=True, started=now, full=full)
        result["expiredFiles"] = files
    else:
        files = await delete_expired_files(db, now, deleted_days=policy.deleted_days)
        expired = await delete_expired(db, policy, now)
        plan = await plan_workspaces(db, policy, now)
        inactive = await delete_workspace_events(db, sorted(plan.inactive), policy, max_seq=plan.max_seq)
        deleted = await delete_workspace_events(db, sorted(plan.deleted), policy, max_seq=plan.max_seq)
        result = report(expired, plan, dry_run=False, started=now, full=full, inactive=inactive, deleted=deleted)
        result["expiredFiles"] = files
        if record:
            await record_cleaned(db, result)
    result["durationMs"] = int((time.monotonic() - started) * 1000)
    return result
