"""Public validation API.

* ``validate_automation_schema`` / ``validate_instruction_schema`` / ``is_valid``: the reference
  schemas exactly (what ``validation.yaml`` pins), no Tideway relaxation.
* ``validate_workspace`` / ``validate_automation``: import-time checks of whole definitions,
  raising ``InvalidWorkspaceError`` whose ``details`` list every problem as
  ``{"path": "automations/hello.yml: do[2].conditions", "message": …}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft7Validator

from schemas.automation_schema import (
    APP_INSTANCE_SCHEMA,
    AUTOMATION_SCHEMA,
    SECURITY_SCHEMA,
    SLUG_PATTERN,
    WORKSPACE_INDEX_SCHEMA,
    WORKSPACE_SLUG_PATTERN,
    reference_instruction_schemas,
)
from schemas.checks import Problem, automation_problems, format_path, schema_problems, slug_problem
from schemas.dsul import WorkspaceSource, endpoint_name
from schemas.errors import InvalidSlugError, InvalidWorkspaceError

__all__ = [
    "check_slug",
    "check_workspace_slug",
    "is_valid",
    "validate_automation",
    "validate_automation_schema",
    "validate_instruction_schema",
    "validate_workspace",
    "workspace_problems",
]

_AUTOMATION = Draft7Validator(AUTOMATION_SCHEMA)
_INDEX = Draft7Validator(WORKSPACE_INDEX_SCHEMA)
_APP_INSTANCE = Draft7Validator(APP_INSTANCE_SCHEMA)
_SECURITY = Draft7Validator(SECURITY_SCHEMA)


@cache
def _reference_instruction_validators() -> dict[str, Draft7Validator]:
    return {name: Draft7Validator(s) for name, s in reference_instruction_schemas().items()}


def _messages(validator: Draft7Validator, value: Any) -> list[str]:
    out = []
    for path, message in schema_problems(validator, value):
        rendered = format_path(path)
        out.append(f"{rendered}: {message}" if rendered else message)
    return out


def validate_automation_schema(value: Any) -> list[str]:
    """Errors of ``value`` against the reference Automation schema (empty list: valid)."""
    return _messages(_AUTOMATION, value)


def validate_instruction_schema(name: str, value: Any) -> list[str]:
    """Errors of ``value`` against ``instructions.json``'s schema ``name`` (empty list: valid).
    Note that the ``conditions`` schema describes the body of a conditions instruction."""
    validators = _reference_instruction_validators()
    if name not in validators:
        raise KeyError(f"no instruction schema named {name!r}")
    return _messages(validators[name], value)


def is_valid(schema_ref: str, value: Any) -> bool:
    """``schema_ref`` is ``automation`` or ``instruction:<name>`` (the validation.yaml cases)."""
    if schema_ref == "automation":
        return not validate_automation_schema(value)
    if schema_ref.startswith("instruction:"):
        return not validate_instruction_schema(schema_ref.removeprefix("instruction:"), value)
    raise ValueError(f"unknown schema reference {schema_ref!r}")


def check_slug(slug: str, kind: str = "automation") -> None:
    """Raise ``InvalidSlugError`` unless ``slug`` is a valid automation/page/app-instance slug."""
    problem = slug_problem(slug, kind)
    if problem:
        raise InvalidSlugError(problem, details={"slug": slug, "pattern": SLUG_PATTERN})


def check_workspace_slug(slug: str) -> None:
    if not isinstance(slug, str) or not re.match(WORKSPACE_SLUG_PATTERN, slug):
        raise InvalidSlugError(
            f"invalid workspace slug '{slug}': it must match {WORKSPACE_SLUG_PATTERN}",
            details={"slug": slug, "pattern": WORKSPACE_SLUG_PATTERN},
        )


def _endpoint_problems(
    source: WorkspaceSource, automations: Mapping[str, Any]
) -> list[dict[str, str]]:
    details: list[dict[str, str]] = []
    owners: dict[str, str] = {}
    for slug in automations:
        automation = automations[slug]
        name = endpoint_name(slug, automation) if isinstance(automation, dict) else None
        if name is None:
            continue
        if name in owners:
            details.append(
                {
                    "path": source.locate("automations", slug, ["when", "endpoint"]),
                    "message": f"endpoint '{name}' of automation '{slug}' is already used by "
                    f"automation '{owners[name]}' (endpoint names are unique within a workspace)",
                }
            )
        else:
            owners[name] = slug
    return details


def workspace_problems(
    source: WorkspaceSource, *, require_index: bool = True
) -> list[dict[str, str]]:
    """Every problem of ``source`` as ``{"path", "message"}`` (empty list: valid).
    ``require_index=False`` accepts a source without root fields (a partial import into an
    existing workspace); root fields that are present are still checked."""
    details: list[dict[str, str]] = []

    def add(section: str, slug: str | None, problems: list[tuple[list[str | int], str]]) -> None:
        for path, message in problems:
            details.append({"path": source.locate(section, slug, path), "message": message})

    if require_index or source.index:
        index_schema = _INDEX
        if not require_index:
            index_schema = Draft7Validator({**WORKSPACE_INDEX_SCHEMA, "required": []})
        add("index", None, _unknown_fields_first(schema_problems(index_schema, source.index)))
    for slug in sorted(source.automations):
        add("automations", slug, automation_problems(slug, source.automations[slug]))
    details.extend(_endpoint_problems(source, source.automations))
    for slug in sorted(source.imports):
        problems: list[Problem] = []
        problem = slug_problem(slug, "app instance")
        if problem:
            problems.append(([], problem))
        instance = source.imports[slug]
        problems.extend(schema_problems(_APP_INSTANCE, instance))
        if isinstance(instance, dict) and "slug" in instance and instance["slug"] != slug:
            problems.append(
                (["slug"], f"slug '{instance['slug']}' differs from the import key '{slug}'")
            )
        add("imports", slug, problems)
    for slug in sorted(source.pages):
        problem = slug_problem(slug, "page")
        if not isinstance(source.pages[slug], dict):
            add("pages", slug, [([], "a page must be an object")])
        if problem:
            add("pages", slug, [([], problem)])
    if source.security is not None:
        add("security", None, schema_problems(_SECURITY, source.security))
    return details


def _unknown_fields_first(
    problems: list[tuple[list[str | int], str]],
) -> list[tuple[list[str | int], str]]:
    return sorted(problems, key=lambda p: "Additional properties" not in p[1])


def validate_workspace(source: WorkspaceSource, *, require_index: bool = True) -> None:
    """Raise ``InvalidWorkspaceError`` listing every problem of ``source``."""
    details = workspace_problems(source, require_index=require_index)
    if details:
        raise InvalidWorkspaceError(_summary(details), details=details)


def validate_automation(
    slug: str,
    automation: Any,
    *,
    others: Mapping[str, Any] | None = None,
) -> None:
    """Check one automation (automation create/update routes). ``others`` are the workspace's
    other automations by slug, checked for endpoint clashes. Paths read
    ``automations/<slug>.yml: …``."""
    source = WorkspaceSource()
    details = [
        {"path": source.locate("automations", slug, path), "message": message}
        for path, message in automation_problems(slug, automation)
    ]
    name = endpoint_name(slug, automation) if isinstance(automation, dict) else None
    if others is not None and name is not None:
        for other in sorted(others):
            value = others[other]
            if other != slug and isinstance(value, dict) and endpoint_name(other, value) == name:
                details.append(
                    {
                        "path": source.locate("automations", slug, ["when", "endpoint"]),
                        "message": f"endpoint '{name}' of automation '{slug}' is already used by "
                        f"automation '{other}' (endpoint names are unique within a workspace)",
                    }
                )
                break
    if details:
        raise InvalidWorkspaceError(_summary(details), details=details)


def _summary(details: list[dict[str, str]]) -> str:
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"Invalid workspace: {first['path']}: {first['message']}{more}"
