"""SQL pieces of the event search (``POST …/search``, docs/search.md) on SQLite and PostgreSQL:
bound parameters, event fields by dotted path, and what the JSON value at a path is.

Statements are written as SQL text with named bound parameters (never values spliced in), one
:class:`Sql` per statement. Every predicate built here is two-valued (never NULL), so that
``NOT`` and ``must_not`` see a missing field as "does not match" and negate it to "matches".

A JSON value is read the same way on both databases through :class:`JsonValue`: SQLite's
``json_type``/``json_extract``/``json_each`` on the JSON text, PostgreSQL's
``jsonb_typeof``/``#>``/``#>>``/``jsonb_array_elements`` on JSONB. Intermediate arrays are not
fanned out: ``payload.items.name`` reads ``name`` of the object ``items``; a digit indexes a
list (``payload.items.0.name``). The value at the end of the path, when it is an array, stands
for each of its items (``term`` on ``payload.tags`` matches a list holding the value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import TextClause, text

from core.events.store import EVENTS

FieldKind = Literal["string", "number", "date", "json"]
JSON_ROOTS = ("source", "payload", "target", "options")
# Fields read from a column (indexed ones first: type, correlation id, date).
COLUMN_FIELDS: dict[str, tuple[str, FieldKind]] = {
    "type": ("type", "string"), "id": ("id", "string"), "size": ("size", "number"),
    "@timestamp": ("created_at", "date"), "createdAt": ("created_at", "date"),
    "source.correlationId": ("correlation_id", "string"), "source.workspaceId": ("workspace_id", "string"),
}
NULLABLE_COLUMNS = frozenset({"correlation_id"})
MAX_FIELD_LENGTH = 300
MAX_SEGMENTS = 32
MAX_PARAMS = 5_000  # bound values of one statement (SQLite allows 32,766)
_BAD_FIELD_CHARS = re.compile(r'["\\\x00-\x1f]')
_PARAM = re.compile(r":(es\d+)\b")
# The column list of a whole event row, in the table's order (typed results: text(...).columns()).
ROW_COLUMNS = ", ".join(f"events.{c.name}" for c in EVENTS.columns)


class TooManyParamsError(Exception):
    """A statement would bind more values than :data:`MAX_PARAMS`."""


@dataclass(frozen=True)
class FieldRef:
    """A field of an event: a column, or a path inside one of the JSON columns."""

    name: str
    column: str
    kind: FieldKind
    path: tuple[str, ...] = ()

    @property
    def nullable(self) -> bool:
        return self.column in NULLABLE_COLUMNS


def resolve_field(name: Any) -> FieldRef | str:
    """The field a dotted path names, or why it names none (an error message)."""
    if not isinstance(name, str) or not name:
        return "a field must be a non-empty string"
    if len(name) > MAX_FIELD_LENGTH or _BAD_FIELD_CHARS.search(name):
        return f"invalid field name {name[:60]!r}"
    if name in COLUMN_FIELDS:
        column, kind = COLUMN_FIELDS[name]
        return FieldRef(name, column, kind)
    parts = name.split(".")
    if parts[0] in JSON_ROOTS and all(parts) and len(parts) <= MAX_SEGMENTS:
        return FieldRef(name, parts[0], "json", tuple(parts[1:]))
    return (f"unknown field {name!r}: fields are @timestamp, createdAt, type, id, size, or a dotted path "
            f"under {', '.join(JSON_ROOTS)}")


class Sql:
    """The bound parameters of one statement, and the dialect's spellings."""

    def __init__(self, dialect: str):
        self.dialect = "sqlite" if dialect == "sqlite" else "postgresql"
        self.params: dict[str, Any] = {}
        self._paths: dict[tuple[str, tuple[str, ...]], str] = {}

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def bind(self, value: Any) -> str:
        if len(self.params) >= MAX_PARAMS:
            raise TooManyParamsError
        name = f"es{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def statement(self, sql: str) -> TextClause:
        used = set(_PARAM.findall(sql))
        return text(sql).bindparams(**{k: v for k, v in self.params.items() if k in used})

    # -- columns and dates -----------------------------------------------------------------
    def date(self, moment: datetime) -> str:
        """A bound date comparable with ``events.created_at`` (SQLite stores naive UTC text)."""
        utc = moment.astimezone(UTC)
        return self.bind(utc.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else utc)

    def epoch_seconds(self) -> str:
        """Whole seconds since 1970 of ``events.created_at``, exactly (an integer)."""
        if self.sqlite:
            return "CAST(strftime('%s', events.created_at) AS INTEGER)"
        return "CAST(floor(extract(epoch FROM events.created_at)) AS bigint)"

    def epoch_millis(self) -> str:
        if self.sqlite:
            return f"({self.epoch_seconds()} * 1000 + CAST(substr(events.created_at, 21, 3) AS INTEGER))"
        return "CAST(floor(extract(epoch FROM events.created_at) * 1000) AS bigint)"

    def collate(self, expression: str) -> str:
        """Text in byte order on both databases (PostgreSQL's default collation is the locale's)."""
        return expression if self.sqlite else f'({expression}) COLLATE "C"'

    def never_null(self, predicate: str) -> str:
        return f"COALESCE(({predicate}), FALSE)"

    # -- JSON values ------------------------------------------------------------------------
    def path(self, ref: FieldRef) -> str:
        key = (ref.column, ref.path)
        if key not in self._paths:
            if self.sqlite:
                spelled = "$" + "".join(f"[{p}]" if p.isdigit() else f'."{p}"' for p in ref.path)
                self._paths[key] = self.bind(spelled)
            else:
                self._paths[key] = f"CAST({self.bind(list(ref.path))} AS text[])"
        return self._paths[key]

    def leaf(self, ref: FieldRef) -> JsonValue:
        """The value at ``ref``'s path of the current row."""
        col, p = f"events.{ref.column}", self.path(ref)
        if self.sqlite:
            return JsonValue(self, kind=f"json_type({col}, {p})", raw=f"json_extract({col}, {p})",
                             array_length=f"json_array_length({col}, {p})")
        node = f"({col} #> {p})"
        return JsonValue(self, kind=f"jsonb_typeof({node})", raw=f"({col} #>> {p})",
                         array_length=f"jsonb_array_length(CASE WHEN jsonb_typeof({node}) = 'array' "
                                      f"THEN {node} ELSE CAST('[]' AS jsonb) END)")

    def items(self, ref: FieldRef, alias: str) -> tuple[str, JsonValue]:
        """``(FROM clause, item)``: the items of the array at ``ref``'s path (none when it is no
        array)."""
        col, p = f"events.{ref.column}", self.path(ref)
        if self.sqlite:
            # json_each of a scalar yields the scalar, of an object its members: only arrays.
            source = (f"json_each(CASE WHEN json_type({col}, {p}) = 'array' THEN json_extract({col}, {p}) "
                      f"ELSE '[]' END) AS {alias}")
            return source, JsonValue(self, kind=f"{alias}.type", raw=f"{alias}.value")
        node = f"({col} #> {p})"
        source = (f"jsonb_array_elements(CASE WHEN jsonb_typeof({node}) = 'array' THEN {node} "
                  f"ELSE CAST('[]' AS jsonb) END) AS {alias}(v)")
        return source, JsonValue(self, kind=f"jsonb_typeof({alias}.v)", raw=f"({alias}.v #>> '{{}}')")

    def any_value(self, ref: FieldRef, predicate: Callable[[JsonValue], str]) -> str:
        """The value at ``ref`` satisfies ``predicate``, or, when it is an array, one of its items."""
        leaf = self.leaf(ref)
        alias = f"je{len(self.params)}"
        source, item = self.items(ref, alias)
        return self.never_null(f"({predicate(leaf)}) OR ({leaf.is_array()} AND EXISTS "
                               f"(SELECT 1 FROM {source} WHERE {predicate(item)}))")


