"""The one JSON reader for everything the platform is sent: request bodies, JSON files of imports,
JSON typed into forms (docs/decisions.md, "Strict JSON").

Stricter than ``json.loads`` where Python's JSON is wider than the data the rest of the platform
can hold (JSON columns, Temporal payloads, events):

* ``NaN``, ``Infinity``, ``-Infinity`` and numbers that overflow to infinity (``1e400``) are
  refused: they are not JSON, PostgreSQL's ``jsonb`` refuses them and they break event payloads;
* a lone UTF-16 surrogate escape (``"\\ud800"``) in a string or a key is refused: it cannot be
  encoded as UTF-8, so nothing could store or send it (a valid pair like ``"\\ud83d\\ude00"`` is
  one character and is kept);
* ``\\u0000`` in a string or key is refused: PostgreSQL text cannot hold it, and the platform
  must accept the same documents on both backends;
* values nested deeper than ``MAX_DEPTH`` levels are refused: every later step (validation,
  events, the interpreter) walks values recursively.

Parsing is orjson's (fast, and it refuses the first three natively); integers beyond 64 bits
become floats there, as in JavaScript's ``JSON.parse`` (the reference platform).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_DEPTH = 100
"""Deepest nesting of objects and arrays accepted in a JSON or YAML document (``{}`` is 1)."""

_SHOWN_SEGMENTS = 8  # a path to a too-deep value is shortened to its first segments


class JsonDocumentError(ValueError):
    """A document that is not acceptable JSON. ``path`` locates the value when known (``a.b[2]``),
    ``line``/``column`` the syntax error when known (1-based)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column


_CONSTANT = re.compile(rb"-?(?:NaN|Infinity)")


def _syntax_message(exc: orjson.JSONDecodeError, data: bytes) -> str:
    """orjson's message, named in terms of what was sent where orjson's own words are vague."""
    reason = exc.msg
    if _CONSTANT.match(data, exc.pos) or _CONSTANT.match(data, max(exc.pos - 1, 0)):
        reason = "NaN and Infinity are not JSON numbers"
    elif "surrogate" in reason:
        reason = f"lone UTF-16 surrogate escape in a string ({reason}): not valid Unicode"
    elif "infinity" in reason:
        reason = "number out of range (it would be Infinity)"
    elif "recursion" in reason or "depth" in reason:
        reason = f"nested deeper than {MAX_DEPTH} levels"
    return reason


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse one JSON document strictly (see the module docstring); ``JsonDocumentError`` with the
    line and column of a syntax error, or the path of a refused value."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = _syntax_message(exc, raw)
        raise JsonDocumentError(f"{message} at line {exc.lineno}, column {exc.colno}",
                                line=exc.lineno, column=exc.colno) from None
    check_value(value, max_depth=max_depth, nul_possible=b"\\u0000" in raw)
    return value


def check_value(value: Any, *, max_depth: int = MAX_DEPTH, nul_possible: bool = True) -> None:
    """Refuse nesting deeper than ``max_depth`` and, when ``nul_possible``, NUL characters in
    strings and keys. Iterative, so a hostile depth never costs a Python frame per level."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                raise JsonDocumentError(f"nested deeper than {max_depth} levels at {format_path(path)}",
                                        path=format_path(path))
            for key, child in item.items():
                if nul_possible and "\x00" in key:
                    raise JsonDocumentError(f"NUL character (\\u0000) in key {key!r} at {format_path(path)}",
                                            path=format_path(path))
                if isinstance(child, dict | list) or (nul_possible and isinstance(child, str)):
                    stack.append((child, depth + 1, (*path, key)))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise JsonDocumentError(f"nested deeper than {max_depth} levels at {format_path(path)}",
                                        path=format_path(path))
            for index, child in enumerate(item):
                if isinstance(child, dict | list) or (nul_possible and isinstance(child, str)):
                    stack.append((child, depth + 1, (*path, index)))
        elif isinstance(item, str) and "\x00" in item:
            raise JsonDocumentError(f"NUL character (\\u0000) in the string at {format_path(path)}",
                                    path=format_path(path))


def format_path(path: tuple[str | int, ...]) -> str:
    """``("a", 0, "b")`` → ``a[0].b``; long paths keep their first segments (``a.a.a…``)."""
    shown, rest = path[:_SHOWN_SEGMENTS], path[_SHOWN_SEGMENTS:]
    text = ""
    for segment in shown:
        text += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if text else str(segment))
    if rest:
        text += f"… ({len(path)} levels)"
    return text or "(root)"
