"""What a check reports: a problem at a path, an error or a warning (the shape every check of a
workspace reports into: imports, automation routes, ``tideway validate``).

Paths are lists of keys and indexes relative to the checked value
(``["do", 2, "conditions", "{{a}} == 1", 0]``); :func:`format_path` renders them the way the
DSUL reads: ``do[2].conditions["{{a}} == 1"][0]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

PathPart = str | int
Path = tuple[PathPart, ...]
_BARE_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def format_path(parts: Iterable[PathPart]) -> str:
    """``["do", 2, "conditions", "{{a}}", 0]`` → ``do[2].conditions["{{a}}"][0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _BARE_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


class Problem(BaseModel):
    """One problem, where it is (``automations/hello.yml: do[2].conditions``) and what it is."""

    path: str
    message: str


class Finding(BaseModel):
    """A problem found by a check, before it is placed in a file: its path inside the checked
    value and whether it stops the write (``error``) or is reported next to the result
    (``warning``; an error in a workspace that sets ``strict: true``)."""

    model_config = {"frozen": True}

    path: Path
    message: str
    severity: Literal["error", "warning"] = "error"


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "bool_type": "must be a boolean",
    "int_type": "must be a number",
    "float_type": "must be a number",
    "int_from_float": "must be a whole number",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "tuple_type": "must be a list",
}


def findings_of(error: ValidationError, prefix: Sequence[PathPart] = ()) -> list[Finding]:
    """A pydantic validation error as findings, one per failing field. Where a union failed, the
    branch that matched furthest speaks (``target.currentSocket`` rather than "target must be a
    string"), and branches failing at the field itself fold into one message (``must be a boolean
    or a template``)."""
    details: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (tuple(d["loc"]), dict(d)) for d in error.errors(include_url=False)]
    return [Finding(path=(*prefix, *path), message=message) for path, message in _fold(details)]


def _fold(details: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[tuple[Path, str]]:
    plain: dict[Path, list[dict[str, Any]]] = {}
    unions: dict[Path, dict[Any, list[tuple[tuple[Any, ...], dict[str, Any]]]]] = {}
    for loc, detail in details:
        cut = next((i for i, part in enumerate(loc) if _is_branch_tag(part)), None)
        if cut is None:
            plain.setdefault(loc, []).append(detail)
        else:
            unions.setdefault(loc[:cut], {}).setdefault(loc[cut], []).append((loc[cut + 1:], detail))
    out = [(path, _message(found)) for path, found in plain.items()]
    for path, branches in unions.items():
        nested = {tag: items for tag, items in branches.items() if any(rest for rest, _ in items)}
        if nested:
            closest = min(nested.values(), key=len)  # the branch that matched furthest
            out += [((*path, *sub), message) for sub, message in _fold(closest)]
        else:
            out.append((path, _message([detail for items in branches.values() for _, detail in items])))
    return out


def _is_branch_tag(part: Any) -> bool:
    """Union branch labels pydantic adds to locations (``str``, ``literal['a','b']``, a class name)."""
    return isinstance(part, str) and (part in ("str", "int", "float", "bool", "dict[str,any]", "list[any]")
                                      or part.startswith(("literal[", "function-", "constrained-", "union[",
                                                          "dict[", "list[", "tuple["))
                                      or part[:1].isupper())


def _one(detail: dict[str, Any]) -> str:
    if detail["type"] == "string_pattern_mismatch":
        return f"must match {detail.get('ctx', {}).get('pattern')}"
    if detail["type"] == "string_too_short":
        return "must not be empty"
    return _MESSAGES.get(detail["type"]) or _plain(detail["msg"])


def _message(details: list[dict[str, Any]]) -> str:
    if len(details) == 1:
        return _one(details[0])
    # Several branches of a union failed: say what would have been accepted.
    wanted: list[str] = []
    for detail in details:
        text = _one(detail)
        text = text.removeprefix("must be ").removeprefix("should be ")
        if text not in wanted:
            wanted.append(text)
    return "must be " + " or ".join(wanted)


def _plain(message: str) -> str:
    """pydantic's ``Input should be …`` / ``Value error, …`` phrased as the DSUL messages are."""
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        return "must be " + message.removeprefix("Input should be ")
    return message[:1].lower() + message[1:]
