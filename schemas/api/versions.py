"""Workspace versions (spec §10): named snapshots of a definition, and rolling back to one."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas.api.common import Closed, LocalizedText
from schemas.api.workspaces import WorkspaceDetail


class VersionBody(Closed):
    """``POST …/versions``: a name (generated ``v<n>`` when absent) and a description."""

    name: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9_.-]{1,64}$",
                             description="not `current` or `latest`; unique in the workspace")
    description: LocalizedText | None = Field(default=None, description="optional message")
    repository: None = Field(default=None, description="versions in outside repositories are not supported")

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "v1", "description": "First release"}]})


class WorkspaceVersion(Closed):
    name: str
    revision: int = Field(description="the workspace revision it copies")
    createdAt: str
    description: LocalizedText | None = None


class VersionPulled(Closed):
    """A rollback: the workspace as it now is and the version it came from. ``changed`` is false
    when the version equals the current definition (nothing was stored)."""

    workspace: WorkspaceDetail
    version: WorkspaceVersion
    changed: bool
    revision: int
    errors: list[dict[str, str]]
    securityKept: bool | None = None
