"""Typed input and output of an AutomationWorkflow run (what crosses Temporal)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Trigger(BaseModel):
    type: str  # endpoint | event | schedule | automation | test
    value: str | None = None
    id: str | None = None


class WorkspaceRef(BaseModel):
    """The workspace revision a run is pinned to (an edit never changes a run in flight)."""

    id: str
    slug: str
    name: str
    revision: int
    config: dict[str, Any] = Field(default_factory=dict)  # interpolated config.value


class RunInput(BaseModel):
    workspace: WorkspaceRef
    automation_slug: str
    automation: dict[str, Any]
    payload: dict[str, Any] = Field(default_factory=dict)
    payload_ref: str | None = None  # blob id when the payload was too big to inline
    trigger: Trigger
    correlation_id: str
    user_id: str | None = None
    session_id: str | None = None
    http: dict[str, Any] | None = None  # request facts for webhook runs (event source.http)
    http_response: bool = False  # $http is available (the webhook-started automation)


class RunResult(BaseModel):
    output: Any = None
    output_ref: str | None = None  # blob id when the output was too big to inline
    has_output: bool = True
    status: int | None = None  # $http.status
    headers: dict[str, str] = Field(default_factory=dict)  # $http.headers
