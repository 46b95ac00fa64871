"""Aggregations of the event search (docs/search.md), computed in SQL over the matching events the
caller may read, answered in Elasticsearch's response shape.

Bucket aggregations: ``terms`` (``field``, ``size``: the top values by count, ties by value;
arrays and objects are not counted), ``date_histogram`` (``field`` a date, ``fixed_interval`` or
``interval``, ``min_doc_count``: empty buckets between the first and the last are answered
unless it is 1 or more). Metric aggregations: ``value_count``, ``min``, ``max``, ``avg``, ``sum``
(on numbers; ``min``/``max`` also on dates). A bucket aggregation may hold one level of ``aggs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.events.es_dates import DateError, from_epoch_millis, interval_seconds, iso_millis
from core.events.es_sql import FieldRef, Sql, resolve_field
from schemas.errors import SearchError

METRICS = ("value_count", "min", "max", "avg", "sum")
BUCKETS = ("terms", "date_histogram")
OPTIONS = {"terms": ("field", "size"), "date_histogram": ("field", "fixed_interval", "interval", "calendar_interval",
                                                          "min_doc_count"),
           **{m: ("field",) for m in METRICS}}
MAX_TERMS_SIZE = 1_000
MAX_BUCKETS = 10_000  # date_histogram buckets of one answer
MAX_AGGS = 100
Problem = dict[str, str]


@dataclass
class Agg:
    name: str
    kind: str
    ref: FieldRef
    path: str
    size: int = 10
    interval: int = 0  # date_histogram: seconds
    min_doc_count: int = 0
    subs: list[Agg] = field(default_factory=list)


def parse_aggs(raw: Any, problems: list[Problem], *, path: str = "aggs", nested: bool = True) -> list[Agg]:
    """The aggregations asked for; every problem is added to ``problems``."""
    if not isinstance(raw, dict):
        problems.append({"path": path, "message": "must be an object {name: {<type>: {…}}}"})
        return []
    if len(raw) > MAX_AGGS:
        problems.append({"path": path, "message": f"at most {MAX_AGGS} aggregations"})
        return []
    out = []
    for name, spec in raw.items():
        agg = _parse_one(name, spec, f"{path}.{name}", problems, nested)
        if agg is not None:
            out.append(agg)
    return out


def _parse_one(name: str, spec: Any, path: str, problems: list[Problem], nested: bool) -> Agg | None:
    def problem(where: str, message: str) -> None:
        problems.append({"path": where, "message": message})

    if not name or any(c in name for c in "[]>"):
        problem(path, "an aggregation name is non-empty and holds no [, ] or >")
        return None
    if not isinstance(spec, dict):
        problem(path, "must be an object {<type>: {…}, aggs?: {…}}")
        return None
    subs_raw = spec.get("aggs", spec.get("aggregations"))
    kinds = [k for k in spec if k not in ("aggs", "aggregations")]
    if len(kinds) != 1:
        problem(path, f"must hold exactly one aggregation type (supported: {', '.join(BUCKETS + METRICS)})")
        return None
    kind = kinds[0]
    at = f"{path}.{kind}"
    if kind not in OPTIONS:
        problem(at, f"unsupported aggregation (supported: {', '.join(BUCKETS + METRICS)})")
        return None
    body = spec[kind]
    if not isinstance(body, dict):
        problem(at, "must be an object")
        return None
    for key in body:
        if key not in OPTIONS[kind]:
            problem(f"{at}.{key}", "scripts are not supported" if key == "script" else
                    f"unsupported option (supported: {', '.join(OPTIONS[kind])})")
    if "field" not in body:
        problem(f"{at}.field", "required")
        return None
    ref = resolve_field(body["field"])
    if isinstance(ref, str):
        problem(f"{at}.field", ref)
        return None
    agg = Agg(name, kind, ref, path)
    if kind == "terms":
        size = body.get("size", 10)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_TERMS_SIZE:
            problem(f"{at}.size", f"must be an integer from 1 to {MAX_TERMS_SIZE}")
        else:
            agg.size = size
    elif kind == "date_histogram":
        _parse_histogram(agg, body, at, problem)
    elif kind in ("avg", "sum") and ref.kind in ("date", "string"):
        problem(f"{at}.field", f"{kind} needs a number field")
    elif kind in ("min", "max") and ref.kind == "string":
        problem(f"{at}.field", f"{kind} needs a number or date field")
    if subs_raw is not None:
        if kind not in BUCKETS:
            problem(f"{path}.aggs", f"a {kind} aggregation holds no sub-aggregations")
        elif not nested:
            problem(f"{path}.aggs", "aggregations nest one level deep at most")
        else:
            agg.subs = parse_aggs(subs_raw, problems, path=f"{path}.aggs", nested=False)
    return agg


def _parse_histogram(agg: Agg, body: dict[str, Any], at: str, problem: Any) -> None:
    if agg.ref.kind != "date":
        problem(f"{at}.field", "date_histogram needs a date field (@timestamp or createdAt)")
    given = [k for k in ("fixed_interval", "interval", "calendar_interval") if k in body]
    if len(given) != 1:
        problem(at, "needs one of fixed_interval, interval, calendar_interval")
    else:
        try:
            agg.interval = interval_seconds(body[given[0]])
        except DateError as exc:
            problem(f"{at}.{given[0]}", str(exc))
    count = body.get("min_doc_count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        problem(f"{at}.min_doc_count", "must be a non-negative integer")
    else:
        agg.min_doc_count = count


# -- SQL ------------------------------------------------------------------------------------------
# Key columns that are literals: GROUP BY reads a bare number as a column position, so they stay
# out of the grouping.
CONSTANTS = frozenset({"0", "1", "2", "NULL"})


@dataclass
class Keys:
    """The SQL of a bucket aggregation's key: its expressions and the condition for having one."""

    exprs: list[str]
    present: str


