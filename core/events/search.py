"""Searching a workspace's event log: ``GET /v2/workspaces/{id}/events`` (spec §6.4).

Parameters: ``types`` (CSV), ``afterDate``/``beforeDate`` (exclusive, ISO 8601, on
``createdAt``), ``text`` (case-insensitive substring of the type or of the JSON payload),
``page`` (0-based), ``limit`` (default 50, at most 500), ``sort`` (``asc``|``desc``, by log
sequence, default ``desc``), ``appInstanceDepth`` (default 1 unless ``source.appInstanceDepth``
is filtered) and any other parameter as a filter on a dotted path of the event:

* ``payload.foo=bar`` — equality of the text forms (``payload.order=8`` finds the number 8,
  ``payload.ok=true`` the boolean); a list field matches when one of its items does;
* ``*`` wildcards (``abc*``, ``*abc``, ``*abc*``, …, case-sensitive, strings only); ``*``
  alone = the field has a value;
* an empty value = the field is missing (absent, null, ``""`` or ``[]``);
* a repeated key = OR of its values; different keys = AND.

Everything is done in SQL (SQLite ``json_extract``/``json_type``/``json_each``, PostgreSQL
``#>``/``#>>``/``jsonb_typeof`` on JSONB) so paging is exact. Ephemeral
(``persist: false``) events are never returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.events.filters import EVENT_FIELDS, RESERVED_PARAMS, split_type_patterns
from core.events.store import EVENTS, row_to_public
from schemas.errors import TidewayError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SCAN_LIMIT = 10_000  # rows a permission-filtered search reads at most per page
DEFAULT_DEPTH = 1
JSON_COLUMNS = frozenset({"source", "payload", "target", "options"})
# Filters on these paths use an indexed column instead of the JSON.
COLUMN_PATHS = {"id": "id", "type": "type", "source.correlationId": "correlation_id",
                "source.workspaceId": "workspace_id"}


class InvalidQueryError(TidewayError):
    status = 400
    default_message = "Invalid query"


QueryParams = Mapping[str, str | list[str]]


def query_params(items: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Group ``(key, value)`` pairs (e.g. ``request.query_params.multi_items()``): a key given
    once maps to its value, a repeated key to the list of its values."""
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}


@dataclass
class FieldFilter:
    path: str
    values: list[str]


@dataclass
class SearchParams:
    types: list[str] = field(default_factory=list)
    after: datetime | None = None
    before: datetime | None = None
    text: str | None = None
    page: int = 0
    limit: int = DEFAULT_LIMIT
    sort: str = "desc"
    max_depth: int | None = DEFAULT_DEPTH  # None: not filtered (source.appInstanceDepth given)
    filters: list[FieldFilter] = field(default_factory=list)


def _values(raw: str | list[str]) -> list[str]:
    return [str(v) for v in raw] if isinstance(raw, list) else [str(raw)]


def _last(raw: str | list[str]) -> str:
    return _values(raw)[-1].strip() if _values(raw) else ""


