"""Shared helpers for the language unit tests."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from language import UNDEFINED, LanguageEnv
from tests.conformance.matching import matches, undefined_inputs

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
    return undefined_inputs(value)


def matches_expected(actual: Any, expected: Any) -> bool:
    """Exact comparison mode of the case files (numbers numerically, undefined members ignored)."""
    return matches(expected, actual, subset=False)


def same(actual: Any, expected: Any) -> bool:
    """Equal and of the same type (1 is not 1.0 nor True); NaN equals NaN; UNDEFINED is itself."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if expected is UNDEFINED:
        return actual is UNDEFINED
    return bool(actual == expected) and type(actual) is type(expected)

