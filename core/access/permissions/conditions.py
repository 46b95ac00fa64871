"""Rule conditions: placeholder injection, matching, and structural validation.

Placeholders are ``${path}`` and ``{{path}}`` (``path`` = letters, digits, ``_`` and dots), resolved
from the context ``{user, subject, session}``; ``session.id`` defaults to ``user.sessionId``.
A placeholder spanning the whole string keeps the resolved value's type (``$in: '${user.topics}'``
becomes a list); inside a longer string it is replaced by the value's JavaScript string form.
A placeholder that resolves to nothing (absent or null) makes the whole condition object invalid,
and so does a ``$in``/``$nin`` whose value is not a list. :func:`inject_rules` drops such rules.

Conditions are MongoDB queries matched with :func:`language.jsonmatch` (the
``@ucast/mongo`` subset CASL uses: dotted paths, ``$eq $ne $gt $gte $lt $lte $in $nin $exists
$regex $and $or $nor $not $elemMatch $size $all``; arrays on a path match when any element does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from language import UNDEFINED, ExpressionError, jsonmatch
from language.jsmodel import js_to_string

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.]+)\}|\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
_ARRAY_OPERATORS = frozenset({"$in", "$nin"})


class _Invalid:
    """Marker: a placeholder could not be resolved."""


INVALID = _Invalid()


def rule_context(user: Mapping[str, Any], subject: Mapping[str, Any] | None = None,
                 session: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The injection context: ``{user, subject, session}`` with ``session.id`` = ``user.sessionId``."""
    session_ctx: dict[str, Any] = {"id": user.get("sessionId")}
    session_ctx.update(session or {})
    if session_ctx.get("id") is None:
        session_ctx["id"] = user.get("sessionId")
    return {"user": dict(user), "subject": dict(subject or {}), "session": session_ctx}


def _resolve(context: Mapping[str, Any], path: str) -> Any:
    value = _walk(context, path)
    if value is UNDEFINED and (path == "session.id" or path.startswith("session.id.")):
        return _walk(context, "user.sessionId" + path[len("session.id"):])
    return value


def _walk(context: Mapping[str, Any], path: str) -> Any:
    current: Any = context
    for key in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(key, UNDEFINED)
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return UNDEFINED
        if current is UNDEFINED or current is None:
            return UNDEFINED
    return current


