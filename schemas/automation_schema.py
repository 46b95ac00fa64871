"""JSON schemas (draft-07) of the DSUL: automations, ``when``, app instances, ``index.yml``.

The Automation schema follows ``#/components/schemas/Automation`` of the reference swagger as the
conformance README describes it: required ``name`` (string or map of strings) and ``do`` (array),
no unknown top-level keys, instructions are one-key objects, ``when`` needs one of its triggers.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

# Slug rules (spec §1.1).
SLUG_PATTERN = r"^[/a-zA-Z0-9 _-]+$"
"""Automation, page and app-instance slugs (no dots: a dot separates an app-instance prefix)."""
WORKSPACE_SLUG_PATTERN = r"^[/a-z0-9-]+$"

NATIVE_INSTRUCTIONS: frozenset[str] = frozenset(
    {
        "set",
        "delete",
        "emit",
        "wait",
        "conditions",
        "repeat",
        "all",
        "break",
        "fetch",
        "comment",
        "createUserTopic",
        "joinUserTopic",
        "rateLimit",
    }
)

LOCALIZED_TEXT: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": {"type": "string"}},
    ]
}

INSTRUCTION_SCHEMA: dict[str, Any] = {"type": "object", "minProperties": 1, "maxProperties": 1}

WHEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "when needs at least one of events, endpoint, schedules",
    "properties": {
        "events": {"type": "array", "items": {"type": "string"}},
        "endpoint": {"type": ["boolean", "string"]},
        "schedules": {"type": "array", "items": {"type": "string"}},
    },
    "anyOf": [
        {"required": ["events"]},
        {"required": ["endpoint"]},
        {"required": ["schedules"]},
    ],
}

_STRING_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def _automation_schema(instruction: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name", "do"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "slug": {"type": "string"},
            "name": LOCALIZED_TEXT,
            "description": LOCALIZED_TEXT,
            "arguments": {"type": "object", "additionalProperties": {"type": "object"}},
            "validateArguments": {"type": "boolean"},
            "when": WHEN_SCHEMA,
            "do": {"type": "array", "items": instruction},
            "output": {},
            "private": {"type": "boolean"},
            "disabled": {"type": "boolean"},
            "authorizations": {
                "type": "object",
                "properties": {"action": {"type": "string"}},
            },
            "labels": _STRING_LIST,
            "events": {
                "type": "object",
                "properties": {
                    "emit": _STRING_LIST,
                    "listen": _STRING_LIST,
                    "autocomplete": {"type": "array"},
                },
            },
            "createdAt": {"type": "string"},
            "updatedAt": {"type": "string"},
            "createdBy": {"type": "string"},
            "updatedBy": {"type": "string"},
        },
    }


AUTOMATION_SCHEMA: dict[str, Any] = _automation_schema(INSTRUCTION_SCHEMA)
"""The reference Automation schema (instructions checked as one-key objects only)."""

AUTOMATION_SHALLOW_SCHEMA: dict[str, Any] = _automation_schema({})
"""Same, with ``do`` items unchecked: workspace validation walks instructions itself."""

APP_INSTANCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["appSlug"],
    "properties": {
        "appSlug": {"type": "string", "minLength": 1},
        "slug": {"type": "string"},
        "appVersion": {"type": "string"},
        "config": {},
        "disabled": {"type": "boolean"},
        "appName": LOCALIZED_TEXT,
        "labels": _STRING_LIST,
        "createdAt": {"type": "string"},
        "updatedAt": {"type": "string"},
        "createdBy": {"type": "string"},
        "updatedBy": {"type": "string"},
    },
}

_TYPED_ARGUMENTS: dict[str, Any] = {
    "type": "object",
    "properties": {"schema": {"type": "object", "additionalProperties": {"type": "object"}}},
}

WORKSPACE_INDEX_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        # Spec §1.2 gives a pattern; Tideway only asks for a non-empty string (see README).
        "name": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "slug": {"type": "string", "pattern": WORKSPACE_SLUG_PATTERN},
        "id": {"type": "string"},
        "description": LOCALIZED_TEXT,
        "photo": {"type": "string"},
        "config": {
            "type": "object",
            "properties": {
                "value": {},
                "schema": {"type": "object", "additionalProperties": {"type": "object"}},
                "block": {"type": "string"},
            },
        },
        "secrets": _TYPED_ARGUMENTS,
        "customDomains": _STRING_LIST,
        "labels": _STRING_LIST,
        "registerWorkspace": {"type": "boolean"},
        "repositories": {"type": "object", "additionalProperties": {"type": "object"}},
        "blocks": {},
        "createdAt": {"type": "string"},
        "updatedAt": {"type": "string"},
        "createdBy": {"type": "string"},
        "updatedBy": {"type": "string"},
    },
}
INDEX_FIELDS: frozenset[str] = frozenset(WORKSPACE_INDEX_SCHEMA["properties"])

SECURITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "authorizations": {
            "type": "object",
            "properties": {
                "roles": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
                "rules": {"type": "array", "items": {"type": "object"}},
            },
        },
        "authentication": {"type": "object"},
    },
}

# Instructions that instructions.json does not describe (spec §3.10, §3.11; rateLimit is a later
# Tideway instruction whose shape is not fixed yet, so only "an object" is required).
EXTRA_INSTRUCTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "createUserTopic": {
        "type": "object",
        "required": ["createUserTopic"],
        "maxProperties": 1,
        "properties": {
            "createUserTopic": {
                "type": "object",
                "required": ["topic"],
                "properties": {
                    "topic": {"type": "string"},
                    "userIds": {"type": ["array", "string"], "items": {"type": "string"}},
                },
            }
        },
    },
    "joinUserTopic": {
        "type": "object",
        "required": ["joinUserTopic"],
        "maxProperties": 1,
        "properties": {
            "joinUserTopic": {
                "type": "object",
                "required": ["topic"],
                "properties": {
                    "topic": {"type": "string"},
                    "userIds": {"type": ["array", "string"], "items": {"type": "string"}},
                    "create": {"type": "boolean"},
                },
            }
        },
    },
    "rateLimit": {
        "type": "object",
        "required": ["rateLimit"],
        "maxProperties": 1,
        "properties": {"rateLimit": {"type": "object"}},
    },
}


@cache
def reference_instruction_schemas() -> dict[str, dict[str, Any]]:
    """``instructions.json`` verbatim (the ``$comment`` entry left out)."""
    text = resources.files("schemas").joinpath("instructions.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {k: v for k, v in data.items() if not k.startswith("$")}


@cache
def workspace_instruction_schemas() -> dict[str, dict[str, Any]]:
    """The schemas used to validate imported workspaces: the reference ones, relaxed where the
    Tideway runtime accepts more (each relaxation is pinned by a runtime conformance case):

    * ``repeat``: ``on`` may be any value (lists, objects, numbers: DECISIONS 14) and ``on`` with
      ``until`` together is accepted (``anyOf`` instead of ``oneOf``);
    * ``conditions``: ``default`` is optional and one branch is enough;
    * ``fetch.method``: any letter case; ``fetch.query`` values may be lists (the key repeats);
      ``fetch.stream.concatenate`` may be ``true`` (docs/fetch.md) as well as ``{path?, throttle?}``;
    * ``createUserTopic``, ``joinUserTopic``, ``rateLimit`` are added.
    """
    schemas = copy.deepcopy(reference_instruction_schemas())
    repeat = schemas["repeat"]["properties"]["repeat"]
    branches = repeat.pop("oneOf")
    branches[0]["properties"]["on"] = {}
    repeat["anyOf"] = branches
    conditions = schemas["conditions"]
    conditions.pop("required", None)
    conditions["minProperties"] = 1
    fetch = schemas["fetch"]["properties"]["fetch"]["properties"]
    fetch["query"]["additionalProperties"] = {
        "type": ["string", "number", "boolean", "array"],
        "items": {"type": ["string", "number", "boolean"]},
    }
    method = fetch["method"]
    method["enum"] = [m for v in method["enum"] for m in (v, v.upper(), v.capitalize())]
    concatenate = fetch["stream"]["properties"]["concatenate"]
    fetch["stream"]["properties"]["concatenate"] = {"anyOf": [{"type": "boolean"}, concatenate]}
    schemas.update(copy.deepcopy(EXTRA_INSTRUCTION_SCHEMAS))
    return schemas
