"""Which events a caller may read, as one SQL condition (``POST …/search``, docs/search.md).

The read check of an event (``core.access.permissions.event_readable`` or a topic the caller is a
member of, ``core.events.user_topics.Audience.reads_by_topic``; app events deeper than the
visible depth hidden, ``api/routers/events.py``) is evaluated per event in Python elsewhere.
Counting and aggregating in SQL needs it in SQL: :func:`read_condition` writes the caller's
rules as one condition that holds exactly when that check does, or answers None when a rule
says something it cannot write (the search then filters in Python and refuses aggregations).

The rules are evaluated as the permission engine does (CASL, ``ability.py``): sorted, the last
rule that applies decides, none refuses. Folding them in order gives
``readable = cond_n ? allow_n : (… cond_1 ? allow_1 : FALSE)``, simplified where a condition is
known to hold or not (the workspace condition every rule carries holds for every event searched).

What a condition may say to be written here (anything else: None):

* ``type`` or ``id``: equal to a string, ``$eq``, ``$ne``, ``$in``, ``$nin`` of strings, ``$regex``
  anchored on a literal prefix (``^apikeys\\.``), ``$exists``;
* ``source.<key>`` / ``target.<key>`` (objects on every stored event): the same operators;
  ``source.workspaceId`` compares with the workspace searched;
* ``$and`` / ``$or`` / ``$nor`` of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.access.permissions import Permissions
from core.events.es_sql import FieldRef, Sql, prefix_pattern

CONTEXTS_UPDATED = "runtime.contexts.updated"
Cond = bool | str  # known to hold, known not to, or SQL
_LITERAL_ESCAPE = re.compile(r"\\([^A-Za-z0-9])")
_REGEX_SPECIAL = set(".^$*+?()[]{}|\\/")


class Inexpressible(Exception):
    """A rule condition this module cannot write in SQL."""


# -- a small boolean algebra over SQL fragments -------------------------------------------------
def both(a: Cond, b: Cond) -> Cond:
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return f"({a} AND {b})"


def either(a: Cond, b: Cond) -> Cond:
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return f"({a} OR {b})"


def negate(a: Cond) -> Cond:
    return (not a) if isinstance(a, bool) else f"(NOT {a})"


def as_sql(a: Cond) -> str:
    return "(1 = 1)" if a is True else "(1 = 0)" if a is False else a


# -- conditions ---------------------------------------------------------------------------------
def literal_prefix(pattern: Any) -> str | None:
    """The literal ``p`` of a regex ``^p`` or ``^p.*`` (escaped punctuation allowed), else None."""
    if not isinstance(pattern, str) or not pattern.startswith("^"):
        return None
    body = pattern[1:]
    if body.endswith(".*") and not body.endswith("\\.*"):
        body = body[:-2]
    out, i = [], 0
    while i < len(body):
        match = _LITERAL_ESCAPE.match(body, i)
        if match:
            out.append(match.group(1))
            i = match.end()
        elif body[i] in _REGEX_SPECIAL:
            return None
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


class RuleWriter:
    """Writes rule conditions (MongoDB queries, placeholders resolved) for one workspace's events."""

    def __init__(self, sql: Sql, workspace_id: str):
        self.sql = sql
        self.workspace_id = workspace_id

    def query(self, conditions: Mapping[str, Any]) -> Cond:
        result: Cond = True
        for key, value in conditions.items():
            if key in ("$and", "$or", "$nor"):
                if not isinstance(value, list) or not all(isinstance(q, Mapping) for q in value):
                    raise Inexpressible(key)
                parts = [self.query(q) for q in value]
                if key == "$and":
                    combined: Cond = True
                    for part in parts:
                        combined = both(combined, part)
                else:
                    combined = False
                    for part in parts:
                        combined = either(combined, part)
                    combined = negate(combined) if key == "$nor" else combined
                result = both(result, combined)
            elif key.startswith("$"):
                raise Inexpressible(key)
            else:
                result = both(result, self.field(key, value))
        return result

    def field(self, path: str, cond: Any) -> Cond:
        if isinstance(cond, Mapping) and cond and all(isinstance(k, str) and k.startswith("$") for k in cond):
            result: Cond = True
            for op, arg in cond.items():
                result = both(result, self.operator(path, op, arg, cond))
            return result
        return self.equals(path, [cond])

    def operator(self, path: str, op: str, arg: Any, cond: Mapping[str, Any]) -> Cond:
        if op == "$eq":
            return self.equals(path, [arg])
        if op == "$ne":
            return negate(self.equals(path, [arg]))
        if op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise Inexpressible(op)
            found = self.equals(path, arg)
            return found if op == "$in" else negate(found)
        if op == "$regex" and "$options" not in cond:
            prefix = literal_prefix(arg)
            if prefix is None:
                raise Inexpressible(f"$regex {arg!r}")
            return self.starts_with(path, prefix)
        if op == "$exists" and isinstance(arg, bool):
            return self.exists(path) if arg else negate(self.exists(path))
        raise Inexpressible(op)

    # -- fields -------------------------------------------------------------------------------
    def target(self, path: str) -> str | FieldRef:
        """``"workspace"`` for ``source.workspaceId``, else the column or JSON leaf it reads."""
        if path in ("type", "id"):
            return FieldRef(path, path, "string")
        parts = path.split(".")
        if len(parts) == 2 and parts[0] in ("source", "target") and parts[1] and not parts[1].isdigit():
            if path == "source.workspaceId":
                return "workspace"
            return FieldRef(path, parts[0], "json", (parts[1],))
        raise Inexpressible(path)

    def equals(self, path: str, values: list[Any]) -> Cond:
        if not all(isinstance(v, str) for v in values):
            raise Inexpressible(f"{path}: a value that is not a string")
        where = self.target(path)
        if where == "workspace":
            return self.workspace_id in values
        if not values:
            return False
        assert isinstance(where, FieldRef)
        binds = [self.sql.bind(v) for v in values]
        if where.kind == "string":
            return f"(events.{where.column} IN ({', '.join(binds)}))"
        return self.sql.any_value(where, lambda v: f"{v.string()} IN ({', '.join(binds)})")

    def starts_with(self, path: str, prefix: str) -> Cond:
        where = self.target(path)
        if where == "workspace":
            return self.workspace_id.startswith(prefix)
        assert isinstance(where, FieldRef)
        op, pattern = prefix_pattern(self.sql, prefix)
        if where.kind == "string":
            return f"(events.{where.column} {op} {pattern})"
        return self.sql.any_value(where, lambda v: f"{v.string()} {op} {pattern}")

    def exists(self, path: str) -> Cond:
        where = self.target(path)
        if where == "workspace" or (isinstance(where, FieldRef) and where.kind == "string"):
            return True
        assert isinstance(where, FieldRef)
        # jsonmatch: a key holding null exists; a missing one does not.
        return self.sql.never_null(f"{self.sql.leaf(where).kind} IS NOT NULL")


