"""Shared helpers for the language unit tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from workflows.language import UNDEFINED, LanguageEnv

FIXED_NOW = datetime(2023, 3, 31, 17, 7, 23, 975000, tzinfo=UTC)


def fixed_env(random_value: float = 0.5, **kw: Any) -> LanguageEnv:
    return LanguageEnv(now=lambda: FIXED_NOW, random=lambda: random_value, **kw)


def cases_dir() -> Path:
    env = os.environ.get("CONFORMANCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "conformance"


def load_cases(name: str) -> list[dict[str, Any]]:
    path = cases_dir() / name
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["cases"] if isinstance(data, dict) else data


def to_input(value: Any) -> Any:
    """Turn ``{$undefined: true}`` matchers in inputs into UNDEFINED."""
    if isinstance(value, dict):
        if list(value) == ["$undefined"]:
            return UNDEFINED
        return {k: to_input(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_input(v) for v in value]
    return value


def matches_expected(actual: Any, expected: Any) -> bool:
    """Exact comparison mode of the case files (numbers numerically, undefined members ignored)."""
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        key, arg = next(iter(expected.items()))
        if key == "$undefined":
            return actual is UNDEFINED
        if key == "$exact":
            return matches_expected(actual, arg)
        if key == "$type":
            return json_type(actual) == arg
        raise AssertionError(f"unknown matcher {key}")
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(matches_expected(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        keys = {k for k, v in actual.items() if v is not UNDEFINED}
        exp_keys = {k for k, v in expected.items() if not (isinstance(v, dict) and v == {"$undefined": True})}
        if keys != exp_keys:
            return False
        return all(matches_expected(actual.get(k, UNDEFINED), v) for k, v in expected.items())
    if expected is None:
        return actual is None
    return type(actual) is type(expected) and actual == expected


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "undefined"