def bucket_keys(sql: Sql, agg: Agg) -> Keys:
    ref = agg.ref
    if agg.kind == "date_histogram":
        step = sql.bind(agg.interval) if sql.sqlite else f"CAST({sql.bind(agg.interval)} AS bigint)"
        return Keys([f"(({sql.epoch_seconds()} / {step}) * {step})"], "(1 = 1)")
    if ref.kind == "string":
        col = f"events.{ref.column}"
        return Keys(["1", "NULL", col], f"({col} IS NOT NULL)")
    if ref.kind in ("number", "date"):
        value = f"events.{ref.column}" if ref.kind == "number" else sql.epoch_millis()
        return Keys(["0", value, "NULL"], "(1 = 1)")
    v = sql.leaf(ref)
    kind = f"(CASE WHEN {v.is_number()} THEN 0 WHEN {v.is_string()} THEN 1 WHEN {v.is_bool()} THEN 2 END)"
    txt = f"(CASE WHEN {v.is_string()} THEN {v.raw} WHEN {v.is_bool()} THEN {v.bool_text()} END)"
    return Keys([kind, v.number(), txt], sql.never_null(v.is_scalar()))


def key_order(sql: Sql, names: Sequence[str]) -> str:
    """Buckets of equal counts by key (the columns of a grouped subquery): numbers, then strings
    (byte order), then booleans."""
    if len(names) == 1:
        return names[0]
    kind, num, txt = names
    return f"{kind}, {num} NULLS LAST, {sql.collate(txt)} NULLS LAST"


def metric_expr(sql: Sql, agg: Agg) -> str:
    ref = agg.ref
    if ref.kind in ("string", "number", "date"):
        col = f"events.{ref.column}"
        if agg.kind == "value_count":
            return f"COUNT({col})"
        value = sql.epoch_millis() if ref.kind == "date" else col
    else:
        v = sql.leaf(ref)
        if agg.kind == "value_count":
            return (f"COALESCE(SUM(CASE WHEN {v.is_array()} THEN {v.array_length} "
                    f"WHEN {v.is_present()} THEN 1 ELSE 0 END), 0)")
        value = v.number()
    return f"{agg.kind.upper()}({value})"


def number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    return value  # type: ignore[no-any-return]


def metric_answer(agg: Agg, value: Any) -> dict[str, Any]:
    value = number(value)
    if agg.kind == "value_count":
        return {"value": int(value or 0)}
    if value is None:
        return {"value": 0.0 if agg.kind == "sum" else None}
    answer: dict[str, Any] = {"value": float(value)}
    if agg.ref.kind == "date" and agg.kind in ("min", "max"):
        answer["value_as_string"] = iso_millis(from_epoch_millis(int(value)))
    return answer


