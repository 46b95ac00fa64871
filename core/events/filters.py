"""Subscription filters: which live subscribers want an event (SSE stream, spec §6.4).

Three processors share one interface, ``save(id, query)``, ``remove(id)`` and
``match(event) -> set[str]`` (the ids of the queries the event satisfies):

* :class:`PayloadQuery` — OR-terms of dotted-path filters (``""``/``None`` = empty,
  ``"*"`` = present, ``abc*`` / ``*abc`` / ``*abc*`` = starts/ends with/contains, else
  equality of the string forms), with the socket rule of the events service.
* :class:`AppInstanceDepth` — a maximum app nesting depth.
The engine combining them for a live stream is core/events/subscriptions.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

_MISSING = object()

# Query parameters of GET …/events that are not field filters.
RESERVED_PARAMS = frozenset({"types", "afterDate", "beforeDate", "text", "page", "limit", "sort",
                             "appInstanceDepth"})
# The top-level fields of an event a field filter may start with.
EVENT_FIELDS = frozenset({"id", "type", "source", "payload", "target", "options", "createdAt"})


class FilterProcessor(Protocol):
    def save(self, query_id: str, query: Any) -> None: ...

    def remove(self, query_id: str) -> None: ...

    def match(self, event: Any) -> set[str]: ...


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path (``_MISSING`` when absent). Digits index lists."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return _MISSING
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def js_string(value: Any) -> str:
    """``String(value)`` as JavaScript writes it (true, 8 for 8.0, null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _falsy(value: Any) -> bool:
    """JavaScript falsiness: missing, null, false, 0, NaN and "" (lists and objects are truthy)."""
    if value is _MISSING or value is None or value is False:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0 or (isinstance(value, float) and math.isnan(value))
    return value == ""


@dataclass(frozen=True)
class ValueMatcher:
    """One accepted value of a field filter.

    ``strict=False`` is the events-service semantics (subscription payload queries): a falsy
    field (missing, null, "", 0, false) only satisfies an empty filter. ``strict=True`` is the
    semantics of ``GET …/events`` field filters: empty = missing, null, "" or []; ``*`` =
    any other value; 0 and false are values like any other (``payload.n=0`` finds 0).
    """

    kind: str  # "empty" | "present" | "exact" | "glob"
    text: str = ""
    pattern: re.Pattern[str] | None = None
    strict: bool = False

    @classmethod
    def parse(cls, value: Any, *, strict: bool = False) -> ValueMatcher:
        if value is None or value == "":
            return cls("empty", strict=strict)
        if value == "*":
            return cls("present", strict=strict)
        if isinstance(value, str) and "*" in value:
            return cls("glob", value, glob_regex(value), strict=strict)
        return cls("exact", js_string(value), strict=strict)

    def matches(self, value: Any) -> bool:
        empty = _empty(value) if self.strict else _falsy(value)
        if empty:
            return self.kind == "empty"
        if self.kind == "present":
            return True
        if self.kind == "empty":
            return False
        if isinstance(value, list):  # a list field matches when one of its items does
            return any(not (_empty(item) if self.strict else _falsy(item)) and self._matches_scalar(item)
                       for item in value)
        return self._matches_scalar(value)

    def _matches_scalar(self, value: Any) -> bool:
        if self.kind == "exact":
            return js_string(value) == self.text
        # Wildcards apply to strings only (as startsWith/endsWith do in the events service).
        return isinstance(value, str) and self.pattern is not None and self.pattern.match(value) is not None


def glob_regex(value: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; everything else is literal."""
    return re.compile("^" + ".*".join(re.escape(part) for part in value.split("*")) + "$", re.DOTALL)


def _empty(value: Any) -> bool:
    """Missing for a search: absent, null, "" or []."""
    return value is _MISSING or value is None or value == "" or value == []


@dataclass(frozen=True)
class Term:
    """An AND of field filters; each field accepts any of its values."""

    fields: tuple[tuple[str, tuple[ValueMatcher, ...]], ...]

    @classmethod
    def parse(cls, term: Mapping[str, Any], *, strict: bool = False) -> Term:
        fields = []
        for path, values in term.items():
            items = values if isinstance(values, list) else [values]
            fields.append((str(path), tuple(ValueMatcher.parse(v, strict=strict) for v in items)))
        return cls(tuple(fields))

    @property
    def paths(self) -> set[str]:
        return {path for path, _ in self.fields}

    def matches(self, event: Any) -> bool:
        for path, matchers in self.fields:
            value = get_path(event, path)
            if not any(m.matches(value) for m in matchers):
                return False
        return True


def _socket_allows(term: Term, query_id: str, event: Any) -> bool:
    """Socket rule: an event sent from a socket reaches another subscriber filtering on its
    session only when that subscriber also filters ``source.socketId`` or the event says
    ``target.currentSocket: false``."""
    source = event.get("source") if isinstance(event, Mapping) else None
    socket_id = source.get("socketId") if isinstance(source, Mapping) else None
    if not socket_id:
        return True
    paths = term.paths
    if "source.sessionId" not in paths or "source.socketId" in paths:
        return True
    target = event.get("target") if isinstance(event, Mapping) else None
    current_only = target.get("currentSocket", True) if isinstance(target, Mapping) else True
    return not current_only or query_id == socket_id


def parse_payload_query(query: Any) -> tuple[Term, ...]:
    if query is None:
        return ()
    terms = query if isinstance(query, list) else [query]
    parsed = []
    for term in terms:
        if not isinstance(term, Mapping):
            raise ValueError(f"a payload query term must be a mapping, got {term!r}")
        parsed.append(Term.parse(term))
    return tuple(parsed)


def payload_query_matches(terms: Iterable[Term], query_id: str, event: Any) -> bool:
    return any(term.matches(event) and _socket_allows(term, query_id, event) for term in terms)


class PayloadQuery:
    """The ``payload_query`` processor: each query is a list of OR-terms."""

    def __init__(self) -> None:
        self.queries: dict[str, tuple[Term, ...]] = {}

    def save(self, query_id: str, query: Any) -> None:
        self.queries[query_id] = parse_payload_query(query)

    def remove(self, query_id: str) -> None:
        self.queries.pop(query_id, None)

    def match(self, event: Any) -> set[str]:
        return {qid for qid, terms in self.queries.items() if payload_query_matches(terms, qid, event)}


def depth_allows(max_depth: Any, event: Any) -> bool:
    source = event.get("source") if isinstance(event, Mapping) else None
    depth = source.get("appInstanceDepth") if isinstance(source, Mapping) else None
    if _falsy(depth) or not isinstance(depth, int | float) or isinstance(depth, bool):
        return True  # root events (missing or 0 depth) match every query
    return bool(depth <= max_depth)


class AppInstanceDepth:
    """The ``app_instance_depth`` processor: each query is a maximum depth."""

    def __init__(self) -> None:
        self.queries: dict[str, float] = {}

    def save(self, query_id: str, query: Any) -> None:
        self.queries[query_id] = float(query)

    def remove(self, query_id: str) -> None:
        self.queries.pop(query_id, None)

    def match(self, event: Any) -> set[str]:
        return {qid for qid, max_depth in self.queries.items() if depth_allows(max_depth, event)}


@dataclass(frozen=True)
class TypeFilter:
    """An event type filter: names, of which those holding ``*`` are wildcards (``runtime.*``,
    ``*.executed``), case-sensitive, the same on the REST search, the live stream and Activity."""

    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, types: Iterable[str]) -> TypeFilter:
        exact, patterns = split_type_patterns(str(t) for t in types)
        return cls(frozenset(exact), tuple(re.compile(".*".join(re.escape(part) for part in t.split("*")), re.DOTALL)
                                           for t in sorted(set(patterns))))

    def matches(self, event_type: str) -> bool:
        return event_type in self.exact or any(p.fullmatch(event_type) for p in self.patterns)


def split_type_patterns(types: Iterable[str]) -> tuple[list[str], list[str]]:
    """(exact names, wildcard patterns) of a ``types`` filter."""
    names = list(types)
    return [t for t in names if "*" not in t], [t for t in names if "*" in t]

