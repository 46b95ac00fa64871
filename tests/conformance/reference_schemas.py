"""The reference platform's own JSON Schemas, as the oracle of validation.yaml: its Automation schema
(``#/components/schemas/Automation`` of its swagger, which the corpus does not reproduce but whose
rules its README lists) and its instruction schemas (``packages/validation/instructions.json``, given
verbatim by the corpus file itself). Tideway validates with its own typed models
(schemas/automations.py); these answer only the corpus's question "does the reference accept it?"."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator

_LOCALIZED_TEXT: dict[str, Any] = {"anyOf": [{"type": "string"},
                                             {"type": "object", "additionalProperties": {"type": "string"}}]}
_STRING_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
AUTOMATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "do"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"}, "slug": {"type": "string"}, "name": _LOCALIZED_TEXT,
        "description": _LOCALIZED_TEXT,
        "arguments": {"type": "object", "additionalProperties": {"type": "object"}},
        "validateArguments": {"type": "boolean"},
        "when": {"type": "object",
                 "properties": {"events": _STRING_LIST, "endpoint": {"type": ["boolean", "string"]},
                                "schedules": _STRING_LIST},
                 "anyOf": [{"required": ["events"]}, {"required": ["endpoint"]}, {"required": ["schedules"]}]},
        "do": {"type": "array", "items": {"type": "object", "minProperties": 1, "maxProperties": 1}},
        "output": {}, "private": {"type": "boolean"}, "disabled": {"type": "boolean"},
        "authorizations": {"type": "object", "properties": {"action": {"type": "string"}}},
        "labels": _STRING_LIST,
        "events": {"type": "object", "properties": {"emit": _STRING_LIST, "listen": _STRING_LIST,
                                                    "autocomplete": {"type": "array"}}},
        "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
        "createdBy": {"type": "string"}, "updatedBy": {"type": "string"},
    },
}


def reference_errors(schema_ref: str, value: Any, instruction_schemas: dict[str, Any]) -> list[str]:
    """The reference validator's errors for ``value``: ``schema_ref`` is ``automation`` or
    ``instruction:<name>`` (a key of ``instruction_schemas``)."""
    if schema_ref == "automation":
        schema = AUTOMATION_SCHEMA
    elif schema_ref.startswith("instruction:"):
        name = schema_ref.removeprefix("instruction:")
        if name not in instruction_schemas:
            raise KeyError(f"no instruction schema named {name!r}")
        schema = instruction_schemas[name]
    else:
        raise ValueError(f"unknown schema reference {schema_ref!r}")
    return [error.message for error in Draft7Validator(schema).iter_errors(value)]


def is_valid(schema_ref: str, value: Any, instruction_schemas: dict[str, Any]) -> bool:
    return not reference_errors(schema_ref, value, instruction_schemas)
