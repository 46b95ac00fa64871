"""Activities of RetentionWorkflow: batched deletes that heartbeat and resume (core/events/retention.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from core.events.retention import (
    RetentionPolicy,
    count_expired,
    delete_expired,
    delete_workspace_events,
    plan_workspaces,
    record_cleaned,
)
from core.files.expiry import count_expired_files, delete_expired_files
from core.infra.db import Database
from schemas.retention import (
    RETENTION_DELETE_WORKSPACES,
    RETENTION_EXPIRED,
    RETENTION_FILES,
    RETENTION_PLAN,
    RETENTION_RECORD,
    CleanedRecord,
    RetentionPlanResult,
    RetentionStep,
    WorkspaceDeletion,
)


def _resume() -> dict[str, Any] | None:
    details = activity.info().heartbeat_details
    return details[0] if details and isinstance(details[0], dict) else None


class RetentionActivities:
    def __init__(self, db: Database, policy: RetentionPolicy):
        self.db = db
        self.policy = policy

    @activity.defn(name=RETENTION_EXPIRED)
    async def expired(self, step: RetentionStep) -> int:
        now = datetime.fromisoformat(step.now)
        if step.dry_run:
            return await count_expired(self.db, self.policy, now, progress=activity.heartbeat)
        return await delete_expired(self.db, self.policy, now, resume=_resume(), progress=activity.heartbeat)

    @activity.defn(name=RETENTION_FILES)
    async def files(self, step: RetentionStep) -> int:
        """Expired files, and the files of workspaces deleted past EVENTS_SCHEDULED_DELETION_DAYS,
        with their bytes (a retried attempt finds only what is left)."""
        now = datetime.fromisoformat(step.now)
        if step.dry_run:
            return await count_expired_files(self.db, now, deleted_days=self.policy.deleted_days)
        return await delete_expired_files(self.db, now, deleted_days=self.policy.deleted_days,
                                          progress=activity.heartbeat)

    @activity.defn(name=RETENTION_PLAN)
    async def plan(self, step: RetentionStep) -> RetentionPlanResult:
        plan = await plan_workspaces(self.db, self.policy, datetime.fromisoformat(step.now))
        return RetentionPlanResult(inactive=plan.inactive, deleted=plan.deleted, max_seq=plan.max_seq)

    @activity.defn(name=RETENTION_DELETE_WORKSPACES)
    async def delete_workspaces(self, request: WorkspaceDeletion) -> dict[str, int]:
        return await delete_workspace_events(self.db, request.workspace_ids, self.policy, max_seq=request.max_seq,
                                             resume=_resume(), progress=activity.heartbeat)

    @activity.defn(name=RETENTION_RECORD)
    async def record(self, request: CleanedRecord) -> str:
        return await record_cleaned(self.db, request.report, request.event_id)

    def all(self) -> list[Any]:
        return [self.expired, self.files, self.plan, self.delete_workspaces, self.record]
