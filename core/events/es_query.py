"""The Elasticsearch query language, translated to a SQL condition on the event log (docs/search.md).

Supported: ``match_all``; ``bool`` (``filter``, ``must``, ``should`` with
``minimum_should_match``, ``must_not``); ``term``; ``terms``; ``match`` and ``match_phrase``
(case-insensitive substring search, as ``GET …/events?text=``); ``range`` (numbers, strings,
dates with date math); ``exists``; ``prefix``; ``wildcard``. There is no relevance score: ``must``
and ``filter`` are the same. Anything else (another clause, an option not listed, a script) is a
problem reported with its path in the query (``query.bool.must[1].fuzzy``); the translator goes
on after a problem so that one 400 names them all.

Comparisons of a value with a JSON field: a string matches a string equal to it, a number or
numeric string a number equal to it (``8`` = ``8.0``), ``true``/``false`` a boolean; a number
also matches the string of its digits. A field holding an array matches when one item does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.events.es_dates import DateError, iso_millis, range_bound, resolve
from core.events.es_sql import (
    FieldRef,
    JsonValue,
    Sql,
    contains,
    glob_pattern,
    prefix_pattern,
    resolve_field,
)
from schemas.api.search import summary
from schemas.errors import SearchError

TRUE, FALSE = "(1 = 1)", "(1 = 0)"
MAX_DEPTH = 20  # nested bool queries
MAX_CLAUSES = 1_024  # leaf clauses of one query, as Elasticsearch's max_clause_count
MAX_TERMS = 1_000  # values of one terms query
RANGE_OPS = ("gt", "gte", "lt", "lte")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
Problem = dict[str, str]


def scalar_text(value: Any) -> str:
    """A scalar as text: ``true``/``false``, ``8`` for 8 and 8.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return None