@dataclass(frozen=True)
class JsonValue:
    """SQL reading one JSON value: ``kind`` is the dialect's type name, ``raw`` its text (a
    string's characters, a number's digits, ``true``/``false``; SQLite gives numbers as numbers)."""

    sql: Sql
    kind: str
    raw: str
    array_length: str = "0"

    def is_string(self) -> str:
        return f"{self.kind} = " + ("'text'" if self.sql.sqlite else "'string'")

    def is_number(self) -> str:
        return f"{self.kind} IN ('integer', 'real')" if self.sql.sqlite else f"{self.kind} = 'number'"

    def is_bool(self) -> str:
        return f"{self.kind} IN ('true', 'false')" if self.sql.sqlite else f"{self.kind} = 'boolean'"

    def is_array(self) -> str:
        return f"{self.kind} = 'array'"

    def is_scalar(self) -> str:
        return f"({self.is_string()} OR {self.is_number()} OR {self.is_bool()})"

    def is_present(self) -> str:
        """Has a value: not missing, not null, not an empty array (Elasticsearch's ``exists``)."""
        return (f"({self.kind} IS NOT NULL AND {self.kind} <> 'null' "
                f"AND NOT ({self.is_array()} AND {self.array_length} = 0))")

    def string(self) -> str:
        """The text of a string (NULL for other kinds)."""
        return f"(CASE WHEN {self.is_string()} THEN {self.raw} END)"

    def number(self) -> str:
        """The numeric value of a number (NULL for other kinds; the CAST never sees a non-number)."""
        if self.sql.sqlite:
            return f"(CASE WHEN {self.is_number()} THEN {self.raw} END)"
        return f"(CASE WHEN {self.is_number()} THEN CAST({self.raw} AS numeric) END)"

    def bool_text(self) -> str:
        """``'true'``/``'false'`` for a boolean (NULL for other kinds)."""
        if self.sql.sqlite:
            return f"(CASE {self.kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END)"
        return f"(CASE WHEN {self.is_bool()} THEN {self.raw} END)"

    def as_text(self) -> str:
        """The searchable text of the value: a string's characters, otherwise its JSON text."""
        if self.sql.sqlite:
            return (f"(CASE WHEN {self.is_string()} THEN {self.raw} WHEN {self.is_bool()} THEN "
                    f"{self.bool_text()} ELSE CAST({self.raw} AS TEXT) END)")
        return self.raw


