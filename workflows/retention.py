"""RetentionWorkflow: the scheduled event clean-up (spec §6.5, DECISIONS 3; rules in core/events/retention.py),
and the expired workspace files (core/files/expiry.py, docs/files.md).

Each step is a regular activity that deletes in batches and heartbeats after each one, so a
worker lost mid-run is replaced by a retry on another worker that resumes from the last
heartbeat (deleting by condition is idempotent: a batch committed twice deletes nothing more).
``dry_run`` counts instead of deleting and records nothing. The real run records
``events.cleaned`` with the counts in the platform feed (``GET /v2/events``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

from schemas.retention import (
    FILES_PATCH,
    HEARTBEAT,
    LONG,
    RETENTION_DELETE_WORKSPACES,
    RETENTION_EXPIRED,
    RETENTION_FILES,
    RETENTION_PLAN,
    RETENTION_RECORD,
    RETRY,
    CleanedRecord,
    RetentionInput,
    RetentionPlanResult,
    RetentionStep,
    WorkspaceDeletion,
    WorkspacePlan,
    report,
)


@workflow.defn(name="RetentionWorkflow")
class RetentionWorkflow:
    @workflow.run
    async def run(self, params: RetentionInput) -> dict[str, Any]:
        now = params.now or workflow.now().isoformat()
        step = RetentionStep(now=now, dry_run=params.dry_run)
        expired: int = await workflow.execute_activity(
            RETENTION_EXPIRED, step, start_to_close_timeout=LONG, heartbeat_timeout=HEARTBEAT, retry_policy=RETRY,
            result_type=int)
        files: int | None = None
        if workflow.patched(FILES_PATCH):  # expired workspace files (docs/files.md)
            files = await workflow.execute_activity(
                RETENTION_FILES, step, start_to_close_timeout=LONG, heartbeat_timeout=HEARTBEAT, retry_policy=RETRY,
                result_type=int)
        plan: RetentionPlanResult = await workflow.execute_activity(
            RETENTION_PLAN, step, start_to_close_timeout=timedelta(minutes=30), retry_policy=RETRY,
            result_type=RetentionPlanResult)
        inactive, deleted = plan.inactive, plan.deleted
        if not params.dry_run:
            inactive = await workflow.execute_activity(
                RETENTION_DELETE_WORKSPACES, WorkspaceDeletion(workspace_ids=sorted(plan.inactive),
                                                               max_seq=plan.max_seq),
                start_to_close_timeout=LONG, heartbeat_timeout=HEARTBEAT, retry_policy=RETRY,
                result_type=dict[str, int])
            deleted = await workflow.execute_activity(
                RETENTION_DELETE_WORKSPACES, WorkspaceDeletion(workspace_ids=sorted(plan.deleted),
                                                               max_seq=plan.max_seq),
                start_to_close_timeout=LONG, heartbeat_timeout=HEARTBEAT, retry_policy=RETRY,
                result_type=dict[str, int])
        result = report(expired, WorkspacePlan(plan.inactive, plan.deleted), dry_run=params.dry_run,
                        started=workflow.now(), inactive=inactive, deleted=deleted)
        result["appliedAt"] = now
        if files is not None:
            result["expiredFiles"] = files
        if not params.dry_run:
            result["eventId"] = await workflow.execute_activity(
                RETENTION_RECORD, CleanedRecord(event_id=str(workflow.uuid4()), report=result),
                start_to_close_timeout=timedelta(minutes=1), retry_policy=RETRY, result_type=str)
        return result
