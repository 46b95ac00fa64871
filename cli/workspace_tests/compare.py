"""Comparing an expected value with an actual one, naming every field that differs:
``expect.output.items[2].price: expected 3, got 4``.

Exact mode: objects have the same keys, lists the same length. Subset mode: objects may have more
keys (only the expected ones are compared, at every depth), lists still have the same length and
their items are compared as subsets. Numbers compare by value (``3 == 3.0``), never with
booleans. Matchers: ``{$type: string}`` (the JSON type), ``{$regex: "^2026-"}`` (a pattern found
in a text), ``{$exact: …}`` (exact comparison inside a subset), and as a field's value
``{$absent: true}`` (the field must not be there; ``false``: there, with any value).
"""

from __future__ import annotations

import json
import re
from typing import Any

from cli.workspace_tests.outcome import MISSING
from language.values import json_type

MATCHERS = ("$type", "$regex", "$exact", "$absent")
SHOWN_CHARS = 120
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def show(value: Any) -> str:
    """A value as a diff line shows it: JSON, cut to SHOWN_CHARS."""
    if value is MISSING:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def is_matcher(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in MATCHERS


def differences(expected: Any, actual: Any, path: str, *, subset: bool) -> list[str]:
    """One line per differing field (empty when they match)."""
    if is_matcher(expected):
        key, arg = next(iter(expected.items()))
        if key == "$type":
            found = json_type(actual)
            return [] if found == arg else [f"{path}: expected a value of type {arg}, got {show(actual)} ({found})"]
        if key == "$exact":
            return differences(arg, actual, path, subset=False)
        if key == "$absent":
            if bool(arg) == (actual is MISSING):
                return []
            return [f"{path}: expected no such field, got {show(actual)}" if arg else f"{path}: expected a value, got nothing"]
        if not isinstance(actual, str) or re.search(str(arg), actual) is None:
            return [f"{path}: expected text matching /{arg}/, got {show(actual)}"]
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {show(actual)}"]
        lines: list[str] = []
        for key, value in expected.items():
            if is_matcher(value) and "$absent" in value:
                lines += differences(value, actual.get(key, MISSING), child(path, key), subset=subset)
            elif key not in actual:
                lines.append(f"{child(path, key)}: expected {show(value)}, got nothing (no such field)")
            else:
                lines += differences(value, actual[key], child(path, key), subset=subset)
        if not subset:
            lines += [f"{child(path, key)}: not expected, got {show(value)}" for key, value in actual.items()
                      if key not in expected]
        return lines
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {show(actual)}"]
        lines = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            lines += differences(want, got, child(path, index), subset=subset)
        if len(expected) != len(actual):
            lines.append(f"{path}: expected {len(expected)} items, got {len(actual)}"
                         + (f" (first extra: {show(actual[len(expected)])})" if len(actual) > len(expected) else ""))
        return lines
    if same_scalar(expected, actual):
        return []
    return [f"{path}: expected {show(expected)}, got {show(actual)}"]


def same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    if expected is None:
        return actual is None
    return bool(type(expected) is type(actual) and expected == actual)


def matches(expected: Any, actual: Any, *, subset: bool = True) -> bool:
    return not differences(expected, actual, "", subset=subset)
