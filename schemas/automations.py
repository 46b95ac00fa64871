"""An automation as a typed model (spec §2.1): parsed once at the edge (import, automation routes)
into an :class:`Automation` whose ``do`` is a tuple of instruction nodes (schemas/instructions.py),
and parsed the same way by the workflow from the stored definition it receives.

What can be known about an automation before it runs is computed here once (``facts``), not per
request: whether it may stream ``$http.chunk`` and which automations it calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from jsonschema import Draft7Validator
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.instruction_walk import findings, walk
from schemas.instructions import (
    Call,
    Dynamic,
    Instruction,
    Set,
    parse_instructions,
)
from schemas.problems import Finding, Path, findings_of, type_name

LocalizedText = str | dict[str, str]
TraceLevel = Literal["off", "steps", "values"]
SLUG_PATTERN = r"^[/a-zA-Z0-9 _-]+$"
"""Automation, page and app-instance slugs (no dots: a dot separates an app-instance prefix)."""
_SLUG = re.compile(SLUG_PATTERN)


def slug_problem(slug: Any, kind: str) -> str | None:
    if not isinstance(slug, str) or not _SLUG.match(slug):
        return f"invalid {kind} slug '{slug}': it must match {SLUG_PATTERN} (no dots)"
    return None


class When(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")
    events: list[str] | None = None
    endpoint: bool | str | None = None
    schedules: list[str] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> When:
        if not self.model_fields_set & {"events", "endpoint", "schedules"}:
            raise ValueError("when needs at least one of events, endpoint, schedules")
        return self


class Authorizations(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="allow")
    action: str | None = None


class DeclaredEvents(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="allow")
    emit: list[str] | None = None
    listen: list[str] | None = None
    autocomplete: list[Any] | None = None


@dataclass(frozen=True)
class AutomationFacts:
    """What the engine needs to know ahead of a run (computed once per definition)."""

    streams_http: bool  # may set $http.chunk: webhook runs are followed chunk by chunk
    calls: tuple[tuple[Path, Call], ...]  # every call, with its instruction path


class Automation(BaseModel):
    """``output``: check :attr:`has_output` to tell an absent output (``{}``) from ``null``."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", populate_by_name=True)

    slug: str | None = None
    name: LocalizedText
    description: LocalizedText | None = None
    arguments: dict[str, dict[str, Any]] | None = None
    validate_arguments: bool = Field(False, alias="validateArguments")
    when: When | None = None
    do: tuple[Instruction, ...]
    output: Any = None
    private: bool = False
    disabled: bool = False
    authorizations: Authorizations | None = None
    labels: list[str] | None = None
    events: DeclaredEvents | None = None
    trace: TraceLevel | None = None  # the run trace's level for this automation (docs/runs.md)
    id: str | None = None
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    created_by: str | None = Field(None, alias="createdBy")
    updated_by: str | None = Field(None, alias="updatedBy")

    @field_validator("do", mode="before")
    @classmethod
    def _instructions(cls, value: Any) -> tuple[Instruction, ...]:
        return parse_instructions(value, ("do",))

    @property
    def has_output(self) -> bool:
        return "output" in self.model_fields_set

    @property
    def action(self) -> str | None:
        """The permission ``authorizations.action`` asks of callers (None: anyone may run it)."""
        found = self.authorizations
        action = found.get("action") if isinstance(found, dict) else getattr(found, "action", None)
        return action if isinstance(action, str) and action else None

    @cached_property
    def facts(self) -> AutomationFacts:
        nodes = list(walk(self.do, ("do",)))
        return AutomationFacts(streams_http=any(_may_stream(node) for _, node in nodes),
                               calls=tuple((path, node) for path, node in nodes if isinstance(node, Call)))


def _may_stream(node: Instruction) -> bool:
    """A ``set`` that may write ``$http.chunk``: ``$http`` and ``chunk`` both appear in it (its
    name, or its value naming a ``chunk`` key)."""
    if isinstance(node, Dynamic):
        text = node.template
    elif isinstance(node, Set):
        text = json.dumps([node.name, node.value], default=str)
    else:
        return False
    return "$http" in text and "chunk" in text