def read_condition(sql: Sql, perms: Permissions, workspace_id: str, topics: Iterable[str] = ()) -> str | None:
    """SQL holding for exactly the events of ``workspace_id`` the caller may read (its rules, plus
    the events targeted to one of its ``topics``), or None when its rules cannot be written."""
    writer = RuleWriter(sql, workspace_id)
    readable: Cond = False
    try:
        for rule in perms.rules:  # evaluation order: the last rule that applies decides
            if not (rule.matches_action("read") and rule.matches_subject_type("events")
                    and rule.matches_field(None)):
                continue
            if rule.predicate is not None:
                # The built-in per-object rules read `subject.permissions`, which events never have.
                continue
            applies = writer.query(rule.conditions) if rule.conditions else True
            allow = not rule.inverted
            if applies is True:
                readable = allow
            elif applies is not False:
                readable = either(applies, readable) if allow else both(negate(applies), readable)
    except Inexpressible:
        return None
    readable = both(f"(events.type <> {sql.bind(CONTEXTS_UPDATED)})", readable)
    wanted = sorted(topics)
    if wanted:
        leaf = sql.leaf(FieldRef("target.userTopic", "target", "json", ("userTopic",)))
        member = sql.never_null(f"{leaf.string()} IN ({', '.join(sql.bind(t) for t in wanted)})")
        readable = either(readable, both(f"(events.type <> {sql.bind(CONTEXTS_UPDATED)})", member))
    return as_sql(readable)


def depth_condition(sql: Sql, max_depth: int) -> str:
    """``source.appInstanceDepth`` is no number above ``max_depth``: a missing, null, zero or
    non-numeric depth is a root event (``core.events.filters.depth_allows``). Read from the
    ``app_depth`` column (the depth when it is a number, rounded up; filled on insert), which the
    indexes ``ix_events_ws_type_visible`` and ``ix_events_ws_type_date`` hold."""
    return f"(events.app_depth IS NULL OR events.app_depth <= {sql.bind(max_depth)})"
