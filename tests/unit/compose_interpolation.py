"""docker-compose.yml read as Compose reads it: YAML (anchors and ``<<`` merges resolved by PyYAML),
then every string interpolated from the environment given — ``$VAR``, ``${VAR}``,
``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``,
``${VAR+alt}`` (arguments may nest) and ``$$`` for a literal ``$``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?|:\+|\+)(?P<arg>.*))?$", re.S)


class ComposeError(Exception):
    """What ``docker compose`` itself would refuse (a required variable unset, bad syntax)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """``$VAR``, ``${VAR}`` and ``${VAR<op>arg}`` (arguments may nest), ``$$`` for a literal ``$``."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "$" or i + 1 == len(text):
            out.append(char)
            i += 1
        elif text[i + 1] == "$":
            out.append("$")
            i += 2
        elif text[i + 1] == "{":
            end, depth = i + 2, 1
            while end < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            if depth:
                raise ComposeError(f"invalid interpolation format: {text[i:]!r}")
            out.append(_expand(text[i + 2:end - 1], env))
            i = end
        else:
            found = _NAME.match(text, i + 1)
            out.append(env.get(found.group(0), "") if found else "$")
            i = found.end() if found else i + 1
    return "".join(out)


def _expand(inner: str, env: Mapping[str, str]) -> str:
    found = _BRACED.match(inner)
    if not found:
        raise ComposeError(f"invalid interpolation format: ${{{inner}}}")
    name, op = found.group("name"), found.group("op")
    value = env.get(name)
    empty = value is None or (value == "" and op is not None and op.startswith(":"))
    arg = interpolate(found.group("arg") or "", env) if op and (empty == (op[-1] != "+")) else ""
    if op in (":-", "-"):
        return arg if empty else str(value)
    if op in (":?", "?"):
        if empty:
            raise ComposeError(f"required variable {name} is missing a value: {arg}")
        return str(value)
    if op in (":+", "+"):
        return "" if empty else arg
    return value or ""


def _interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: _interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(item, env) for item in node]
    return node


def load(text: str, env: Mapping[str, str]) -> dict[str, Any]:
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise ComposeError("no services")
    result: dict[str, Any] = _interpolated(document, env)
    return result