def load_automation(value: dict[str, Any]) -> Automation:
    """A stored definition as the engine runs it. A checked definition validates; one that never
    was (the conformance runner loads the reference's models as they are) or that predates a check
    still runs: its known fields are taken as they are and a malformed instruction is an
    ``Invalid`` node, raised only if it is reached."""
    try:
        return Automation.model_validate(value)
    except ValidationError:
        fields = {name: value[field.alias or name] for name, field in Automation.model_fields.items()
                  if (field.alias or name) in value and name != "do"}
        return Automation.model_construct(**fields, do=parse_instructions(value.get("do") or [], ("do",)))


def parse_automation(slug: str, value: Any) -> tuple[Automation | None, list[Finding]]:
    """The automation stored under ``slug`` and every problem of it (paths inside the automation)."""
    problems: list[Finding] = []
    slug_issue = slug_problem(slug, "automation")
    if slug_issue:
        problems.append(Finding(path=(), message=slug_issue))
    if not isinstance(value, dict):
        return None, [*problems, Finding(path=(), message=f"an automation must be an object, got {type_name(value)}")]
    model: Automation | None
    try:
        model = Automation.model_validate(value)
        nodes = model.do
    except ValidationError as error:
        model = None
        problems += [f for f in findings_of(error) if f.path[:1] != ("do",) or f.path == ("do",)]
        nodes = parse_instructions(value["do"], ("do",)) if "do" in value else ()
    if "slug" in value and value["slug"] != slug:
        problems.append(Finding(path=("slug",), message=f"slug '{value['slug']}' differs from the automation "
                                                         f"key '{slug}'"))
    if isinstance(value.get("arguments"), dict):
        problems += arguments_problems(value["arguments"], ("arguments",))
    elif "arguments" in value and value["arguments"] is None:
        problems.append(Finding(path=("arguments",), severity="warning",
                                message="arguments is empty (null): write {} or remove it"))
    problems += findings(nodes, ("do",))
    return (None if any(p.severity == "error" for p in problems) else model), problems


_META = Draft7Validator(Draft7Validator.META_SCHEMA)
_UI_KEYWORDS = ("secret", "event")


def _localized(value: Any) -> bool:
    """A localized text: ``{en: "…", fr: "…"}``."""
    return isinstance(value, dict) and bool(value) and all(isinstance(v, str) for v in value.values())


def _strip_ui(schema: Any) -> Any:
    """Drop the UI keywords of TypedArgument (``ui:*``, ``secret``, ``event``), Prisme's
    ``localized:*`` types and localized ``title``/``description`` texts so the standard
    meta-schema can check the rest."""
    if isinstance(schema, list):
        return [_strip_ui(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("ui:") or key in _UI_KEYWORDS:
            continue
        if key in ("title", "description") and _localized(value):
            continue
        if key == "type":
            types = value if isinstance(value, list) else [value]
            kept = [t for t in types if not (isinstance(t, str) and t.startswith("localized:"))]
            if kept:
                out[key] = kept if isinstance(value, list) else kept[0]
            continue
        out[key] = _strip_ui(value)
    return out


def arguments_problems(arguments: dict[str, Any], path: Path) -> list[Finding]:
    """``arguments`` is ``{name: JSON Schema}`` (arguments are described in JSON Schema, so the
    meta-schema checks them); UI keywords are ignored."""
    problems: list[Finding] = []
    for name, schema in arguments.items():
        if not isinstance(schema, dict):
            continue  # reported by the model ("must be an object")
        for error in sorted(_META.iter_errors(_strip_ui(schema)), key=lambda e: [str(p) for p in e.absolute_path]):
            problems.append(Finding(path=(*path, name, *error.absolute_path),
                                    message=f"invalid argument schema: {error.message}"))
    return problems
