"""Activities of ScheduledRunWorkflow: resolving what a schedule fire runs."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity

from core.apps.tree import TreeService
from core.runs.schedules import ScheduleService, automation_crons, normalise_cron
from schemas.errors import ObjectNotFoundError
from schemas.schedules import RESOLVE_SCHEDULE, ScheduledRun, ScheduleTarget

log = logging.getLogger("tideway.activities.schedules")


class ScheduleActivities:
    def __init__(self, trees: TreeService, schedules: ScheduleService):
        self.trees = trees
        self.schedules = schedules

    @activity.defn(name=RESOLVE_SCHEDULE)
    async def resolve_schedule(self, job: ScheduledRun) -> ScheduleTarget:
        """The current revision, tree and automation of a fire, or why it runs nothing."""
        try:
            compiled, tree = await self.trees.current(job.workspace_id)
        except ObjectNotFoundError:
            await self._cleanup(job)
            return ScheduleTarget(skip="workspace deleted")
        node = tree.nodes.get(job.instance)
        automation = node.automations.get(job.automation) if node is not None else None
        wanted = {normalise_cron(c) for c in automation_crons(automation)}
        if node is None or automation is None or normalise_cron(job.cron) not in wanted:
            await self._cleanup(job)
            return ScheduleTarget(skip="schedule no longer in the definition")
        return ScheduleTarget(workspace=compiled.ref(), automation=automation,
                              instance_info=node.info if job.instance else None, versions=tree.versions)

    async def _cleanup(self, job: ScheduledRun) -> None:
        try:
            await self.schedules.reconcile(job.workspace_id)
        except Exception as exc:  # noqa: BLE001 - the next reconciliation will do it
            log.warning("stale schedule %s not removed: %s", job.schedule_id, exc)

    def all(self) -> list[Any]:
        return [self.resolve_schedule]
