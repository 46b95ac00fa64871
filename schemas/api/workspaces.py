"""Workspaces: their definition as a document (import, create), summaries, details, patches."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.automations import AutomationBody, AutomationSummary
from schemas.api.common import Closed, LocalizedText, Open, Problem, warnings_field

HELLO_AUTOMATION: dict[str, Any] = {"name": "hello", "when": {"endpoint": True},
                    "do": [{"set": {"name": "greeting", "value": "Hello {{body.name}}"}}], "output": "{{greeting}}"}


class IndexFields(Open):
    """The root fields of a workspace (``index.yml``, spec §1.2); checked in full by the DSUL
    validation (``schemas/validation.py``), which names every problem."""

    name: str | None = Field(default=None, description="required on creation: a non-blank text")
    slug: str | None = Field(default=None, description="lowercase letters, digits, `-` and `/`; unique")
    description: LocalizedText | None = None
    photo: str | None = None
    labels: list[str] | None = None
    config: dict[str, Any] | None = Field(default=None, description="`{value, schema?, block?}`: "
                                          "the workspace's configuration (`{{config.x}}`)")
    secrets: dict[str, Any] | None = None
    customDomains: list[str] | None = None
    registerWorkspace: bool | None = None
    repositories: dict[str, Any] | None = None
    blocks: Any = None


class WorkspaceDocument(IndexFields):
    """A whole workspace as one JSON or YAML document: ``index.yml``'s fields plus the
    ``automations``, ``imports`` (app instances), ``pages`` and ``security`` sections."""

    automations: dict[str, AutomationBody] | None = None
    imports: dict[str, dict[str, Any]] | None = Field(default=None, description="app instances by slug "
                                                      "(`{appSlug, appVersion?, config?}`)")
    pages: dict[str, dict[str, Any]] | None = None
    security: dict[str, Any] | None = Field(default=None, description="security.yml: roles and rules")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "Hello", "slug": "hello", "automations": {"hello": HELLO_AUTOMATION}}]})


class WorkspacePatch(IndexFields):
    """``PATCH /v2/workspaces/{id}``: the root fields to change (others are refused)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"description": "Says hello"}]})


class WorkspaceSummary(Closed):
    """A workspace in a listing."""

    id: str
    slug: str
    name: str
    revision: int = Field(description="the definition's revision, +1 at every change")
    description: LocalizedText | None = None
    photo: str | None = None
    labels: list[str] | None = None
    createdAt: str
    updatedAt: str


class WorkspaceDetail(IndexFields):
    """A workspace: its root fields, revision, automations (summaries) and app instances."""

    id: str
    slug: str
    name: str
    revision: int
    createdAt: str
    updatedAt: str
    automations: dict[str, AutomationSummary]
    imports: dict[str, dict[str, Any]] = Field(description="app instances by slug, as stored")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "5f0c…", "slug": "hello", "name": "Hello", "revision": 1, "createdAt": "2026-01-01T00:00:00Z",
         "updatedAt": "2026-01-01T00:00:00Z", "automations": {"hello": {"name": "hello", "when": {"endpoint": True}}},
         "imports": {}}]})


class ImportResult(Closed):
    """What an import answers: the workspace, on a re-import whether it ``changed`` (nothing is
    stored when it did not) and ``securityKept`` when ``?keepSecurity=true`` kept security.yml."""

    workspace: WorkspaceDetail
    changed: bool | None = None
    securityKept: bool | None = None
    warnings: list[Problem] = warnings_field()


class WriteLockReleased(Closed):
    """``DELETE …/writeLock``: whether an import lock was held (and is now released)."""

    id: str
    released: bool