def parse_date(name: str, value: str) -> datetime:
    """ISO 8601 (``Z`` allowed, a date alone = midnight); a naive time is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidQueryError(f"{name} must be an ISO 8601 date, got {value!r}",
                                {"parameter": name}) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _int(name: str, value: str, *, low: int, high: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidQueryError(f"{name} must be an integer, got {value!r}", {"parameter": name}) from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidQueryError(f"{name} must be {bound}, got {number}", {"parameter": name})
    return number


def parse_search_params(params: QueryParams, *, ignore: Iterable[str] = ()) -> SearchParams:
    """Validate and parse the query parameters of an events search (400 on bad input)."""
    skip = set(ignore)
    parsed = SearchParams()
    for key, raw in params.items():
        if key in skip:
            continue
        value = _last(raw)
        if key == "types":
            parsed.types = sorted({t.strip() for v in _values(raw) for t in v.split(",") if t.strip()})
        elif key in ("afterDate", "beforeDate"):
            if value:
                moment = parse_date(key, value)
                if key == "afterDate":
                    parsed.after = moment
                else:
                    parsed.before = moment
        elif key == "text":
            parsed.text = value or None
        elif key == "page":
            parsed.page = _int(key, value, low=0) if value else 0
        elif key == "limit":
            parsed.limit = _int(key, value, low=1, high=MAX_LIMIT) if value else DEFAULT_LIMIT
        elif key == "sort":
            if value.lower() not in ("", "asc", "desc"):
                raise InvalidQueryError(f"sort must be asc or desc, got {value!r}", {"parameter": key})
            parsed.sort = value.lower() or "desc"
        elif key == "appInstanceDepth":
            if value:
                parsed.max_depth = _int(key, value, low=0)
        else:
            parsed.filters.append(_field_filter(key, _values(raw)))
    if any(f.path == "source.appInstanceDepth" for f in parsed.filters) and "appInstanceDepth" not in params:
        parsed.max_depth = None
    return parsed


def _field_filter(key: str, values: list[str]) -> FieldFilter:
    parts = key.split(".")
    if parts[0] not in EVENT_FIELDS or any(not p for p in parts) or '"' in key:
        allowed = ", ".join(sorted(EVENT_FIELDS))
        raise InvalidQueryError(f"Unknown query parameter {key!r}: filters are dotted paths starting with one "
                                f"of {allowed}; other parameters are {', '.join(sorted(RESERVED_PARAMS))}",
                                {"parameter": key})
    if parts[0] in ("id", "type", "createdAt") and len(parts) > 1:
        raise InvalidQueryError(f"{parts[0]} has no sub-fields (query parameter {key!r})", {"parameter": key})
    if parts[0] == "createdAt":
        for value in values:
            if "*" in value:
                raise InvalidQueryError("createdAt filters take an exact ISO date; use afterDate/beforeDate "
                                        "for ranges", {"parameter": key})
            if value:
                parse_date(key, value)
    return FieldFilter(key, values)


# ----------------------------------------------------------------------------- SQL building


class _Sql:
    """Accumulates raw SQL fragments with uniquely named bound parameters."""

    def __init__(self, dialect: str):
        self.dialect = dialect
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def clause(self, sql: str) -> ColumnElement[bool]:
        used = {k: v for k, v in self.params.items() if f":{k}" in sql}
        return text(sql).bindparams(**used)  # type: ignore[return-value]


def _glob(sql: _Sql, value: str) -> tuple[str, str]:
    """(operator, bound pattern) of a ``*`` wildcard, case-sensitive on both backends."""
    if sql.dialect == "sqlite":
        pattern = "".join({"?": "[?]", "[": "[[]"}.get(c, c) for c in value)
        return "GLOB", sql.bind(pattern)
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return "LIKE", sql.bind(escaped) + " ESCAPE '\\'"


def _sqlite_path(parts: list[str]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if part.isdigit() else f'."{part}"'
    return path


def _json_filter(sql: _Sql, column: str, parts: list[str], values: list[str]) -> str:
    """One field filter (OR of its values) on a path inside a JSON column."""
    col = f"events.{column}"
    if sql.dialect == "sqlite":
        p = sql.bind(_sqlite_path(parts))
        kind = f"json_type({col}, {p})"
        value = f"json_extract({col}, {p})"
        as_text = (f"(CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                   f"ELSE CAST({value} AS TEXT) END)")
        item_text = "(CASE je.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(je.value AS TEXT) END)"
        items = f"json_each({col}, {p}) AS je"
        item_is_string = "je.type = 'text'"
        item_value = "je.value"
        is_string = f"{kind} = 'text'"
        empty = (f"({kind} IS NULL OR {kind} = 'null' OR ({kind} = 'text' AND {value} = '') "
                 f"OR ({kind} = 'array' AND json_array_length({col}, {p}) = 0))")
    else:
        p = f"CAST({sql.bind(parts)} AS text[])"
        node = f"({col} #> {p})"
        kind = f"jsonb_typeof({node})"
        as_text = f"({col} #>> {p})"
        value = as_text
        item_text = "(je #>> '{}')"
        items = f"jsonb_array_elements(CASE WHEN {kind} = 'array' THEN {node} ELSE '[]'::jsonb END) AS je"
        item_is_string = "jsonb_typeof(je) = 'string'"
        item_value = item_text
        is_string = f"{kind} = 'string'"
        empty = f"({kind} IS NULL OR {kind} = 'null' OR {as_text} = '' OR {node} = '[]'::jsonb)"
    ors = []
    for raw in values:
        if raw == "":
            ors.append(empty)
        elif raw == "*":
            ors.append(f"NOT {empty}")
        elif "*" in raw:
            op, pattern = _glob(sql, raw)
            ors.append(f"(({is_string} AND {value} {op} {pattern}) OR ({kind} = 'array' AND EXISTS "
                       f"(SELECT 1 FROM {items} WHERE {item_is_string} AND {item_value} {op} {pattern})))")
        else:
            v = sql.bind(raw)
            ors.append(f"(({kind} <> 'array' AND {as_text} = {v}) OR ({kind} = 'array' AND EXISTS "
                       f"(SELECT 1 FROM {items} WHERE {item_text} = {v})))")
    return "(" + " OR ".join(ors) + ")"


def _column_filter(sql: _Sql, column: str, values: list[str]) -> str:
    col = f"events.{column}"
    ors = []
    for raw in values:
        if raw == "":
            ors.append(f"({col} IS NULL OR {col} = '')")
        elif raw == "*":
            ors.append(f"({col} IS NOT NULL AND {col} <> '')")
        elif "*" in raw:
            op, pattern = _glob(sql, raw)
            ors.append(f"{col} {op} {pattern}")
        else:
            ors.append(f"{col} = {sql.bind(raw)}")
    return "(" + " OR ".join(ors) + ")"


def _created_filter(values: list[str]) -> ColumnElement[bool]:
    ors: list[ColumnElement[bool]] = []
    for raw in values:
        if raw == "":
            ors.append(false())  # every event has a date
        else:
            ors.append(EVENTS.c.created_at == _stored_date(parse_date("createdAt", raw)))
    return or_(*ors)


def _stored_date(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _depth_clause(sql: _Sql, max_depth: int) -> str:
    d = sql.bind(max_depth)
    if sql.dialect == "sqlite":
        kind = "json_type(events.source, '$.appInstanceDepth')"
        return (f"(COALESCE(CASE WHEN {kind} IN ('integer', 'real') "
                f"THEN json_extract(events.source, '$.appInstanceDepth') END, 0) <= {d})")
    kind = "jsonb_typeof(events.source -> 'appInstanceDepth')"
    return (f"(COALESCE(CASE WHEN {kind} = 'number' "
            f"THEN CAST(events.source ->> 'appInstanceDepth' AS numeric) END, 0) <= {d})")


def _text_clause(sql: _Sql, needle: str) -> str:
    lowered = needle.lower()
    if sql.dialect == "sqlite":
        # SQLite stores JSON as Python's json.dumps writes it: non-ASCII as \\uXXXX escapes.
        in_json = "".join(c if ord(c) < 128 else json.dumps(c)[1:-1] for c in lowered)
        return (f"(instr(lower(events.type), {sql.bind(lowered)}) > 0 OR "
                f"instr(lower(CAST(events.payload AS TEXT)), {sql.bind(in_json)}) > 0)")
    n = sql.bind(lowered)
    return f"(strpos(lower(events.type), {n}) > 0 OR strpos(lower(CAST(events.payload AS text)), {n}) > 0)"


def build_conditions(dialect: str, workspace_id: str, parsed: SearchParams, *,
                     include_ephemeral: bool = False) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a search (paging and sort excluded)."""
    sql = _Sql(dialect)
    conditions: list[ColumnElement[bool]] = [EVENTS.c.workspace_id == workspace_id]
    if not include_ephemeral:
        conditions.append(EVENTS.c.ephemeral == false())
    if parsed.types:
        exact, patterns = split_type_patterns(parsed.types)
        kinds: list[ColumnElement[bool]] = [EVENTS.c.type.in_(exact)] if exact else []
        for pattern in patterns:  # `runtime.*`: a wildcard, as field filters take them
            op, bound = _glob(sql, pattern)
            kinds.append(sql.clause(f"events.type {op} {bound}"))
        conditions.append(or_(*kinds))
    if parsed.after is not None:
        conditions.append(EVENTS.c.created_at > _stored_date(parsed.after))
    if parsed.before is not None:
        conditions.append(EVENTS.c.created_at < _stored_date(parsed.before))
    fragments: list[str] = []
    if parsed.text:
        fragments.append(_text_clause(sql, parsed.text))
    if parsed.max_depth is not None:
        fragments.append(_depth_clause(sql, parsed.max_depth))
    for filt in parsed.filters:
        parts = filt.path.split(".")
        if filt.path in COLUMN_PATHS:
            fragments.append(_column_filter(sql, COLUMN_PATHS[filt.path], filt.values))
        elif parts[0] == "createdAt":
            conditions.append(_created_filter(filt.values))
        else:
            fragments.append(_json_filter(sql, parts[0], parts[1:], filt.values))
    if fragments:
        conditions.append(sql.clause(" AND ".join(fragments)))
    return conditions


