"""Structural checks of automations: instruction walking, ``arguments`` schemas, path formatting.

Every check returns a list of ``(path, message)`` problems where ``path`` is a list of keys and
indexes relative to the checked value (``["do", 2, "conditions", "{{a}} == 1", 0]``);
``format_path`` renders it as ``do[2].conditions["{{a}} == 1"][0]``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from schemas.automation_schema import (
    AUTOMATION_SHALLOW_SCHEMA,
    SLUG_PATTERN,
    workspace_instruction_schemas,
)

PathPart = str | int
Path = list[PathPart]
Problem = tuple[Path, str]

_BARE_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_SLUG = re.compile(SLUG_PATTERN)
MAX_DEPTH = 100
"""Instruction nesting deeper than this is reported instead of walked."""


def format_path(parts: Iterable[PathPart]) -> str:
    """``["do", 2, "conditions", "{{a}}", 0]`` → ``do[2].conditions["{{a}}"][0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _BARE_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def is_template(value: Any) -> bool:
    """A string holding ``{{ }}`` or ``{% %}``: its type is only known once interpolated."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _significant(error: ValidationError) -> bool:
    """False for errors that interpolation may fix: a template string where a typed value is
    expected, or an ``anyOf``/``oneOf`` with one branch failing only for such reasons."""
    if is_template(error.instance):
        return False
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        if any(not any(_significant(s) for s in subs) for subs in branches.values()):
            return False
    return True


def _describe(error: ValidationError) -> Problem:
    """Path and message of an error; for ``anyOf``/``oneOf`` those of the closest branch."""
    path: Path = list(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        closest = min(branches.values(), key=len)
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        if description and all(sub.validator == "required" for sub in closest):
            return path, str(description)
        if len(closest) == 1:
            return [*path, *closest[0].relative_path], closest[0].message
        parts = []
        for sub in closest:
            where = format_path(sub.relative_path)
            parts.append(f"{where}: {sub.message}" if where else sub.message)
        return path, "; ".join(parts)
    return path, error.message


def schema_problems(
    validator: Draft7Validator, value: Any, *, lenient: bool = False
) -> list[Problem]:
    """Every schema error as a problem; ``lenient`` drops errors interpolation may fix."""
    problems: list[Problem] = []
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        if lenient and not _significant(error):
            continue
        problems.append(_describe(error))
    return problems


@cache
def _instruction_validators() -> dict[str, Draft7Validator]:
    return {name: Draft7Validator(s) for name, s in workspace_instruction_schemas().items()}


_AUTOMATION_SHALLOW = Draft7Validator(AUTOMATION_SHALLOW_SCHEMA)
_META = Draft7Validator(Draft7Validator.META_SCHEMA)


def _prefixed(prefix: Sequence[PathPart], problems: Iterable[Problem]) -> list[Problem]:
    return [([*prefix, *path], msg) for path, msg in problems]


def instruction_list_problems(value: Any, path: Path, depth: int = 0) -> list[Problem]:
    """Check a list of instructions (``do``, a ``conditions`` branch, ``repeat.do``)."""
    if not isinstance(value, list):
        return [(path, f"expected a list of instructions, got {_type_name(value)}")]
    problems: list[Problem] = []
    for index, item in enumerate(value):
        problems.extend(instruction_problems(item, [*path, index], depth))
    return problems


def instruction_problems(instruction: Any, path: Path, depth: int = 0) -> list[Problem]:
    """Check one instruction: a one-key object; native instructions against their schema,
    nested instruction lists walked; any other key is an automation call."""
    if depth > MAX_DEPTH:
        return [(path, f"instructions nested deeper than {MAX_DEPTH} levels")]
    if not isinstance(instruction, dict):
        return [
            (
                path,
                f"unknown instruction: expected an object with one key, got {_type_name(instruction)}",
            )
        ]
    if len(instruction) != 1:
        keys = ", ".join(json.dumps(k, ensure_ascii=False) for k in instruction) or "none"
        return [
            (
                path,
                f"unknown instruction: an instruction has exactly one key, got {len(instruction)} ({keys})",
            )
        ]
    name, value = next(iter(instruction.items()))
    here = [*path, name]
    if value is None:
        return [
            (
                here,
                f"InvalidInstructionError: instruction '{name}' has a null value (write {{}} for no arguments)",
            )
        ]
    validators = _instruction_validators()
    if name == "conditions":
        problems = _prefixed(here, schema_problems(validators["conditions"], value, lenient=True))
        if isinstance(value, dict):
            for key, branch in value.items():
                if isinstance(branch, list):
                    problems.extend(instruction_list_problems(branch, [*here, key], depth + 1))
        return problems
    if name in validators:
        problems = schema_problems(validators[name], instruction, lenient=True)
        problems = _prefixed(path, problems)
        if name == "repeat" and isinstance(value, dict) and isinstance(value.get("do"), list):
            problems.extend(instruction_list_problems(value["do"], [*here, "do"], depth + 1))
        elif name == "all" and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    problems.extend(instruction_problems(item, [*here, index], depth + 1))
        return problems
    # Automation call: arguments are an object (or a template producing one).
    if not isinstance(value, dict) and not is_template(value):
        return [
            (
                here,
                f"arguments of the call to automation '{name}' must be an object, got {_type_name(value)}",
            )
        ]
    return []


_UI_KEYWORDS = ("secret", "event")


def _strip_ui(schema: Any) -> Any:
    """Drop the UI keywords of TypedArgument (``ui:*``, ``secret``, ``event``) and Prisme's
    ``localized:*`` types so the standard meta-schema can check the rest."""
    if isinstance(schema, list):
        return [_strip_ui(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("ui:") or key in _UI_KEYWORDS:
            continue
        if key == "type":
            if isinstance(value, str) and value.startswith("localized:"):
                continue
            if isinstance(value, list):
                value = [
                    t for t in value if not (isinstance(t, str) and t.startswith("localized:"))
                ]
                if not value:
                    continue
            out[key] = value
            continue
        out[key] = _strip_ui(value)
    return out


def arguments_problems(arguments: Any, path: Path, *, check_types: bool = True) -> list[Problem]:
    """``arguments`` is ``{name: JSON Schema}``; each schema must be valid (UI keywords ignored).
    ``check_types=False`` skips the "not an object" problems (already reported by a schema)."""
    if not isinstance(arguments, dict):
        return [
            (path, f"arguments must be an object of argument schemas, got {_type_name(arguments)}")
        ]
    problems: list[Problem] = []
    for name, schema in arguments.items():
        if not isinstance(schema, dict):
            if not check_types:
                continue
            problems.append(
                ([*path, name], f"argument schema must be an object, got {_type_name(schema)}")
            )
            continue
        stripped = _strip_ui(schema)
        for error in sorted(
            _META.iter_errors(stripped), key=lambda e: [str(p) for p in e.absolute_path]
        ):
            problems.append(
                ([*path, name, *error.absolute_path], f"invalid argument schema: {error.message}")
            )
    return problems


def automation_problems(slug: str, automation: Any) -> list[Problem]:
    """Everything that can be checked on one automation alone (endpoint clashes excluded)."""
    problems: list[Problem] = []
    if not _SLUG.match(slug):
        problems.append(
            ([], f"invalid automation slug '{slug}': it must match {SLUG_PATTERN} (no dots)")
        )
    if not isinstance(automation, dict):
        problems.append(([], f"an automation must be an object, got {_type_name(automation)}"))
        return problems
    problems.extend(schema_problems(_AUTOMATION_SHALLOW, automation))
    if "slug" in automation and automation["slug"] != slug:
        problems.append(
            (["slug"], f"slug '{automation['slug']}' differs from the automation key '{slug}'")
        )
    if "arguments" in automation and isinstance(automation["arguments"], dict):
        problems.extend(
            arguments_problems(automation["arguments"], ["arguments"], check_types=False)
        )
    if isinstance(automation.get("do"), list):
        problems.extend(instruction_list_problems(automation["do"], ["do"]))
    return problems


def slug_problem(slug: str, kind: str) -> str | None:
    if not isinstance(slug, str) or not _SLUG.match(slug):
        return f"invalid {kind} slug '{slug}': it must match {SLUG_PATTERN} (no dots)"
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
