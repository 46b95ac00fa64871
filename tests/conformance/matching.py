"""Comparison modes and value matchers of the conformance corpus (README "Value matchers")."""

from __future__ import annotations

import math
from typing import Any

from language import UNDEFINED
from language.values import json_type

MISSING = UNDEFINED


def _is_matcher(expected: Any) -> bool:
    return isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$")


def undefined_inputs(value: Any) -> Any:
    """``{$undefined: true}`` in an input stands for an undefined value (README)."""
    if isinstance(value, dict):
        if value == {"$undefined": True}:
            return MISSING
        return {k: undefined_inputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [undefined_inputs(v) for v in value]
    return value


def matches(expected: Any, actual: Any, subset: bool) -> bool:
    if _is_matcher(expected):
        key, arg = next(iter(expected.items()))
        if key == "$undefined":
            return (actual is MISSING) == bool(arg)
        if key == "$exact":
            return matches(arg, actual, subset=False)
        if key == "$type":
            return json_type(actual) == arg
        if key == "$prefix":
            return isinstance(actual, list) and len(actual) >= len(arg) and all(
                matches(e, a, subset=True) for e, a in zip(arg, actual, strict=False))
        raise ValueError(f"unknown matcher {key}")
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        present = {k: v for k, v in actual.items() if v is not MISSING}
        for key, value in expected.items():
            if _is_matcher(value) and "$undefined" in value:
                if not matches(value, present.get(key, MISSING), subset):
                    return False
                continue
            if key not in present or not matches(value, present[key], subset):
                return False
        if not subset:
            expected_keys = {k for k, v in expected.items() if not (_is_matcher(v) and "$undefined" in v)}
            if set(present) - expected_keys:
                return False
        return True
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            matches(e, a, subset) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if isinstance(expected, float) and math.isnan(expected):
            return isinstance(actual, float) and math.isnan(actual)
        return float(expected) == float(actual)
    if expected is None:
        return actual is None
    return bool(expected == actual)
