"""Variable scope of one automation execution and the set/delete semantics (spec §3.1–3.2, §5).

Named contexts (``config, $workspace, user, session, socket, run, global``) override
local variables of the same name; everything else is a local of the current frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from language import UNDEFINED, ExpressionError, parse_variable_path
from language.values import deep_copy
from schemas.errors import InvalidInstructionError

CONTEXT_NAMES = frozenset({"config", "$workspace", "user", "session", "socket", "run", "global"})
WRITABLE_CONTEXTS = frozenset({"config", "user", "session", "socket", "run", "global"})


class Scope(Mapping[str, Any]):
    """Read view used by the language: contexts first, then locals."""

    __slots__ = ("contexts", "locals")

    def __init__(self, contexts: dict[str, Any], local_vars: dict[str, Any]):
        self.contexts = contexts
        self.locals = local_vars

    def __getitem__(self, key: str) -> Any:
        if key in self.contexts:
            return self.contexts[key]
        return self.locals[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.contexts:
            return self.contexts[key]
        return self.locals.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.contexts or key in self.locals

    def __iter__(self) -> Iterator[str]:
        yield from self.contexts
        yield from (k for k in self.locals if k not in self.contexts)

    def __len__(self) -> int:
        return len(set(self.contexts) | set(self.locals))


def split_name(name: Any) -> tuple[list[str | int], bool]:
    """Parse a ``set``/``delete`` name into a path; report ``name[]`` (push) separately."""
    if not isinstance(name, str) or not name:
        raise InvalidInstructionError(f"Invalid variable name {name!r}", {"name": name})
    push = name.endswith("[]")
    if push:
        name = name[:-2]
    try:
        path = list(parse_variable_path(name))
    except ExpressionError as exc:
        raise InvalidInstructionError(f"Invalid variable name {name!r}: {exc.message}", {"name": name}) from exc
    if not path:
        raise InvalidInstructionError(f"Invalid variable name {name!r}", {"name": name})
    return path, push


def _child(container: Any, key: str | int) -> Any:
    if isinstance(container, dict):
        return container.get(key, UNDEFINED) if not isinstance(key, int) else container.get(
            key, container.get(str(key), UNDEFINED)
        )
    if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
        return container[key]
    return UNDEFINED


def _put(container: Any, key: str | int, value: Any) -> None:
    if isinstance(container, list) and isinstance(key, int):
        if key < 0:
            raise InvalidInstructionError(f"Invalid array index {key}")
        while len(container) <= key:
            container.append(None)
        container[key] = value
    elif isinstance(container, dict):
        container[str(key) if isinstance(key, int) else key] = value


def _parent(root: dict[str, Any], path: list[str | int]) -> Any:
    """Walk to the parent of the last segment, creating missing parents as ``{}``."""
    node: Any = root
    for key in path[:-1]:
        nxt = _child(node, key)
        if not isinstance(nxt, dict | list):
            nxt = {}
            _put(node, key, nxt)
        node = nxt
    return node


def _root_for(path: list[str | int], contexts: dict[str, Any], local_vars: dict[str, Any]) -> tuple[dict[str, Any], list[str | int]]:
    first = path[0]
    if isinstance(first, str) and first in WRITABLE_CONTEXTS:
        return contexts.setdefault(first, {}), path[1:]
    if first == "$workspace":
        raise InvalidInstructionError("$workspace is read-only")
    return local_vars, path


def merge_values(previous: Any, value: Any) -> tuple[bool, Any]:
    """``type: merge`` (spec §3.1). Returns (changed, new value)."""
    if isinstance(previous, list):
        return True, previous + (deep_copy(value) if isinstance(value, list) else [deep_copy(value)])
    if isinstance(previous, dict) or previous is None:
        if isinstance(value, dict):
            return True, {**(previous or {}), **deep_copy(value)}
        return False, previous  # merging a non-object into an object (or null) is ignored
    return True, deep_copy(value)


def assign(contexts: dict[str, Any], local_vars: dict[str, Any], name: Any, value: Any, kind: str = "replace") -> None:
    path, push = split_name(name)
    assign_path(contexts, local_vars, path, value, "push" if push else kind)


def assign_path(contexts: dict[str, Any], local_vars: dict[str, Any], path: list[str | int], value: Any,
                kind: str = "replace") -> None:
    if kind not in ("replace", "merge", "push"):
        raise InvalidInstructionError(f"Invalid set type {kind!r} (use replace, merge or push)")
    root, rest = _root_for(path, contexts, local_vars)
    if not rest:  # the whole context, e.g. `set: {name: session, value: {...}}`
        if kind == "replace" and isinstance(value, dict):
            root.clear()
            root.update(deep_copy(value))
            return
        raise InvalidInstructionError(f"Cannot set context {path[0]!r} to a non-object value")
    parent = _parent(root, rest)
    key = rest[-1]
    if kind == "replace":
        _put(parent, key, deep_copy(value))
    elif kind == "push":
        current = _child(parent, key)
        current = list(current) if isinstance(current, list) else []
        current.append(deep_copy(value))
        _put(parent, key, current)
    else:
        previous = _child(parent, key)
        if previous is UNDEFINED:
            changed, merged = True, deep_copy(value)
        else:
            changed, merged = merge_values(previous, value)
        if changed:
            _put(parent, key, merged)


def remove(contexts: dict[str, Any], local_vars: dict[str, Any], name: Any) -> None:
    path, _ = split_name(name)
    remove_path(contexts, local_vars, path)


def remove_path(contexts: dict[str, Any], local_vars: dict[str, Any], path: list[str | int]) -> None:
    root, rest = _root_for(path, contexts, local_vars)
    if not rest:
        root.clear()
        return
    parent = _parent(root, rest)
    key = rest[-1]
    if isinstance(parent, list) and isinstance(key, int):
        if 0 <= key < len(parent):
            parent.pop(key)
    elif isinstance(parent, dict):
        parent.pop(str(key) if isinstance(key, int) else key, None)
