"""What a Temporal Schedule of an automation cron starts (``ScheduledRunWorkflow``'s input) and
what one fire resolves to (the ``resolve_schedule`` local activity's result)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from schemas.runs import InstanceInfo, WorkspaceRef

RESOLVE_SCHEDULE = "resolve_schedule"
RETENTION_SCHEDULE_ID = "tideway-retention"


class ScheduledRun(BaseModel):
    """The argument of every fire of one schedule."""

    schedule_id: str
    workspace_id: str
    instance: str = ""  # app instance full slug, '' = the root workspace
    automation: str
    cron: str


class ScheduleTarget(BaseModel):
    """What a fire runs, resolved against the current definition; ``skip`` says why not."""

    skip: str | None = None
    workspace: WorkspaceRef | None = None
    automation: dict[str, Any] | None = None
    instance_info: InstanceInfo | None = None
    versions: dict[str, str] = Field(default_factory=dict)
