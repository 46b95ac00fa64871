"""The retention workflow's I/O (activity names, inputs, results) and its report: pure, shared by
the workflow and the activities (the database work is core/events/retention.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio.common import RetryPolicy

LISTED_IDS = 100  # workspace ids listed in an events.cleaned payload (counts are always complete)

RETENTION_EXPIRED = "retention_expired"
RETENTION_PLAN = "retention_plan"
RETENTION_DELETE_WORKSPACES = "retention_delete_workspaces"
RETENTION_RECORD = "retention_record"
RETENTION_FILES = "retention_files"  # expired workspace files (core/files/expiry.py)
FILES_PATCH = "retention-files"  # workflow.patched: runs started before the files step replay without it

HEARTBEAT = timedelta(seconds=60)
LONG = timedelta(hours=6)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1), maximum_attempts=20)


class RetentionInput(BaseModel):
    dry_run: bool = False
    now: str | None = None  # ISO time the rules are applied at (default: the workflow's clock)


class RetentionStep(BaseModel):
    now: str
    dry_run: bool = False


class RetentionPlanResult(BaseModel):
    inactive: dict[str, int] = Field(default_factory=dict)
    deleted: dict[str, int] = Field(default_factory=dict)
    max_seq: int = 0


class WorkspaceDeletion(BaseModel):
    workspace_ids: list[str]
    max_seq: int


class CleanedRecord(BaseModel):
    event_id: str
    report: dict[str, Any]


@dataclass
class WorkspacePlan:
    inactive: dict[str, int] = field(default_factory=dict)  # workspace id -> events
    deleted: dict[str, int] = field(default_factory=dict)
    max_seq: int = 0  # events written after the plan are never deleted by rules 2 and 3


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def summary(counts: dict[str, int], *, full: bool = False) -> dict[str, Any]:
    ids = sorted(counts)
    return {"workspaces": len(ids), "events": sum(counts.values()), "ids": ids if full else ids[:LISTED_IDS]}


def report(expired: int, plan: WorkspacePlan, *, dry_run: bool, started: datetime, full: bool = False,
           inactive: dict[str, int] | None = None, deleted: dict[str, int] | None = None) -> dict[str, Any]:
    inactive = plan.inactive if inactive is None else inactive
    deleted = plan.deleted if deleted is None else deleted
    return {
        "dryRun": dry_run,
        "startedAt": utc(started).isoformat().replace("+00:00", "Z"),
        "expiredEvents": expired,
        "inactiveWorkspaces": summary(inactive, full=full),
        "deletedWorkspaces": summary(deleted, full=full),
        "total": expired + sum(inactive.values()) + sum(deleted.values()),
    }
