"""``validateArguments`` (spec §2.2, DECISIONS 8): JSON Schema, UI keywords ignored."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator
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
            if key == "type" and isinstance(value, str) and value.startswith("localized:"):
                base = value.split(":", 1)[1]
                out["anyOf"] = [{"type": base}, {"type": "object", "additionalProperties": {"type": base}}]
                continue
            out[key] = _clean(value)
        return out
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


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
        validator = Draft7Validator(schema)
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
