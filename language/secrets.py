"""Secret values and their redaction from native events (spec §1.3, §6.1; issue 14)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from language import get_path

REDACTED = "REDACTED"
# A secret shorter than this redacts only a value equal to it: a one-letter secret `k` must not turn
# every string holding a `k` (``workspaceId``) into REDACTED. From this length on, any string value
# containing the secret is redacted whole.
REDACT_MIN_SUBSTRING = 6


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


class Redactor:
    """Redaction by value: a string value equal to a secret, or containing one of at least
    ``REDACT_MIN_SUBSTRING`` characters, becomes ``REDACTED`` as a whole. Keys and non-string
    values are never touched, so the shape of the data survives (the reference rewrote the JSON
    text, keys included: ``worREDACTEDspaceId`` for a secret ``k``)."""

    def __init__(self, secrets: Iterable[str]):
        found = {s for s in secrets if isinstance(s, str) and s}
        self.long = sorted((s for s in found if len(s) >= REDACT_MIN_SUBSTRING), key=len, reverse=True)
        self.short = frozenset(s for s in found if len(s) < REDACT_MIN_SUBSTRING)
        # How each appears in JSON text: inside a string (long ones) or as a whole string (short).
        self._scan = [json.dumps(s, ensure_ascii=False)[1:-1] for s in self.long] + [
            json.dumps(s, ensure_ascii=False) for s in self.short]

    def __bool__(self) -> bool:
        return bool(self.long or self.short)

    def hides(self, text: str) -> bool:
        return text in self.short or any(secret in text for secret in self.long)

    def __call__(self, value: Any) -> Any:
        if not self:
            return value
        # One scan of the JSON text first: most values hold no secret and are returned as they are.
        text = json.dumps(value, ensure_ascii=False, default=str)
        if not any(encoded in text for encoded in self._scan):
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return REDACTED if self.hides(value) else value
        if isinstance(value, dict):
            return {key: self._walk(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(item) for item in value]
        return value


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every string value that holds a secret replaced by ``REDACTED``."""
    return Redactor(secrets)(value)


def redact_paths(value: Any, paths: Iterable[str]) -> Any:
    """``value`` (a dict) with whatever is at each dotted path replaced by ``REDACTED``, whatever
    its type or length: for config fields declared ``secret: true``."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for path in paths:
        head, _, rest = path.partition(".")
        if head not in out or out[head] is None:
            continue
        out[head] = redact_paths(out[head], [rest]) if rest else REDACTED
    return out