def bucket_key(agg: Agg, row: Sequence[Any]) -> dict[str, Any]:
    """``{key, key_as_string?}`` of a bucket from its key columns."""
    if agg.kind == "date_histogram":
        millis = int(row[0]) * 1000
        return {"key_as_string": iso_millis(from_epoch_millis(millis)), "key": millis}
    kind, num, txt = int(row[0]), number(row[1]), row[2]
    if kind == 0 and agg.ref.kind == "date":
        return {"key": int(num or 0), "key_as_string": iso_millis(from_epoch_millis(int(num or 0)))}
    if kind == 0:
        return {"key": num}
    if kind == 2:
        return {"key": 1 if txt == "true" else 0, "key_as_string": txt}
    return {"key": txt}


def same_key(sql: Sql, exprs: Sequence[str], values: Sequence[Any]) -> str:
    """The key columns equal ``values`` (NULL-safe)."""
    return "(" + " AND ".join(f"{e} IS NULL" if v is None else f"{e} = {sql.bind(v)}"
                              for e, v in zip(exprs, values, strict=True)) + ")"


def grouped(keys: Keys, where: str, aggregates: Sequence[str] = ("COUNT(*)",), prefix: str = "k") -> str:
    """``SELECT <key columns as k0, k1…>, <aggregates as a0, a1…> … GROUP BY`` by position (the
    key expressions are written once; constants are left out of the grouping)."""
    cols = [f"{e} AS {prefix}{i}" for i, e in enumerate(keys.exprs)]
    cols += [f"{a} AS a{i}" for i, a in enumerate(aggregates)]
    positions = [str(i + 1) for i, e in enumerate(keys.exprs) if e not in CONSTANTS]
    return f"SELECT {', '.join(cols)} FROM events WHERE {where} GROUP BY {', '.join(positions)}"


def aliases(prefix: str, keys: Keys) -> list[str]:
    return [f"{prefix}{i}" for i in range(len(keys.exprs))]