# -- patterns ---------------------------------------------------------------------------------
def glob_pattern(sql: Sql, pattern: str) -> tuple[str, str]:
    """``(operator, bound pattern)`` of an Elasticsearch wildcard (``*`` any run, ``?`` one
    character, ``\\`` escapes), case-sensitive on both databases."""
    tokens: list[tuple[str, str]] = []  # (kind, char): kind "any" | "one" | "lit"
    escaped = False
    for char in pattern:
        if escaped:
            tokens.append(("lit", char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            tokens.append(("any", char))
        elif char == "?":
            tokens.append(("one", char))
        else:
            tokens.append(("lit", char))
    if escaped:
        tokens.append(("lit", "\\"))
    if sql.sqlite:
        lit = {"*": "[*]", "?": "[?]", "[": "[[]"}
        glob = "".join("*" if k == "any" else "?" if k == "one" else lit.get(c, c) for k, c in tokens)
        return "GLOB", sql.bind(glob)
    lit = {"%": "\\%", "_": "\\_", "\\": "\\\\"}
    like = "".join("%" if k == "any" else "_" if k == "one" else lit.get(c, c) for k, c in tokens)
    return "LIKE", sql.bind(like) + " ESCAPE '\\'"


def prefix_pattern(sql: Sql, prefix: str) -> tuple[str, str]:
    """``(operator, bound pattern)`` matching strings that start with ``prefix`` (usable by an
    index on SQLite)."""
    escaped = "".join("\\" + c if c in "*?\\" else c for c in prefix)
    return glob_pattern(sql, escaped + "*")


def contains(sql: Sql, haystack: str, needle: str, *, json_text: bool = False) -> str:
    """``haystack`` contains ``needle``, ignoring case (ASCII letters on SQLite, whose ``lower``
    knows no other). ``json_text``: the haystack is stored JSON text, where SQLite keeps
    non-ASCII characters as ``\\uXXXX`` escapes, so the needle is looked for in both forms."""
    lowered = needle.lower()
    if not sql.sqlite:
        return f"(strpos(lower({haystack}), {sql.bind(lowered)}) > 0)"
    forms = [lowered]
    escaped = "".join(c if ord(c) < 128 else json.dumps(c)[1:-1] for c in lowered)
    if json_text and escaped != lowered:
        forms.append(escaped)
    return "(" + " OR ".join(f"instr(lower({haystack}), {sql.bind(f)}) > 0" for f in forms) + ")"
