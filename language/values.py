"""Helpers on JSON-like values: copying, cleaning and naming JS types."""

from __future__ import annotations

from typing import Any

from language import UNDEFINED


def deep_copy(value: Any) -> Any:
    """Copy a JSON-like tree (faster than copy.deepcopy for dict/list/scalars)."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def strip_undefined(value: Any) -> Any:
    """Drop ``undefined`` members (they do not exist in JSON); undefined in a list is null."""
    if isinstance(value, dict):
        return {k: strip_undefined(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [None if v is UNDEFINED else strip_undefined(v) for v in value]
    if value is UNDEFINED:
        return None
    return value


def json_type(value: Any) -> str:
    """The JSON Schema type name of a value (``undefined`` for anything JSON has no name for):
    for the ``$type`` matchers of the test runners."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "undefined"


def js_type_name(value: Any) -> str:
    """The constructor name JavaScript would report, for error messages."""
    if value is None:
        return "Null"
    if value is UNDEFINED:
        return "Undefined"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    return "Object"
