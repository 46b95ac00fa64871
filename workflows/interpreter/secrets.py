"""Secret values and their redaction from native events (spec §1.3, §6.1)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from workflows.language import get_path

REDACTED = "REDACTED"


def find_secret_paths(arguments: Any, prefix: str = "") -> list[str]:
    """Dotted paths of arguments (and nested ``properties``) declared ``secret: true``."""
    paths: list[str] = []
    if not isinstance(arguments, dict):
        return paths
    for name, schema in arguments.items():
        if not isinstance(schema, dict):
            continue
        path = f"{prefix}{name}"
        if schema.get("secret") is True:
            paths.append(path)
        if isinstance(schema.get("properties"), dict):
            paths += find_secret_paths(schema["properties"], f"{path}.")
    return paths


def find_secret_values(payload: Any, paths: Iterable[str]) -> list[str]:
    """Distinct non-blank string values found at ``paths`` (trimmed, in order)."""
    values: list[str] = []
    for path in paths:
        value = get_path(payload, path) if isinstance(payload, dict) else None
        if isinstance(value, str) and value.strip() and value.strip() not in values:
            values.append(value.strip())
    return values


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Replace every occurrence of every secret in the JSON text of ``value`` (keys included)."""
    found = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not found:
        return value
    text = json.dumps(value, ensure_ascii=False)
    changed = False
    for secret in found:
        encoded = json.dumps(secret, ensure_ascii=False)[1:-1]  # the secret as it appears inside JSON strings
        if encoded in text:
            text = text.replace(encoded, REDACTED)
            changed = True
    return json.loads(text) if changed else value