class QueryTranslator:
    """One query's translation; ``problems`` collects what cannot be translated."""

    def __init__(self, sql: Sql, now: datetime, problems: list[Problem] | None = None):
        self.sql = sql
        self.now = now
        self.problems: list[Problem] = problems if problems is not None else []
        self.clauses = 0
        self.dated = False  # a clause bounds the event's date (the page's plan depends on it)

    def problem(self, path: str, message: str) -> str:
        self.problems.append({"path": path, "message": message})
        return FALSE

    def raise_problems(self) -> None:
        if self.problems:
            raise SearchError(summary(self.problems), self.problems)

    # -- dispatch ---------------------------------------------------------------------------
    def translate(self, node: Any, path: str = "query", depth: int = 0) -> str:
        if not isinstance(node, dict) or len(node) != 1:
            return self.problem(path, "a query is an object with exactly one clause, e.g. {\"term\": {…}}")
        (name, body), = node.items()
        at = f"{path}.{name}"
        if depth > MAX_DEPTH:
            return self.problem(at, f"queries nest at most {MAX_DEPTH} levels deep")
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            return self.problem(at, f"a query holds at most {MAX_CLAUSES} clauses")
        handler = CLAUSES.get(name)
        if handler is None:
            hint = "scripts are not supported" if name == "script" else \
                f"unsupported clause (supported: {', '.join(sorted(CLAUSES))})"
            return self.problem(at, hint)
        return handler(self, body, at, depth)

    # -- compound ---------------------------------------------------------------------------
    def bool_query(self, body: Any, path: str, depth: int) -> str:
        if not isinstance(body, dict):
            return self.problem(path, "must be an object")
        groups: dict[str, list[str]] = {}
        for key, value in body.items():
            if key == "minimum_should_match":
                continue
            if key not in ("filter", "must", "should", "must_not"):
                self.problem(f"{path}.{key}", "unsupported bool option (supported: filter, must, should, must_not, "
                                              "minimum_should_match)")
                continue
            items = value if isinstance(value, list) else [value]
            suffix = (lambda i: f"[{i}]") if isinstance(value, list) else (lambda i: "")
            groups[key] = [self.translate(item, f"{path}.{key}{suffix(i)}", depth + 1) for i, item in enumerate(items)]
        parts = groups.get("filter", []) + groups.get("must", []) + [f"NOT {c}" for c in groups.get("must_not", [])]
        should = groups.get("should", [])
        default = 0 if groups.get("filter") or groups.get("must") else 1
        wanted = self.minimum_should_match(body.get("minimum_should_match"), len(should), default,
                                           f"{path}.minimum_should_match")
        if should and wanted > 0:
            if wanted == 1:
                parts.append("(" + " OR ".join(should) + ")")
            elif wanted > len(should):
                parts.append(FALSE)
            else:
                total = " + ".join(f"(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in should)
                parts.append(f"(({total}) >= {int(wanted)})")
        return "(" + " AND ".join(parts) + ")" if parts else TRUE

    def minimum_should_match(self, raw: Any, count: int, default: int, path: str) -> int:
        if raw is None:
            return default
        if isinstance(raw, int) and not isinstance(raw, bool):
            number = raw
        elif isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
            number = int(raw)
        elif isinstance(raw, str) and re.fullmatch(r"-?\d+%", raw.strip()):
            percent = int(raw.strip()[:-1])
            number = count * abs(percent) // 100
            number = number if percent >= 0 else -number
        else:
            self.problem(path, "must be an integer or a percentage like 75% (combinations are not supported)")
            return default
        return max(0, count + number if number < 0 else number)

    def match_all(self, body: Any, path: str, depth: int) -> str:
        if body not in ({}, None):
            return self.problem(path, "match_all takes no options")
        return TRUE

    # -- field clauses ------------------------------------------------------------------------
    def field_clause(self, body: Any, path: str, value_key: str | None, options: tuple[str, ...] = (),
                     alias: str | None = None) -> tuple[FieldRef, Any, dict[str, Any]] | None:
        """``{field: value}`` or ``{field: {value_key: value, <options>}}`` → (field, value, options);
        ``alias``: another name of ``value_key`` (``wildcard``'s own)."""
        if not isinstance(body, dict) or len(body) != 1:
            self.problem(path, "must name exactly one field: {\"<field>\": …}")
            return None
        (name, raw), = body.items()
        ref = resolve_field(name)
        if isinstance(ref, str):
            self.problem(f"{path}.{name}", ref)
            return None
        if isinstance(raw, dict) and value_key is not None:
            if alias is not None and alias in raw and value_key not in raw:
                raw = {value_key if k == alias else k: v for k, v in raw.items()}
            extra = [k for k in raw if k != value_key and k not in options]
            for key in extra:
                allowed = ", ".join((value_key, *options))
                self.problem(f"{path}.{name}.{key}", f"unsupported option (supported: {allowed})")
            if value_key not in raw:
                self.problem(f"{path}.{name}", f"{value_key} is required")
                return None
            if extra:
                return None
            return ref, raw[value_key], {k: v for k, v in raw.items() if k != value_key}
        return ref, raw, {}

    def term(self, body: Any, path: str, depth: int) -> str:
        parsed = self.field_clause(body, path, "value")
        if parsed is None:
            return FALSE
        ref, value, _ = parsed
        return self.equals(ref, [value], f"{path}.{ref.name}")

    def terms(self, body: Any, path: str, depth: int) -> str:
        if not isinstance(body, dict) or len(body) != 1:
            return self.problem(path, "must name exactly one field: {\"<field>\": [values]}")
        (name, values), = body.items()
        ref = resolve_field(name)
        if isinstance(ref, str):
            return self.problem(f"{path}.{name}", ref)
        if not isinstance(values, list):
            return self.problem(f"{path}.{name}", "must be a list of values (terms lookup is not supported)")
        if len(values) > MAX_TERMS:
            return self.problem(f"{path}.{name}", f"at most {MAX_TERMS} values")
        return self.equals(ref, values, f"{path}.{name}") if values else FALSE

    def equals(self, ref: FieldRef, values: list[Any], path: str) -> str:
        """The field equals one of ``values`` (scalars)."""
        for value in values:
            if value is None or isinstance(value, dict | list):
                return self.problem(path, "a value must be a string, a number or a boolean")
        if ref.kind == "date":
            try:
                moments = [resolve(v, self.now) for v in values]
            except DateError as exc:
                return self.problem(path, str(exc))
            # A date matches the millisecond it names (Elasticsearch keeps milliseconds).
            return "(" + " OR ".join(self.same_milli(m) for m in moments) + ")"
        col = f"events.{ref.column}"
        if ref.kind == "number":
            numbers = [as_number(v) for v in values]
            if any(n is None for n in numbers):
                return self.problem(path, f"{ref.name} is a number")
            return f"({col} IN ({', '.join(self.sql.bind(n) for n in numbers)}))"
        if ref.kind == "string":
            texts = [scalar_text(v) for v in values]
            test = f"{col} = {self.sql.bind(texts[0])}" if len(texts) == 1 else \
                f"{col} IN ({', '.join(self.sql.bind(t) for t in texts)})"
            return f"({test} AND {col} IS NOT NULL)" if ref.nullable else f"({test})"
        return self.sql.any_value(ref, lambda v: " OR ".join(self.value_equals(v, value) for value in values))

    def same_milli(self, moment: datetime) -> str:
        start = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        self.dated = True
        return (f"(events.created_at >= {self.sql.date(start)} AND "
                f"events.created_at < {self.sql.date(start + timedelta(milliseconds=1))})")

    def value_equals(self, v: JsonValue, value: Any) -> str:
        ors = []
        if isinstance(value, bool):
            word = scalar_text(value)
            ors += [f"({v.bool_text()} = {self.sql.bind(word)})", f"({v.string()} = {self.sql.bind(word)})"]
        else:
            ors.append(f"({v.string()} = {self.sql.bind(scalar_text(value))})")
            number = as_number(value)
            if number is not None:
                ors.append(f"({v.number()} = {self.sql.bind(number)})")
            if isinstance(value, str) and value in ("true", "false"):
                ors.append(f"({v.bool_text()} = {self.sql.bind(value)})")
        return "(" + " OR ".join(ors) + ")"

    def range_query(self, body: Any, path: str, depth: int) -> str:
        if not isinstance(body, dict) or len(body) != 1:
            return self.problem(path, "must name exactly one field: {\"<field>\": {\"gte\": …}}")
        (name, options), = body.items()
        ref = resolve_field(name)
        at = f"{path}.{name}"
        if isinstance(ref, str):
            return self.problem(at, ref)
        if not isinstance(options, dict) or not options:
            return self.problem(at, "must be an object of gt, gte, lt, lte")
        bad = [k for k in options if k not in RANGE_OPS]
        for key in bad:
            self.problem(f"{at}.{key}", "unsupported range option (supported: gt, gte, lt, lte)")
        if bad:
            return FALSE
        parts = []
        for op, value in options.items():
            part = self.range_part(ref, op, value, f"{at}.{op}")
            if part is None:
                return FALSE
            parts.append(part)
        return "(" + " AND ".join(parts) + ")"

    def range_part(self, ref: FieldRef, op: str, value: Any, path: str) -> str | None:
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        if value is None or isinstance(value, bool | dict | list):
            self.problem(path, "a bound is a number, a string or a date")
            return None
        if ref.kind == "date":
            try:
                resolved = range_bound(op, value, self.now)
            except DateError as exc:
                self.problem(path, str(exc))
                return None
            self.dated = True
            return f"(events.created_at {resolved.op} {self.sql.date(resolved.moment)})"
        number = as_number(value)
        if ref.kind == "number":
            if number is None:
                self.problem(path, f"{ref.name} is a number")
                return None
            return f"(events.{ref.column} {sign} {self.sql.bind(number)})"
        if ref.kind == "string":
            col = f"events.{ref.column}"
            return self.sql.never_null(f"{self.sql.collate(col)} {sign} {self.sql.bind(scalar_text(value))}")
        if number is not None:
            bound = self.sql.bind(number)
            return self.sql.any_value(ref, lambda v: f"{v.number()} {sign} {bound}")
        text_bound = str(value)
        if text_bound.startswith("now") or "||" in text_bound:  # date math against ISO 8601 strings
            try:
                text_bound = iso_millis(resolve(text_bound, self.now, round_up=False))
            except DateError as exc:
                self.problem(path, str(exc))
                return None
        bound = self.sql.bind(text_bound)
        return self.sql.any_value(ref, lambda v: f"{self.sql.collate(v.string())} {sign} {bound}")

    def exists(self, body: Any, path: str, depth: int) -> str:
        if not isinstance(body, dict) or set(body) != {"field"}:
            return self.problem(path, "must be {\"field\": \"<field>\"}")
        ref = resolve_field(body["field"])
        if isinstance(ref, str):
            return self.problem(f"{path}.field", ref)
        if ref.kind != "json":
            return f"(events.{ref.column} IS NOT NULL)" if ref.nullable else TRUE
        return self.sql.never_null(self.sql.leaf(ref).is_present())

    def string_clause(self, body: Any, path: str, key: str, build: Callable[[str, str], tuple[str, str]],
                      alias: str | None = None) -> str:
        """prefix / wildcard: a string pattern on string values."""
        parsed = self.field_clause(body, path, key, alias=alias)
        if parsed is None:
            return FALSE
        ref, value, _ = parsed
        if not isinstance(value, str):
            return self.problem(f"{path}.{ref.name}", "must be a string")
        if ref.kind in ("date", "number"):
            return self.problem(f"{path}.{ref.name}", f"{ref.name} is not a string field")
        op, pattern = build(value, ref.kind)
        if ref.kind == "string":  # left bare (the column is never NULL): an index can serve it
            col = f"events.{ref.column}"
            return f"({col} {op} {pattern} AND {col} IS NOT NULL)" if ref.nullable else f"({col} {op} {pattern})"
        return self.sql.any_value(ref, lambda v: f"{v.string()} {op} {pattern}")

    def prefix(self, body: Any, path: str, depth: int) -> str:
        return self.string_clause(body, path, "value", lambda value, _: prefix_pattern(self.sql, value))

    def wildcard(self, body: Any, path: str, depth: int) -> str:
        return self.string_clause(body, path, "value", lambda value, _: glob_pattern(self.sql, value),
                                  alias="wildcard")

    def match(self, body: Any, path: str, depth: int, *, phrase: bool = False) -> str:
        options = () if phrase else ("operator",)
        parsed = self.field_clause(body, path, "query", options)
        if parsed is None:
            return FALSE
        ref, query, extra = parsed
        at = f"{path}.{ref.name}"
        if query is None or isinstance(query, dict | list):
            return self.problem(at, "the query is a string")
        operator = extra.get("operator", "or")
        if not isinstance(operator, str) or operator.lower() not in ("or", "and"):
            return self.problem(f"{at}.operator", "must be or or and")
        if ref.kind == "date":
            return self.problem(at, f"{ref.name} is a date: use range or term")
        text_query = scalar_text(query)
        words = [text_query] if phrase else text_query.split()
        if not words or not text_query.strip():
            return FALSE
        tests = [self.contains(ref, word) for word in words]
        joiner = " AND " if operator.lower() == "and" else " OR "
        return "(" + joiner.join(tests) + ")"

    def contains(self, ref: FieldRef, needle: str) -> str:
        if ref.kind != "json":
            return self.sql.never_null(contains(self.sql, f"CAST(events.{ref.column} AS TEXT)", needle))
        if not ref.path:  # the whole column: its stored JSON text
            return self.sql.never_null(contains(self.sql, f"CAST(events.{ref.column} AS TEXT)", needle,
                                                json_text=True))
        leaf = self.sql.leaf(ref)
        return self.sql.never_null(contains(self.sql, leaf.as_text(), needle, json_text=True))

    def match_phrase(self, body: Any, path: str, depth: int) -> str:
        return self.match(body, path, depth, phrase=True)


CLAUSES: dict[str, Callable[[QueryTranslator, Any, str, int], str]] = {
    "match_all": QueryTranslator.match_all, "bool": QueryTranslator.bool_query, "term": QueryTranslator.term,
    "terms": QueryTranslator.terms, "range": QueryTranslator.range_query, "exists": QueryTranslator.exists,
    "prefix": QueryTranslator.prefix, "wildcard": QueryTranslator.wildcard, "match": QueryTranslator.match,
    "match_phrase": QueryTranslator.match_phrase,
}
