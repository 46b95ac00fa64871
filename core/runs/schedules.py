"""Automation schedules on Temporal Schedules (spec §2.3 "Schedules", DECISIONS 4 and 21).

Every cron of ``when.schedules`` of an enabled automation (the root workspace's and every
app instance's, nested and private included) is one Temporal Schedule with a deterministic id
``sched/<workspace>/<instance or _>/<automation>/<sha1(cron)[:10]>``. :meth:`ScheduleService.reconcile`
compares that wanted set with the ``schedules`` table (the registry of what was created) and
creates, updates or deletes Temporal Schedules until both agree: it runs after every new
revision and on delete (``WorkspaceService.on_change``), when an app a workspace imports is
published or deleted, and for every workspace at worker start (:meth:`reconcile_all`, which
also sweeps schedules of this task queue that no workspace wants any more).

A schedule starts ``ScheduledRunWorkflow`` (workflows/schedules.py), which resolves the
current tree, records ``runtime.interactions.triggered`` and runs the automation.
Crons are UTC and may not fire more often than ``SCHEDULE_MIN_INTERVAL_MINUTES``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter
from sqlalchemy import delete as sa_delete
from sqlalchemy import update
from sqlmodel import col, select
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from core.infra.settings import Settings
from core.infra.tables import PendingWaitType, ScheduleEntry, Wait, Workspace
from schemas.dsul import WorkspaceSource
from schemas.errors import ObjectNotFoundError, TidewayError
from schemas.problems import Finding
from schemas.retention import RetentionInput
from schemas.schedules import RETENTION_SCHEDULE_ID, ScheduledRun
from schemas.search_attributes import AUTOMATION_SLUG, WORKSPACE_ID
from schemas.validation import SectionFinding

log = logging.getLogger("tideway.schedules")

SCHEDULE_PREFIX = "sched/"
ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
NAMES = ("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat")
FIELD = re.compile(rf"^(?:\*|\d+|{NAMES})(?:-(?:\d+|{NAMES}))?(?:/\d+)?(?:,(?:\*|\d+|{NAMES})(?:-(?:\d+|{NAMES}))?(?:/\d+)?)*$",
                   re.IGNORECASE)
DAY_MINUTES = 24 * 60
# Overlapping fires all run (the reference's jobs do); fires missed while the Temporal server
# was down are made up only within this window.
CATCHUP_WINDOW = timedelta(minutes=5)


class InvalidScheduleError(TidewayError):
    default_message = "Invalid schedule"


def normalise_cron(cron: str) -> str:
    """The 5-field form Temporal is given (``@daily`` → ``0 0 * * *``); whitespace collapsed."""
    text = " ".join(cron.split())
    return ALIASES.get(text.lower(), text)


def _values(field: list[Any], low: int, high: int) -> list[int]:
    return list(range(low, high + 1)) if field == ["*"] else sorted(int(v) for v in field)


def min_gap_minutes(cron: str, *, at_least: int) -> int | None:
    """The shortest time between two fires of ``cron`` in minutes, or None when it is at least
    ``at_least`` (``cron`` already parsed). Exact for ``at_least`` up to a day: gaps within a
    day come from the minute and hour fields; the gap across midnight counts only when two
    consecutive days can both fire."""
    expanded = croniter(cron).expanded
    minutes, hours = _values(expanded[0], 0, 59), _values(expanded[1], 0, 23)
    if at_least > DAY_MINUTES:
        return _min_gap_by_iteration(cron, at_least)
    times = sorted(h * 60 + m for h in hours for m in minutes)
    within = min((b - a for a, b in zip(times, times[1:], strict=False)), default=DAY_MINUTES)
    if within < at_least:
        return within
    across = times[0] + DAY_MINUTES - times[-1]
    if across >= at_least:
        return None
    day_cron = " ".join(["0", "0", *cron.split()[2:]])
    days = croniter(day_cron, datetime(2000, 1, 1, tzinfo=UTC))
    previous = days.get_next(datetime)
    for _ in range(2200):  # six years of days: every month/weekday combination comes round
        current = days.get_next(datetime)
        if current - previous == timedelta(days=1):
            return across
        previous = current
    return None


def _min_gap_by_iteration(cron: str, at_least: int) -> int | None:
    it = croniter(cron, datetime(2000, 1, 1, tzinfo=UTC))
    previous = it.get_next(datetime)
    for _ in range(1500):
        current = it.get_next(datetime)
        gap = int((current - previous).total_seconds() // 60)
        if gap < at_least:
            return gap
        previous = current
    return None


def check_cron(cron: Any, automation: str, min_interval_minutes: int) -> str:
    """The normalised cron, or InvalidScheduleError (400) naming the automation and the cron."""

    def fail(reason: str) -> InvalidScheduleError:
        return InvalidScheduleError(f"Invalid schedule {cron!r} of automation '{automation}': {reason}",
                                    {"automation": automation, "schedule": cron, "reason": reason})

    if not isinstance(cron, str) or not cron.strip():
        raise fail("a schedule must be a cron string")
    text = normalise_cron(cron)
    fields = text.split(" ")
    if len(fields) != 5:
        raise fail("a cron has 5 fields: minute hour day-of-month month day-of-week (UTC)")
    if not all(FIELD.match(f) for f in fields):
        raise fail("only numbers, names, '*', ',', '-' and '/' are allowed in a cron field")
    try:
        croniter(text)
    except Exception as exc:  # noqa: BLE001 - croniter raises several error classes
        raise fail(str(exc) or type(exc).__name__) from None
    if min_interval_minutes > 0:
        gap = min_gap_minutes(text, at_least=min_interval_minutes)
        if gap is not None:
            raise fail(f"it can fire {gap} minute(s) apart; the minimum interval is {min_interval_minutes} minutes")
    return text


def automation_crons(automation: Any) -> list[str]:
    if not isinstance(automation, dict) or automation.get("disabled"):
        return []
    when = automation.get("when")
    schedules = when.get("schedules") if isinstance(when, dict) else None
    return [s for s in schedules if isinstance(s, str)] if isinstance(schedules, list) else []


def schedule_id(workspace_id: str, instance: str, automation: str, cron: str) -> str:
    digest = hashlib.sha1(normalise_cron(cron).encode()).hexdigest()[:10]
    return f"{SCHEDULE_PREFIX}{workspace_id}/{instance or '_'}/{automation}/{digest}"


@dataclass(frozen=True)
class WantedSchedule:
    id: str
    workspace_id: str
    instance: str
    automation: str
    cron: str  # as written (the trigger value)


@dataclass
class ReconcileResult:
    created: list[str]
    deleted: list[str]
    kept: list[str]


class ScheduleService:
    def __init__(self, db: Any, client: Client, trees: Any, workspaces: Any, settings: Settings,
                 task_queue: str):
        self.db = db  # core.infra.db.Database
        self.client = client
        self.trees = trees  # core.apps.tree.TreeService
        self.workspaces = workspaces  # core.workspaces.service.WorkspaceService
        self.settings = settings
        self.task_queue = task_queue
        self._locks: dict[str, asyncio.Lock] = {}

    # -- validation on save -----------------------------------------------------------
    def schedule_findings(self, source: WorkspaceSource) -> list[SectionFinding]:
        """An error per schedule that could never run (placed at ``when.schedules[i]``)."""
        found: list[SectionFinding] = []
        for slug, automation in sorted((source.automations or {}).items()):
            for index, cron in enumerate(automation_crons(automation)):
                try:
                    check_cron(cron, slug, self.settings.schedule_min_interval_minutes)
                except InvalidScheduleError as exc:
                    found.append(SectionFinding("automations", slug, Finding(
                        path=("when", "schedules", index), message=f"InvalidScheduleError: {exc.message}")))
        return found

    # -- hooks ------------------------------------------------------------------------
    async def workspace_changed(self, workspace_id: str) -> None:
        """``WorkspaceService.on_change``: reconcile; a deleted workspace also stops its waits."""
        await self.reconcile(workspace_id)
        row = await self._row(workspace_id)
        if row is not None and row.deleted_at is not None:
            await self.stop_waits(workspace_id)

    # -- wanted set -------------------------------------------------------------------
    async def wanted(self, workspace_id: str) -> dict[str, WantedSchedule]:
        try:
            _, tree = await self.trees.current(workspace_id)
        except ObjectNotFoundError:
            return {}  # deleted or gone: nothing runs
        out: dict[str, WantedSchedule] = {}
        for full_slug, node in tree.nodes.items():
            for slug, automation in node.automations.items():
                for cron in automation_crons(automation):
                    where = f"{full_slug}.{slug}" if full_slug else slug
                    try:
                        check_cron(cron, where, self.settings.schedule_min_interval_minutes)
                    except InvalidScheduleError as exc:  # an app version stored before the check
                        log.warning("schedule skipped in workspace %s: %s", workspace_id, exc.message)
                        continue
                    sid = schedule_id(workspace_id, full_slug, slug, cron)
                    out.setdefault(sid, WantedSchedule(sid, workspace_id, full_slug, slug, cron))
        return out

    async def registered(self, workspace_id: str) -> dict[str, ScheduleEntry]:
        async with self.db.session() as session:
            rows = (await session.exec(select(ScheduleEntry).where(ScheduleEntry.workspace_id == workspace_id))).all()
        return {r.id: r for r in rows}

    # -- reconciliation ---------------------------------------------------------------
    async def reconcile(self, workspace_id: str, *, verify: bool = False) -> ReconcileResult:
        """Make the workspace's Temporal Schedules match its current definition. ``verify``
        also re-creates or updates the registered ones (worker start)."""
        lock = self._locks.setdefault(workspace_id, asyncio.Lock())
        async with lock:
            wanted = await self.wanted(workspace_id)
            existing = await self.registered(workspace_id)
            deleted = [sid for sid in existing if sid not in wanted]
            for sid in deleted:
                await self._delete_schedule(sid)
            created = [sid for sid in wanted if sid not in existing]
            for sid in (list(wanted) if verify else created):
                await self._upsert_schedule(wanted[sid])
            if created:
                await self._register([wanted[sid] for sid in created])
                await self._announce(workspace_id, [wanted[sid] for sid in created], wanted)
        return ReconcileResult(created, deleted, [sid for sid in wanted if sid in existing])

    async def reconcile_all(self, *, sweep: bool = True) -> dict[str, int]:
        """Every live workspace with schedules or registered ones, then (``sweep``) delete the
        schedules of this task queue that nothing registers (left by a crash)."""
        async with self.db.session() as session:
            live = set((await session.exec(select(Workspace.id).where(col(Workspace.deleted_at).is_(None)))).all())
            registered = set((await session.exec(select(ScheduleEntry.workspace_id))).all())
        counts = {"workspaces": 0, "created": 0, "deleted": 0, "swept": 0}
        for workspace_id in sorted(live | registered):
            try:
                result = await self.reconcile(workspace_id, verify=True)
            except Exception as exc:  # noqa: BLE001 - one broken workspace must not stop the rest
                log.warning("schedules of workspace %s not reconciled: %s", workspace_id, exc)
                continue
            counts["workspaces"] += 1
            counts["created"] += len(result.created)
            counts["deleted"] += len(result.deleted)
        if sweep:
            counts["swept"] = await self.sweep()
        return counts

    async def sweep(self) -> int:
        async with self.db.session() as session:
            known = set((await session.exec(select(ScheduleEntry.id))).all())
        stale: list[str] = []
        async for entry in await self.client.list_schedules():
            if not entry.id.startswith(SCHEDULE_PREFIX) or entry.id in known:
                continue
            try:
                memo = await entry.memo()
            except Exception:  # noqa: BLE001
                continue
            if memo.get("taskQueue") == self.task_queue:
                stale.append(entry.id)
        for sid in stale:
            await self._delete_schedule(sid)
        return len(stale)

    # -- Temporal ---------------------------------------------------------------------
    def _schedule(self, wanted: WantedSchedule) -> Schedule:
        run = ScheduledRun(schedule_id=wanted.id, workspace_id=wanted.workspace_id, instance=wanted.instance,
                           automation=wanted.automation, cron=wanted.cron)
        return Schedule(
            action=ScheduleActionStartWorkflow(
                "ScheduledRunWorkflow", run, id=f"run-{wanted.id}", task_queue=self.task_queue,
                memo={"settings": self.settings.run.model_dump()},
                typed_search_attributes=TypedSearchAttributes([
                    SearchAttributePair(WORKSPACE_ID, wanted.workspace_id),
                    SearchAttributePair(AUTOMATION_SLUG, wanted.automation)])),
            spec=ScheduleSpec(cron_expressions=[normalise_cron(wanted.cron)], time_zone_name="UTC"),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW),
            state=ScheduleState(note=f"{wanted.instance + '.' if wanted.instance else ''}{wanted.automation}: "
                                     f"{wanted.cron}"))

    async def _upsert_schedule(self, wanted: WantedSchedule) -> None:
        schedule = self._schedule(wanted)
        memo = {"workspaceId": wanted.workspace_id, "instance": wanted.instance, "automation": wanted.automation,
                "cron": wanted.cron, "taskQueue": self.task_queue}
        try:
            await self.client.create_schedule(
                wanted.id, schedule, memo=memo,
                search_attributes=TypedSearchAttributes([SearchAttributePair(WORKSPACE_ID, wanted.workspace_id)]))
        except ScheduleAlreadyRunningError:
            await self.client.get_schedule_handle(wanted.id).update(lambda _: ScheduleUpdate(schedule=schedule))

    async def _delete_schedule(self, sid: str) -> None:
        try:
            await self.client.get_schedule_handle(sid).delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        async with self.db.session() as session:
            await session.exec(sa_delete(ScheduleEntry).where(col(ScheduleEntry.id) == sid))  # type: ignore[call-overload]
            await session.commit()

    async def _register(self, entries: Iterable[WantedSchedule]) -> None:
        async with self.db.session() as session:
            for w in entries:
                if await session.get(ScheduleEntry, w.id) is None:
                    session.add(ScheduleEntry(id=w.id, workspace_id=w.workspace_id, instance=w.instance,
                                              automation=w.automation, cron=w.cron))
            await session.commit()

    async def _announce(self, workspace_id: str, created: list[WantedSchedule],
                        wanted: dict[str, WantedSchedule]) -> None:
        """``runtime.automations.scheduled {slug, schedules, details: {launched}}`` per automation
        whose schedules were (re)created."""
        automations = sorted({(w.instance, w.automation) for w in created})
        for instance, automation in automations:
            crons = [w.cron for w in wanted.values() if (w.instance, w.automation) == (instance, automation)]
            slug = f"{instance}.{automation}" if instance else automation
            source = {"appInstanceFullSlug": instance} if instance else None
            await self.workspaces._record(workspace_id, "runtime.automations.scheduled",
                                          {"slug": slug, "schedules": crons, "details": {"launched": True}},
                                          None, source=source)

    # -- deleted workspaces -----------------------------------------------------------
    async def stop_waits(self, workspace_id: str) -> int:
        """Cancel the pending waits of a deleted workspace and the runs parked on them."""
        async with self.db.session() as session:
            pending = (await session.exec(select(Wait).where(Wait.workspace_id == workspace_id,
                                                             col(Wait.status) == "pending"))).all()
            if not pending:
                return 0
            await session.exec(update(Wait).where(col(Wait.workspace_id) == workspace_id,  # type: ignore[call-overload]
                                                  col(Wait.status) == "pending").values(status="cancelled"))
            await session.exec(sa_delete(PendingWaitType)  # type: ignore[call-overload]
                               .where(col(PendingWaitType.workspace_id) == workspace_id))
            await session.commit()
        for workflow_id in sorted({w.workflow_id for w in pending}):
            try:
                await self.client.get_workflow_handle(workflow_id).cancel()
            except RPCError as exc:  # ended meanwhile
                log.info("run %s not cancelled: %s", workflow_id, exc)
        return len(pending)

    async def _row(self, workspace_id: str) -> Workspace | None:
        async with self.db.session() as session:
            row: Workspace | None = await session.get(Workspace, workspace_id)
            return row

    # -- retention --------------------------------------------------------------------
    async def ensure_retention_schedule(self) -> str | None:
        """The platform's RetentionWorkflow schedule (created, updated, or removed when disabled)."""
        handle = self.client.get_schedule_handle(RETENTION_SCHEDULE_ID)
        if not self.settings.retention_enabled:
            try:
                await handle.delete()
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
            return None
        cron = check_cron(self.settings.retention_cron, "retention", 0)
        schedule = Schedule(
            action=ScheduleActionStartWorkflow("RetentionWorkflow", RetentionInput(dry_run=False),
                                               id="retention", task_queue=self.task_queue),
            spec=ScheduleSpec(cron_expressions=[cron], time_zone_name="UTC"),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)),
            state=ScheduleState(note="events retention (DECISIONS 3)"))
        try:
            await self.client.create_schedule(RETENTION_SCHEDULE_ID, schedule, memo={"taskQueue": self.task_queue})
        except ScheduleAlreadyRunningError:
            await handle.update(lambda _: ScheduleUpdate(schedule=schedule))
        return RETENTION_SCHEDULE_ID


async def start_time_services(service: ScheduleService) -> None:
    """Worker start: reconcile every workspace's schedules and ensure the retention schedule.
    Logged, never raised (the worker must start even if this fails)."""
    try:
        counts = await service.reconcile_all()
        log.info("schedules reconciled: %s", counts)
    except Exception as exc:  # noqa: BLE001
        log.warning("schedule reconciliation failed: %s", exc)
    try:
        await service.ensure_retention_schedule()
    except Exception as exc:  # noqa: BLE001
        log.warning("retention schedule not ensured: %s", exc)
