"""The engine of a live subscription (SSE stream, spec §6.4): :class:`SubscriptionFilters`
combines ``types``, ``text``, ``payloadQuery`` and ``appInstanceDepth`` (plus Tideway's
``search``, ``afterDate`` and ``beforeDate``, the exact semantics of ``GET …/events``);
:func:`engine_query_from_params` turns the query parameters of ``GET …/events`` into an engine
query, so the live stream filters like the search does. The processors are core/events/filters.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.events.filters import (
    Term,
    TypeFilter,
    depth_allows,
    js_string,
    parse_payload_query,
    payload_query_matches,
)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


@dataclass
class EngineQuery:
    """One subscriber's compiled filters; ``None`` means the filter is not set."""

    types: TypeFilter | None = None
    text: str | None = None
    search: str | None = None
    payload_query: tuple[Term, ...] | None = None
    fields: Term | None = None
    max_depth: float | None = None
    after: datetime | None = None
    before: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def compile(cls, query: Mapping[str, Any]) -> EngineQuery:
        compiled = cls(raw=dict(query))
        for key, value in query.items():
            # Falsy filters are ignored (JavaScript truthiness: an empty list still filters).
            if value is None or value is False or value == "" or (
                    isinstance(value, int | float) and not isinstance(value, bool) and value == 0):
                continue
            if key == "types":
                items = value if isinstance(value, list) else [value]
                compiled.types = TypeFilter.of(str(v) for v in items)
            elif key == "text":
                compiled.text = str(value)
            elif key == "search":
                compiled.search = str(value).lower()
            elif key == "payloadQuery":
                compiled.payload_query = parse_payload_query(value)
            elif key == "fields":
                if not isinstance(value, Mapping):
                    raise ValueError("fields must map dotted paths to values")
                compiled.fields = Term.parse(value, strict=True)
            elif key == "appInstanceDepth":
                compiled.max_depth = float(value)
            elif key in ("afterDate", "beforeDate"):
                moment = _as_datetime(value)
                if moment is None:
                    raise ValueError(f"{key} must be an ISO 8601 date, got {value!r}")
                if key == "afterDate":
                    compiled.after = moment
                else:
                    compiled.before = moment
            else:
                raise ValueError(f"unknown subscription filter {key!r}")
        return compiled

    def matches(self, query_id: str, event: Any) -> bool:
        if not isinstance(event, Mapping):
            return False
        if self.types is not None and not self.types.matches(js_string(event.get("type"))):
            return False
        if self.max_depth is not None and not depth_allows(self.max_depth, event):
            return False
        if self.payload_query is not None and not payload_query_matches(self.payload_query, query_id, event):
            return False
        if self.fields is not None and not self.fields.matches(event):
            return False
        if self.text is not None and self.text not in compact_json(event):
            return False
        if self.search is not None and not search_text_matches(self.search, event):
            return False
        if self.after is not None or self.before is not None:
            created = _as_datetime(event.get("createdAt"))
            if created is None:
                return False
            if self.after is not None and not _later(created, self.after):
                return False
            if self.before is not None and not _later(self.before, created):
                return False
        return True


def _later(a: datetime, b: datetime) -> bool:
    from datetime import UTC

    if a.tzinfo is None:
        a = a.replace(tzinfo=UTC)
    if b.tzinfo is None:
        b = b.replace(tzinfo=UTC)
    return a > b


def search_text_matches(needle_lower: str, event: Mapping[str, Any]) -> bool:
    """GET's ``text``: a case-insensitive substring of the type or of the JSON payload."""
    if needle_lower in str(event.get("type") or "").lower():
        return True
    payload = event.get("payload")
    return needle_lower in json.dumps(payload if payload is not None else {}, ensure_ascii=False,
                                      default=str).lower()


class SubscriptionFilters:
    """The ``engine``: a query matches when all of its (truthy) filters match; a query with
    no filter matches every event; saving a query again replaces all of its filters."""

    def __init__(self) -> None:
        self.queries: dict[str, EngineQuery] = {}

    def save(self, query_id: str, query: Mapping[str, Any] | None) -> None:
        self.queries[query_id] = EngineQuery.compile(query or {})

    def remove(self, query_id: str) -> None:
        self.queries.pop(query_id, None)

    def match(self, event: Any) -> set[str]:
        return {qid for qid, query in self.queries.items() if query.matches(qid, event)}

    def __len__(self) -> int:
        return len(self.queries)


def _values(raw: str | list[str]) -> list[str]:
    return list(raw) if isinstance(raw, list) else [raw]


def engine_query_from_params(params: Mapping[str, str | list[str]], *,
                             ignore: Iterable[str] = ()) -> dict[str, Any]:
    """An engine query with the semantics of ``GET …/events`` for the same parameters.

    ``types`` (CSV, repeatable), ``text`` (→ ``search``), ``afterDate``/``beforeDate``,
    ``appInstanceDepth`` (default 1 unless ``source.appInstanceDepth`` is filtered) and every
    other parameter as a strict field filter (→ ``fields``; a repeated key = OR). Paging
    parameters and ``ignore`` are skipped. Validation (unknown fields, bad dates) is the
    search parser's job: call ``core.events.search.parse_search_params`` first.
    """
    skip = set(ignore) | {"page", "limit", "sort"}
    query: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for key, raw in params.items():
        if key in skip:
            continue
        values = _values(raw)
        if key == "types":
            types = [t.strip() for v in values for t in v.split(",") if t.strip()]
            if types:
                query["types"] = types
        elif key == "text":
            if values[-1]:
                query["search"] = values[-1]
        elif key in ("afterDate", "beforeDate"):
            if values[-1]:
                query[key] = values[-1]
        elif key != "appInstanceDepth":
            fields[key] = values if len(values) > 1 else values[0]
    if "source.appInstanceDepth" not in params:
        raw_depth = params.get("appInstanceDepth")
        last = _values(raw_depth)[-1] if raw_depth not in (None, []) else ""
        depth = int(last) if str(last).strip() else 1
        if depth <= 0:  # root events only (the engine ignores a falsy depth)
            fields["source.appInstanceDepth"] = ["", "0"]
        else:
            query["appInstanceDepth"] = depth
    if fields:
        query["fields"] = fields
    return query