async def search_events(session: AsyncSession, workspace_id: str, params: QueryParams) -> list[dict[str, Any]]:
    """``GET /v2/workspaces/{id}/events``: the public events of one page (see module docstring)."""
    parsed = parse_search_params(params)
    return await run_search(session, workspace_id, parsed)


async def run_search(session: AsyncSession, workspace_id: str, parsed: SearchParams, *,
                     readable: Callable[[dict[str, Any]], bool] | None = None,
                     scan_limit: int = SCAN_LIMIT) -> list[dict[str, Any]]:
    """One page of results. With ``readable`` (the caller's permission check, spec §8.4) pages
    count only the events the caller may read; the scan for them stops after ``scan_limit``
    matching rows, so a reader who may see few events of a huge log gets a short page instead of
    a slow one (narrow the search with filters to reach further)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    order = EVENTS.c.seq.asc() if parsed.sort == "asc" else EVENTS.c.seq.desc()
    base = select(EVENTS).where(and_(*build_conditions(dialect, workspace_id, parsed))).order_by(order)
    if readable is None:
        rows = (await session.execute(base.offset(parsed.page * parsed.limit).limit(parsed.limit))).all()
        return [row_to_public(r) for r in rows]
    skip, scanned = parsed.page * parsed.limit, 0
    out: list[dict[str, Any]] = []
    batch = max(parsed.limit * 2, 200)
    while scanned < scan_limit and len(out) < parsed.limit:
        rows = (await session.execute(base.offset(scanned).limit(batch))).all()
        scanned += len(rows)
        for row in rows:
            event = row_to_public(row)
            if not readable(event):
                continue
            if skip:
                skip -= 1
            elif len(out) < parsed.limit:
                out.append(event)
        if len(rows) < batch:
            break
    return out
