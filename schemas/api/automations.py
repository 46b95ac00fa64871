"""Automations (spec §2.1): the definition sent and stored, and its summary."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed, LocalizedText, Open, Problem, warnings_field

EXAMPLE: dict[str, Any] = {"name": "hello", "when": {"endpoint": True},
           "do": [{"set": {"name": "greeting", "value": "Hello {{body.name}}"}}], "output": "{{greeting}}"}


class AutomationFields(Open):
    """The fields of an automation. The full rules (instructions, expressions, ``when``) are
    the DSUL validation's (``schemas/validation.py``), which lists every problem."""

    slug: str | None = Field(default=None, description="letters, digits, space, `_`, `-`, `/`; "
                             "from the name when absent")
    name: LocalizedText | None = None
    description: LocalizedText | None = None
    arguments: dict[str, Any] | None = Field(default=None, description="argument name → JSON schema")
    validateArguments: bool | None = None
    when: dict[str, Any] | None = Field(default=None, description="triggers: `{endpoint?, events?, schedules?}`")
    do: list[dict[str, Any]] | None = Field(default=None, description="instructions, each a one-key object")
    output: Any = Field(default=None, description="the run's answer (an expression or any JSON value)")
    private: bool | None = None
    disabled: bool | None = None
    authorizations: dict[str, Any] | None = None
    labels: list[str] | None = None
    events: dict[str, Any] | None = None


class AutomationBody(AutomationFields):
    """An automation to create or replace: ``name`` and ``do`` are required."""

    name: LocalizedText  # type: ignore[assignment]
    do: list[dict[str, Any]]  # type: ignore[assignment]

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})


class Automation(AutomationFields):
    """A stored automation, with its slug."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**EXAMPLE, "slug": "hello"}]})


class SavedAutomation(Automation):
    """What creating or updating an automation answers: the stored automation."""

    warnings: list[Problem] = warnings_field()


class AutomationSummary(Closed):
    """An automation in a listing or a workspace's detail."""

    name: LocalizedText | None = None
    description: LocalizedText | None = None
    arguments: dict[str, Any] | None = None
    private: bool | None = None
    disabled: bool | None = None
    when: dict[str, Any] | None = None
    labels: list[str] | None = None


class RemovedAutomation(Closed):
    slug: str
