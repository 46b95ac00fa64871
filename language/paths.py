"""Variable paths (spec §4.3): ``a.b.c``, ``a[0]``, ``a["k.with.dots"]``, ``a['k']``, ``a[k]``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidVariableNameError
from .limits import cache_put
from .undefined import UNDEFINED

Path = tuple[str | int, ...]
_PATH_CACHE: dict[str, Path] = {}


def _is_index(s: str) -> bool:
    return s.isascii() and s.isdigit() and (s == "0" or s[0] != "0") and len(s) < 16


def _segment(s: str) -> str | int:
    return int(s) if _is_index(s) else s


def _bad(path: str, message: str, position: int) -> InvalidVariableNameError:
    return InvalidVariableNameError(
        f"Invalid variable name {path!r}: {message} at position {position}",
        expression=path,
        position=position,
    )


def parse_variable_path(path: str) -> Path:
    """Split a variable path into segments; canonical numeric segments become ``int``.

    No trimming: ``" a "`` is the key ``" a "``. Raises :class:`InvalidVariableNameError`
    for an empty path, a leading ``[``, a trailing ``.``, an empty segment, an unclosed
    bracket or text right after a ``]``.
    """
    cached = _PATH_CACHE.get(path) if type(path) is str else None
    if cached is not None:
        return cached
    if not isinstance(path, str):
        raise InvalidVariableNameError(f"Invalid variable name {path!r}: not a string")
    result = _parse(path)
    if len(path) <= 1_000:
        cache_put(_PATH_CACHE, path, result)
    return result


def _parse(path: str) -> Path:
    n = len(path)
    if n == 0:
        raise _bad(path, "empty name", 0)
    if path[0] == "[":
        raise _bad(path, "a name cannot start with '['", 0)
    segs: list[str | int] = []
    i = 0
    while True:
        j = i
        while j < n and path[j] != "." and path[j] != "[":
            j += 1
        if j == i:
            raise _bad(path, "empty segment", i)
        segs.append(_segment(path[i:j]))
        i = j
        while i < n and path[i] == "[":
            start = i
            i += 1
            if i < n and path[i] in "\"'":
                end = path.find(path[i] + "]", i + 1)
                if end < 0:
                    raise _bad(path, "unclosed quoted bracket", start)
                segs.append(path[i + 1 : end])
                i = end + 2
            else:
                end = path.find("]", i)
                if end < 0:
                    raise _bad(path, "unclosed bracket", start)
                if end == i:
                    raise _bad(path, "empty segment", start)
                segs.append(_segment(path[i:end]))
                i = end + 1
        if i >= n:
            return tuple(segs)
        if path[i] != ".":
            raise _bad(path, f"unexpected {path[i]!r} after ']'", i)
        i += 1
        if i >= n:
            raise _bad(path, "trailing '.'", i - 1)


def step(value: Any, key: str | int) -> Any:
    """One path step with JavaScript property semantics; ``UNDEFINED`` when missing."""
    t = type(value)
    if t is dict:
        v = value.get(key if type(key) is str else str(key), UNDEFINED)
        if v is UNDEFINED and type(key) is int:
            v = value.get(key, UNDEFINED)
        return v
    if t is list or t is str or t is tuple:
        if type(key) is int:
            return value[key] if 0 <= key < len(value) else UNDEFINED
        if key == "length":
            return len(value)
        if type(key) is str and _is_index(key):
            k = int(key)
            return value[k] if k < len(value) else UNDEFINED
        return UNDEFINED
    if value is None or value is UNDEFINED:
        return UNDEFINED
    if isinstance(value, Mapping):
        try:
            return value.get(key if type(key) is str else str(key), UNDEFINED)
        except Exception:  # a hostile Mapping must not break evaluation
            return UNDEFINED
    return UNDEFINED


def lookup(scope: Mapping[str, Any], path: Path) -> Any:
    """Walk ``path`` from ``scope``; the first segment uses ``scope.get`` only."""
    first = path[0]
    value = scope.get(first if type(first) is str else str(first), UNDEFINED)
    for key in path[1:]:
        if value is UNDEFINED:
            return UNDEFINED
        value = step(value, key)
    return value


def get_path(scope: Mapping[str, Any], path: str | Sequence[str | int]) -> Any:
    """Value at ``path`` (a path string or a sequence of segments), ``UNDEFINED`` when missing.

    Indexing a string gives one character; ``length`` works on arrays and strings.
    """
    segs = parse_variable_path(path) if isinstance(path, str) else tuple(path)
    if not segs:
        return UNDEFINED
    return lookup(scope, segs)