def inject_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Resolve the placeholders of one string (other values are returned unchanged)."""
    if not isinstance(value, str):
        return value
    found = list(PLACEHOLDER.finditer(value))
    if not found:
        return value
    if len(found) == 1 and found[0].group(0) == value:
        resolved = _resolve(context, found[0].group(1) or found[0].group(2))
        return INVALID if resolved is UNDEFINED else resolved
    parts: list[str] = []
    last = 0
    for match in found:
        resolved = _resolve(context, match.group(1) or match.group(2))
        if resolved is UNDEFINED:
            return INVALID
        parts.append(value[last:match.start()])
        parts.append(js_to_string(resolved))
        last = match.end()
    parts.append(value[last:])
    return "".join(parts)


def _inject_any(key: str, value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping):
        nested = inject_conditions(value, context)
        return INVALID if nested is False else nested
    if isinstance(value, list):
        out = [_inject_any("", item, context) for item in value]
        return INVALID if any(item is INVALID for item in out) else out
    injected = inject_value(value, context)
    if injected is not INVALID and key in _ARRAY_OPERATORS and not isinstance(injected, list):
        return INVALID
    return injected


def inject_conditions(conditions: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any] | bool:
    """Resolve placeholders in keys and values; ``False`` when the conditions are invalid.

    Unlike the reference, placeholders inside lists (``$or: [{…}]``, ``$in: ['${user.id}']``)
    are resolved too."""
    out: dict[str, Any] = {}
    for key, value in conditions.items():
        injected_key = inject_value(key, context)
        if injected_key is INVALID or not isinstance(injected_key, str) or not injected_key:
            return False
        injected = _inject_any(injected_key, value, context)
        if injected is INVALID:
            return False
        out[injected_key] = injected
    return out


def inject_rules(rules: Sequence[Mapping[str, Any]], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Resolve every rule's conditions, dropping the rules whose conditions are invalid."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        conditions = rule.get("conditions")
        if not conditions:
            out.append(dict(rule))
            continue
        injected = inject_conditions(conditions, context) if isinstance(conditions, Mapping) else False
        if injected is False:
            continue
        out.append({**rule, "conditions": injected})
    return out


def conditions_match(conditions: Mapping[str, Any], subject: Mapping[str, Any]) -> bool:
    """MongoDB-style match; raises :class:`ConditionError` on a malformed query."""
    try:
        return jsonmatch(dict(subject), dict(conditions))
    except ExpressionError as exc:
        raise ConditionError(str(exc)) from exc


class ConditionError(ValueError):
    """A condition object is not a valid query."""


_LOGICAL = frozenset({"$and", "$or", "$nor"})
_FIELD_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex",
                              "$options", "$not", "$elemMatch", "$size", "$all"})


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER.fullmatch(value) is not None


def _regex_problem(pattern: Any, options: Any) -> str | None:
    if not isinstance(pattern, str):
        return "$regex expects a string"
    if options is not None and not isinstance(options, str):
        return "$options expects a string"
    if PLACEHOLDER.search(pattern):
        return None
    try:
        jsonmatch({}, {"x": {"$regex": pattern, **({"$options": options} if options else {})}})
    except ExpressionError as exc:
        return str(getattr(exc, "message", exc))
    return None


def _field_problems(path: str, cond: Any, depth: int) -> list[str]:
    if not isinstance(cond, Mapping) or not any(isinstance(k, str) and k.startswith("$") for k in cond):
        return []  # a value compared for equality
    if not all(isinstance(k, str) and k.startswith("$") for k in cond):
        return [f"{path}: operators and fields cannot be mixed"]
    out: list[str] = []
    for op, arg in cond.items():
        if op not in _FIELD_OPERATORS:
            out.append(f"{path}: unknown operator {op}")
        elif op in ("$in", "$nin", "$all") and not (isinstance(arg, list) or _is_placeholder(arg)):
            out.append(f"{path}: {op} expects an array")
        elif op == "$regex":
            problem = _regex_problem(arg, cond.get("$options"))
            if problem:
                out.append(f"{path}: {problem}")
        elif op == "$size" and (isinstance(arg, bool) or not isinstance(arg, int | float)):
            out.append(f"{path}: $size expects a number")
        elif op == "$not":
            if isinstance(arg, str):
                problem = _regex_problem(arg, None)
                out.extend([f"{path}: {problem}"] if problem else [])
            elif not isinstance(arg, Mapping):
                out.append(f"{path}: $not expects an operator object")
            else:
                out.extend(_field_problems(path, arg, depth + 1))
        elif op == "$elemMatch":
            if not isinstance(arg, Mapping):
                out.append(f"{path}: $elemMatch expects an object")
            elif all(isinstance(k, str) and k.startswith("$") and k not in _LOGICAL for k in arg):
                out.extend(_field_problems(path, arg, depth + 1))
            else:
                out.extend(_query_problems(arg, depth + 1))
    return out


def _query_problems(query: Mapping[str, Any], depth: int) -> list[str]:
    if depth > 32:
        return ["conditions nested too deeply"]
    out: list[str] = []
    for key, value in query.items():
        if not isinstance(key, str) or not key:
            out.append("condition keys must be non-empty strings")
        elif key in _LOGICAL:
            if not isinstance(value, list) or not all(isinstance(q, Mapping) for q in value):
                out.append(f"{key} expects an array of objects")
            else:
                for sub in value:
                    out.extend(_query_problems(sub, depth + 1))
        elif key.startswith("$"):
            out.append(f"unknown operator {key}")
        else:
            out.extend(_field_problems(key, value, depth + 1))
    return out


def condition_problems(conditions: Any) -> list[str]:
    """Why a condition object is not a valid query (empty when it is). Whole-value placeholders
    are accepted where a list is expected (``$in: '${user.topics}'``)."""
    if not isinstance(conditions, Mapping):
        return ["conditions must be an object"]
    return _query_problems(conditions, 0)
