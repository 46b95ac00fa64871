"""``validateArguments`` (spec §2.2, DECISIONS 8): JSON Schema, UI keywords ignored."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from language.values import strip_undefined
from schemas.errors import InvalidArgumentsError

IGNORED_KEYWORDS = ("secret", "event")


def _clean(schema: Any) -> Any:
    """Drop UI-only keywords and map ``localized:*`` types to what they hold."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key.startswith("ui:") or key in IGNORED_KEYWORDS:
                continue
            if key in ("title", "description") and not isinstance(value, str):
                continue  # a localized text ({en, fr}): documentation only
            if key == "type" and isinstance(value, str) and value.startswith("localized:"):
                base = value.split(":", 1)[1]
                out["anyOf"] = [{"type": base}, {"type": "object", "additionalProperties": {"type": base}}]
                continue
            out[key] = _clean(value)
        return out
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


# The argument formats the reference documents (uri, email, date, time), checked with the
# standard library: jsonschema checks these only with optional packages installed.
FORMATS = FormatChecker(formats=())
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$", re.I)


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and not any(c.isspace() for c in value)


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        if len(value) != 10:
            raise ValueError("a date is YYYY-MM-DD")
        date.fromisoformat(value)
    return True


@FORMATS.checks("time")
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_TIME.match(value))


_validators: dict[str, Draft7Validator] = {}


def validate_arguments(arguments: dict[str, Any], payload: dict[str, Any]) -> None:
    import json

    key = json.dumps(arguments, sort_keys=True, default=str)
    validator = _validators.get(key)
    if validator is None:
        schema = {"type": "object", "properties": _clean(arguments)}
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            raise InvalidArgumentsError("Invalid arguments schema", [{"message": exc.message}]) from None
        validator = Draft7Validator(schema, format_checker=FORMATS)
        if len(_validators) > 512:
            _validators.clear()
        _validators[key] = validator
    errors = sorted(validator.iter_errors(strip_undefined(payload)), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidArgumentsError("Invalid arguments", [
            {"instancePath": "/" + "/".join(str(p) for p in e.absolute_path),
             "keyword": e.validator, "message": e.message}
            for e in errors
        ])
