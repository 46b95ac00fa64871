"""``POST /v2/workspaces/{id}/search``: an Elasticsearch-style search of the workspace's events
(docs/search.md). The body is checked here; ``query``, ``sort``, ``source`` and ``aggs`` are
translated (and refused clause by clause) by ``core.events.es_*``."""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from schemas.api.common import Closed
from schemas.errors import SearchError
from schemas.requests import problems_of

MAX_LIMIT = 500  # documents of one page
MAX_WINDOW = 10_000  # (page - 1) * limit + limit at most, Elasticsearch's max_result_window
DEFAULT_LIMIT = 10  # Elasticsearch's default `size`


class SearchBody(BaseModel):
    """The request: ``query`` (required) in the Elasticsearch query language, ``limit`` (default
    10, at most 500), ``page`` (1 is the first page; 0 and absent also mean the first),
    ``sort``, ``source`` (``_source`` filtering), ``aggs``, ``track_total_hits`` (accepted;
    ``size`` is always the exact total), ``scope`` (only ``events``)."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [
        {"query": {"bool": {"filter": [{"term": {"type": "order.created"}},
                                       {"range": {"@timestamp": {"gte": "now-1d"}}}]}},
         "limit": 20, "page": 1, "sort": [{"@timestamp": "desc"}], "source": ["id", "type", "payload.orderId"],
         "aggs": {"per_hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}}}]})

    scope: Literal["events"] = "events"
    query: dict[str, Any] = Field(description="an Elasticsearch query (docs/search.md lists the clauses)")
    limit: int | None = Field(None, ge=0, le=MAX_LIMIT, description="page size (default 10); aggregations "
                              "still cover every matching event")
    page: int | None = Field(None, ge=0, description="page number, 1-indexed (0 or absent: the first page)")
    sort: list[str | dict[str, Any]] | dict[str, Any] | str | None = Field(
        None, description='`[{"<field>": "asc"|"desc"}]`, `[{"<field>": {"order": …}}]` or `["<field>"]`; '
                          "default newest first")
    source: list[str] | str | bool | None = Field(None, description="the fields of each document to keep "
                                                  "(dotted paths, `*` wildcards), like `_source`")
    aggs: dict[str, dict[str, Any]] | None = Field(None, description="aggregations, answered in the "
                                                   "Elasticsearch response shape")
    track_total_hits: bool | int | None = Field(None, description="accepted for compatibility: `size` is "
                                                "always the exact number of matching events")


class SearchAnswer(Closed):
    """``size``: how many events match (that the caller may read); ``documents``: the page;
    ``aggs``: the aggregations asked for."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"size": 42, "documents": [{"id": "0b7…", "type": "order.created", "payload": {"orderId": 1}}],
         "aggs": {"per_hour": {"buckets": [{"key": 1767225600000, "key_as_string": "2026-01-01T00:00:00.000Z",
                                            "doc_count": 42}]}}}]})

    size: int
    documents: list[dict[str, Any]]
    aggs: dict[str, Any] | None = None


UNSUPPORTED_KEYS = {"runtime_mappings": "runtime_mappings is not supported (no runtime fields)"}


def parse_search_body(value: Any) -> tuple[SearchBody, list[dict[str, str]]]:
    """``value`` as a :class:`SearchBody`, and the problems of its keys (unknown, unsupported)
    for the search to report with the problems of its query; a 400 ``SearchError`` listing
    every problem when the body is not even that. Paths are relative to the body (``limit``,
    ``query.bool.must[1].fuzzy``)."""
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise SearchError(f"Invalid search: the body must be an object, got {kind}",
                          [{"path": "body", "message": f"must be an object, got {kind}"}])
    problems: list[dict[str, str]] = []
    known = set(SearchBody.model_fields)
    for key in value:
        if key in UNSUPPORTED_KEYS:
            problems.append({"path": key, "message": UNSUPPORTED_KEYS[key]})
        elif key not in known:
            problems.append({"path": key, "message": f"unknown key (expected one of {', '.join(sorted(known))})"})
    try:
        return SearchBody.model_validate({k: v for k, v in value.items() if k in known}), problems
    except pydantic.ValidationError as exc:
        problems += [{**p, "path": p["path"].removeprefix("body.")} for p in problems_of(exc)]
    raise SearchError(summary(problems), problems)


def summary(problems: list[dict[str, str]], what: str = "search") -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"Invalid {what}: {first['path']}: {first['message']}{more}"
