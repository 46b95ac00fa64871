"""``POST /v2/workspaces/{id}/search``: an Elasticsearch-style search of one workspace's event log
(docs/search.md), answered ``{size, documents, aggs?}``.

The query (``es_query``), the read rules (``es_read``) and the aggregations (``es_aggs``) become
SQL, so ``size``, the pages and the aggregations count the events the caller may read, exactly.
When the caller's read rules cannot be written in SQL, the events matching the query are read in
sort order, at most :data:`SCAN_LIMIT` of them, and checked one by one: ``size`` counts the
readable ones among those, and aggregations are refused (403) rather than computed over events
the caller may not see. Ephemeral events (``options.persist: false``) and other workspaces'
events are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.access.permissions import Permissions
from core.events.es_aggs import AggRunner, parse_aggs
from core.events.es_query import QueryTranslator
from core.events.es_read import depth_condition, read_condition
from core.events.es_sql import ROW_COLUMNS, FieldRef, Sql, TooManyParamsError, resolve_field
from core.events.store import EVENTS, row_to_public
from schemas.api.search import DEFAULT_LIMIT, MAX_WINDOW, SearchBody
from schemas.errors import SearchError

SCAN_LIMIT = 10_000  # matching events read at most for a caller whose read rules are not SQL
SCAN_BATCH = 500
SORTED_FROM_HITS = 20_000  # a dated or sorted query with at most this many hits sorts its page from them
MAX_SORT_KEYS = 10
MAX_SOURCE_PATTERNS = 100
Problem = dict[str, str]


@dataclass(frozen=True)
class Reader:
    """What the caller may read: everything (``perms`` None: superadmins), or what its permissions
    and topics allow, app events no deeper than ``max_depth``; ``readable`` is the same check per
    event, for when the permissions cannot be written in SQL."""

    perms: Permissions | None = None
    topics: frozenset[str] = frozenset()
    max_depth: int | None = None
    readable: Callable[[dict[str, Any]], bool] | None = None


# -- sort and source ----------------------------------------------------------------------------
def parse_sort(raw: Any, problems: list[Problem]) -> list[tuple[FieldRef, str]]:
    """``[{field: "asc"|"desc"}]``, ``[{field: {order}}]``, ``["field"]`` (ascending) or one of those alone."""
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if len(items) > MAX_SORT_KEYS:
        problems.append({"path": "sort", "message": f"at most {MAX_SORT_KEYS} sort keys"})
        return []
    out = []
    for i, item in enumerate(items):
        at = f"sort[{i}]" if isinstance(raw, list) else "sort"
        if isinstance(item, str):
            name, order = item, "asc"
        elif isinstance(item, dict) and len(item) == 1:
            (name, spec), = item.items()
            if isinstance(spec, dict):
                for key in spec:
                    if key != "order":
                        problems.append({"path": f"{at}.{name}.{key}", "message": "unsupported sort option "
                                                                                  "(supported: order)"})
                spec = spec.get("order", "asc")
            order = spec if isinstance(spec, str) else ""
        else:
            problems.append({"path": at, "message": 'a sort key is "<field>" or {"<field>": "asc"|"desc"}'})
            continue
        ref = resolve_field(name)
        if name == "_score":
            problems.append({"path": at, "message": "there is no relevance score: sort by a field"})
        elif isinstance(ref, str):
            problems.append({"path": at, "message": ref})
        elif order.lower() not in ("asc", "desc"):
            problems.append({"path": at, "message": "the order is asc or desc"})
        else:
            out.append((ref, order.upper()))
    return out


def order_by(sql: Sql, keys: list[tuple[FieldRef, str]]) -> str:
    """ORDER BY of the sort keys; missing values last; ties newest first."""
    parts = []
    for ref, direction in keys:
        if ref.kind == "date":
            parts.append(f"events.created_at {direction}")
        elif ref.kind == "number":
            parts.append(f"events.{ref.column} {direction}")
        elif ref.kind == "string":
            parts.append(f"{sql.collate(f'events.{ref.column}')} {direction} NULLS LAST")
        else:
            v = sql.leaf(ref)
            parts += [f"(CASE WHEN {v.is_scalar()} THEN 0 ELSE 1 END)", f"{v.number()} {direction} NULLS LAST",
                      f"{sql.collate(v.string())} {direction} NULLS LAST", f"{v.bool_text()} {direction} NULLS LAST"]
    parts.append("events.seq DESC")
    return ", ".join(parts)


def parse_source(raw: Any, problems: list[Problem]) -> list[str] | None:
    """The ``_source`` patterns: None keeps every field, ``[]`` only ``id``."""
    if raw is None or raw is True:
        return None
    if raw is False:
        return []
    patterns = [raw] if isinstance(raw, str) else raw
    if len(patterns) > MAX_SOURCE_PATTERNS or not all(isinstance(p, str) and p for p in patterns):
        problems.append({"path": "source", "message": f"at most {MAX_SOURCE_PATTERNS} non-empty field paths"})
        return None
    return list(patterns)


def filter_source(document: dict[str, Any], patterns: list[str] | None) -> dict[str, Any]:
    """The fields of ``document`` the patterns name (a path keeps everything under it; ``*``
    matches any characters); ``id`` is always kept."""
    if patterns is None:
        return document
    out = {"id": document["id"]}
    for key, value in document.items():
        kept = _keep(value, key, patterns)
        if kept is not _DROP:
            out[key] = kept
    return out


_DROP = object()


def _keep(value: Any, path: str, patterns: list[str]) -> Any:
    if any(fnmatchcase(path, p) for p in patterns):
        return value
    if not isinstance(value, dict):
        return _DROP
    out = {}
    for key, item in value.items():
        kept = _keep(item, f"{path}.{key}", patterns)
        if kept is not _DROP:
            out[key] = kept
    return out if out else _DROP


# -- the search ---------------------------------------------------------------------------------
def window(body: SearchBody, problems: list[Problem]) -> tuple[int, int]:
    """(offset, limit) of the page: pages are 1-indexed, 0 is the first page as well."""
    limit = DEFAULT_LIMIT if body.limit is None else body.limit
    offset = max((body.page or 1) - 1, 0) * limit
    if offset + limit > MAX_WINDOW:
        problems.append({"path": "page", "message": f"(page - 1) * limit + limit is at most {MAX_WINDOW}"})
    return offset, limit


async def search_events(session: AsyncSession, workspace_id: str, body: SearchBody, reader: Reader, *,
                        problems: list[Problem] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The answer to ``body`` (``problems``: those already found in the body's keys, reported
    with the query's in one 400)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    sql = Sql(dialect)
    try:
        return await _search(session, sql, workspace_id, body, reader, now or datetime.now(UTC), list(problems or []))
    except TooManyParamsError:
        raise SearchError("The search is too large: narrow the query (fewer terms or clauses)",
                          [{"path": "query", "message": "too many values"}]) from None


async def _search(session: AsyncSession, sql: Sql, workspace_id: str, body: SearchBody, reader: Reader,
                  now: datetime, problems: list[Problem]) -> dict[str, Any]:
    translator = QueryTranslator(sql, now, problems)
    matched = translator.translate(body.query)
    sort = parse_sort(body.sort, problems)
    source = parse_source(body.source, problems)
    aggs = parse_aggs(body.aggs, problems) if body.aggs is not None else None
    offset, limit = window(body, problems)
    translator.raise_problems()
    conditions = [f"events.workspace_id = {sql.bind(workspace_id)}", f"events.ephemeral = {sql.bind(False)}", matched]
    if reader.max_depth is not None:
        conditions.append(depth_condition(sql, reader.max_depth))
    readable = "(1 = 1)" if reader.perms is None else read_condition(sql, reader.perms, workspace_id, reader.topics)
    order = order_by(sql, sort)
    if readable is None:
        if aggs is not None:
            raise SearchError("Aggregations need read on all the workspace's events: your read rules cannot be "
                              "counted in the database, so aggregations would count events you may not see",
                              [{"path": "aggs", "message": "aggregations need read on all the workspace's events"}],
                              status=403)
        size, scanned = await _scan(session, sql, " AND ".join(conditions), order, offset, limit, reader)
        return {"size": size, "documents": [filter_source(d, source) for d in scanned]}
    where = " AND ".join([*conditions, readable])
    size = int((await session.execute(sql.statement(f"SELECT COUNT(*) FROM events WHERE {where}"))).scalar() or 0)
    documents: list[dict[str, Any]] = []
    if limit and offset < size:
        rows = f"SELECT {ROW_COLUMNS} FROM events WHERE {where}"
        if (translator.dated or sort) and size <= SORTED_FROM_HITS:
            # The planner reads a page down an index in the page's order (the log, or the dates)
            # and stops at the page's last hit, assuming hits are spread evenly along it; a date
            # range gathers them, often far back, and a rare type's are few, so the walk grows
            # with every event written since. Reading the hits first (counted just above, from
            # an index) and sorting them bounds the page by its hits.
            rows = f"WITH hits AS MATERIALIZED ({rows}) SELECT {ROW_COLUMNS} FROM hits AS events"
        statement = sql.statement(f"{rows} ORDER BY {order} "
                                  f"LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}").columns(*EVENTS.columns)
        documents = [row_to_public(r) for r in (await session.execute(statement)).all()]
    answer: dict[str, Any] = {"size": size, "documents": [filter_source(d, source) for d in documents]}
    if aggs is not None:
        answer["aggs"] = await AggRunner(session, sql, where).run(aggs)
    return answer


async def _scan(session: AsyncSession, sql: Sql, where: str, order: str, offset: int, limit: int,
                reader: Reader) -> tuple[int, list[dict[str, Any]]]:
    """(readable events among the first :data:`SCAN_LIMIT` matching ones, the page of them)."""
    assert reader.readable is not None, "a reader whose rules are not SQL needs its per-event check"
    found, scanned = 0, 0
    page: list[dict[str, Any]] = []
    while scanned < SCAN_LIMIT:
        statement = sql.statement(f"SELECT {ROW_COLUMNS} FROM events WHERE {where} ORDER BY {order} "
                                  f"LIMIT {sql.bind(SCAN_BATCH)} OFFSET {sql.bind(scanned)}").columns(*EVENTS.columns)
        rows = (await session.execute(statement)).all()
        scanned += len(rows)
        for row in rows:
            event = row_to_public(row)
            if not reader.readable(event):
                continue
            if offset <= found < offset + limit:
                page.append(event)
            found += 1
        if len(rows) < SCAN_BATCH:
            break
    return found, page