class AggRunner:
    """Runs the aggregations of one search over ``where`` (the search's SQL condition)."""

    def __init__(self, session: AsyncSession, sql: Sql, where: str):
        self.session = session
        self.sql = sql
        self.where = where

    async def rows(self, statement: str) -> list[Sequence[Any]]:
        return list((await self.session.execute(self.sql.statement(statement))).all())

    async def run(self, aggs: list[Agg]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        metrics = [a for a in aggs if a.kind in METRICS]
        if metrics:
            row = (await self.rows(f"SELECT {', '.join(metric_expr(self.sql, a) for a in metrics)} "
                                   f"FROM events WHERE {self.where}"))[0]
            out.update({a.name: metric_answer(a, v) for a, v in zip(metrics, row, strict=True)})
        for agg in aggs:
            if agg.kind == "terms":
                out[agg.name] = await self.terms(agg)
            elif agg.kind == "date_histogram":
                out[agg.name] = await self.histogram(agg)
        return {a.name: out[a.name] for a in aggs}

    async def terms(self, agg: Agg) -> dict[str, Any]:
        keys = bucket_keys(self.sql, agg)
        names = aliases("k", keys)
        rows = await self.rows(
            f"SELECT {', '.join(names)}, a0, SUM(a0) OVER () AS total "
            f"FROM ({grouped(keys, f'{self.where} AND {keys.present}')}) AS g "
            f"ORDER BY a0 DESC, {key_order(self.sql, names)} LIMIT {self.sql.bind(agg.size)}")
        parents = [tuple(r[:3]) for r in rows]
        subs = await self.sub_aggs(agg, keys, parents)
        buckets = [{**bucket_key(agg, r), "doc_count": int(r[3]), **subs.get(_key(r[:3]), empty_subs(agg))}
                   for r in rows]
        total = int(rows[0][4]) if rows else 0
        return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": total - sum(b["doc_count"] for b in buckets),
                "buckets": buckets}

    async def histogram(self, agg: Agg) -> dict[str, Any]:
        keys = bucket_keys(self.sql, agg)
        rows = await self.rows(grouped(keys, self.where))
        counts = {int(r[0]): int(r[1]) for r in rows}
        starts = histogram_keys(agg, counts)
        subs = await self.sub_aggs(agg, keys, [])
        return {"buckets": [{**bucket_key(agg, (k,)), "doc_count": counts.get(k, 0),
                             **subs.get((k,), empty_subs(agg))} for k in starts]}

    async def sub_aggs(self, parent: Agg, keys: Keys,
                       parents: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The sub-aggregations of each of ``parent``'s buckets (``parents``: the terms kept;
        a date histogram keeps all its buckets)."""
        if not parent.subs or (parent.kind == "terms" and not parents):
            return {}
        where = f"{self.where} AND {keys.present}"
        if parents:
            where += " AND (" + " OR ".join(same_key(self.sql, keys.exprs, p) for p in parents) + ")"
        width = len(keys.exprs)
        out: dict[tuple[Any, ...], dict[str, Any]] = {}
        metrics = [a for a in parent.subs if a.kind in METRICS]
        if metrics:
            for row in await self.rows(grouped(keys, where, [metric_expr(self.sql, a) for a in metrics])):
                slot = out.setdefault(_key(row[:width]), {})
                slot.update({a.name: metric_answer(a, v) for a, v in zip(metrics, row[width:], strict=True)})
        for sub in parent.subs:
            if sub.kind == "terms":
                await self.sub_terms(sub, keys, where, out)
            elif sub.kind == "date_histogram":
                await self.sub_histogram(sub, keys, where, out)
        return {k: {a.name: v.get(a.name, empty_answer(a)) for a in parent.subs} for k, v in out.items()}

    async def sub_terms(self, sub: Agg, parent: Keys, where: str, out: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        child = bucket_keys(self.sql, sub)
        width = len(parent.exprs)
        both = Keys(parent.exprs + child.exprs, "(1 = 1)")
        pnames = [f"k{i}" for i in range(width)]
        cnames = [f"k{width + i}" for i in range(len(child.exprs))]
        partition = ", ".join(pnames)
        rows = await self.rows(
            f"SELECT * FROM (SELECT g.*, SUM(a0) OVER (PARTITION BY {partition}) AS total, "
            f"ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY a0 DESC, {key_order(self.sql, cnames)}) AS rn "
            f"FROM ({grouped(both, f'{where} AND {child.present}')}) AS g) AS ranked "
            f"WHERE rn <= {self.sql.bind(sub.size)} ORDER BY rn")
        for row in rows:
            slot = out.setdefault(_key(row[:width]), {})
            answer = slot.setdefault(sub.name, {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                                                "buckets": [], "_total": int(row[width + 4])})
            answer["buckets"].append({**bucket_key(sub, row[width:width + 3]), "doc_count": int(row[width + 3])})
        for slot in out.values():
            answer = slot.get(sub.name)
            if answer is not None and "_total" in answer:
                answer["sum_other_doc_count"] = answer.pop("_total") - sum(b["doc_count"] for b in answer["buckets"])

    async def sub_histogram(self, sub: Agg, parent: Keys, where: str,
                            out: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        child = bucket_keys(self.sql, sub)
        width = len(parent.exprs)
        rows = await self.rows(grouped(Keys(parent.exprs + child.exprs, "(1 = 1)"), where))
        per_parent: dict[tuple[Any, ...], dict[int, int]] = {}
        for row in rows:
            per_parent.setdefault(_key(row[:width]), {})[int(row[width])] = int(row[width + 1])
        for key, counts in per_parent.items():
            out.setdefault(key, {})[sub.name] = {"buckets": [
                {**bucket_key(sub, (k,)), "doc_count": counts.get(k, 0)} for k in histogram_keys(sub, counts)]}


def _key(values: Sequence[Any]) -> tuple[Any, ...]:
    """A bucket's key columns as a dict key (PostgreSQL's numerics normalised)."""
    return tuple(number(v) if isinstance(v, Decimal) else v for v in values)


def histogram_keys(agg: Agg, counts: dict[int, int]) -> list[int]:
    """The bucket starts (epoch seconds) to answer: with ``min_doc_count: 0``, every bucket
    from the first to the last, empty ones included."""
    if not counts:
        return []
    if agg.min_doc_count > 0:
        return [k for k in sorted(counts) if counts[k] >= agg.min_doc_count]
    first, last = min(counts), max(counts)
    total = (last - first) // agg.interval + 1
    if total > MAX_BUCKETS:
        raise SearchError(f"{agg.path}: {total} buckets, more than {MAX_BUCKETS}: use a wider interval or "
                          "a narrower range", [{"path": agg.path, "message": f"too many buckets ({total})"}])
    return list(range(first, last + 1, agg.interval))


def empty_answer(agg: Agg) -> dict[str, Any]:
    if agg.kind == "terms":
        return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []}
    if agg.kind == "date_histogram":
        return {"buckets": []}
    return metric_answer(agg, None)


def empty_subs(agg: Agg) -> dict[str, Any]:
    return {sub.name: empty_answer(sub) for sub in agg.subs}
