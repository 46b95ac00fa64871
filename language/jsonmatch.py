"""``jsonmatch(obj, query)``: MongoDB query semantics (the subset of ``@ucast/mongo2js``).

Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex ($options) $and $or $nor
$not $elemMatch $size $all``. Dotted paths walk nested objects; an array met on the way (or
at the end) matches when any element matches, as in MongoDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InvalidExpressionSyntax
from .jsmodel import is_array, is_number, js_to_string, strict_equals
from .paths import step
from .regex import compile_regex, split_literal
from .undefined import UNDEFINED

_FIELD_OPS = frozenset(
    ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$options",
     "$not", "$elemMatch", "$size", "$all"]
)


def _error(message: str) -> InvalidExpressionSyntax:
    return InvalidExpressionSyntax(f"jsonmatch: {message}")


def jsonmatch(obj: Any, query: Any) -> bool:
    if not isinstance(query, Mapping):
        raise _error("the query must be an object")
    if not isinstance(obj, Mapping):
        return False
    return _match_doc(obj, query, 0)


def _check_depth(depth: int) -> None:
    if depth > 64:
        raise _error("query nested too deeply")


def _match_doc(doc: Any, query: Mapping[str, Any], depth: int) -> bool:
    _check_depth(depth)
    for key, cond in query.items():
        if key == "$and" or key == "$or" or key == "$nor":
            if not is_array(cond) or not all(isinstance(q, Mapping) for q in cond):
                raise _error(f"{key} expects an array of queries")
            results = (_match_doc(doc, q, depth + 1) for q in cond)
            if key == "$and":
                ok = all(results)
            elif key == "$or":
                ok = any(results)
            else:
                ok = not any(results)
            if not ok:
                return False
        elif key.startswith("$"):
            raise _error(f"unknown top-level operator {key}")
        elif not _match_field(_values(doc, key.split(".")), cond, depth + 1):
            return False
    return True


def _values(doc: Any, path: list[str]) -> list[Any]:
    """Candidate values at ``path``; arrays met on the way fan out (MongoDB semantics).

    Each candidate is the value itself (arrays kept whole so ``$size``/equality can see them).
    """
    current = [doc]
    for key in path:
        nxt: list[Any] = []
        for v in current:
            if is_array(v) and not (key.isdigit() and key.isascii()):
                for item in v:
                    r = step(item, key)
                    if r is not UNDEFINED:
                        nxt.append(r)
            else:
                r = step(v, key)
                if r is not UNDEFINED:
                    nxt.append(r)
        current = nxt
        if not current:
            break
    return current


def _is_operator_doc(cond: Any) -> bool:
    return isinstance(cond, Mapping) and bool(cond) and all(
        isinstance(k, str) and k.startswith("$") for k in cond
    )


def _expand(values: list[Any]) -> list[Any]:
    """Values plus the elements of array values (for element-wise operators)."""
    out: list[Any] = []
    for v in values:
        out.append(v)
        if is_array(v):
            out.extend(v)
    return out


def _eq(values: list[Any], target: Any) -> bool:
    if target is None:
        if not values:
            return True
        return any(v is None for v in _expand(values))
    return any(strict_equals(v, target) for v in _expand(values))


def _cmp(values: list[Any], target: Any, op: str) -> bool:
    for v in _expand(values):
        if is_number(v) and is_number(target) or type(v) is str and type(target) is str:
            if op == "$gt" and v > target or op == "$gte" and v >= target:
                return True
            if op == "$lt" and v < target or op == "$lte" and v <= target:
                return True
    return False


def _regex_of(cond: Any, options: Any) -> Any:
    if isinstance(cond, list) and len(cond) == 1:  # regex(...) literal
        cond = js_to_string(cond[0])
        pattern, flags = split_literal(cond)
    elif isinstance(cond, str):
        pattern, flags = split_literal(cond) if cond.startswith("/") else (cond, "")
    else:
        raise _error("$regex expects a string")
    if isinstance(options, str):
        flags += "".join(c for c in options if c in "ims" and c not in flags)
    return compile_regex(pattern, "".join(c for c in flags if c in "ims"))


def _match_field(values: list[Any], cond: Any, depth: int) -> bool:
    _check_depth(depth)
    if not _is_operator_doc(cond):
        return _eq(values, cond)
    for op, arg in cond.items():
        if op not in _FIELD_OPS:
            raise _error(f"unknown operator {op}")
        if op == "$eq":
            ok = _eq(values, arg)
        elif op == "$ne":
            ok = not _eq(values, arg)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            ok = _cmp(values, arg, op)
        elif op == "$in" or op == "$nin":
            if not is_array(arg):
                raise _error(f"{op} expects an array")
            found = any(_eq(values, a) for a in arg)
            ok = found if op == "$in" else not found
        elif op == "$exists":
            ok = bool(values) == bool(arg)
        elif op == "$regex":
            rx = _regex_of(arg, cond.get("$options"))
            ok = any(type(v) is str and rx.search(v) is not None for v in _expand(values))
        elif op == "$options":
            continue
        elif op == "$not":
            if isinstance(arg, str) or (isinstance(arg, list) and len(arg) == 1):
                arg = {"$regex": arg}
            if not isinstance(arg, Mapping):
                raise _error("$not expects an operator object")
            ok = not _match_field(values, arg, depth + 1)
        elif op == "$size":
            ok = any(is_array(v) and is_number(arg) and len(v) == arg for v in values)
        elif op == "$all":
            if not is_array(arg):
                raise _error("$all expects an array")
            ok = any(
                is_array(v) and all(any(strict_equals(x, a) for x in v) for a in arg) for v in values
            ) if arg else False
        else:  # $elemMatch
            if not isinstance(arg, Mapping):
                raise _error("$elemMatch expects a query object")
            ok = any(is_array(v) and any(_elem_match(x, arg, depth + 1) for x in v) for v in values)
        if not ok:
            return False
    return True


def _elem_match(item: Any, query: Mapping[str, Any], depth: int) -> bool:
    if _is_operator_doc(query) and not any(k in ("$and", "$or", "$nor") for k in query):
        return _match_field([item], query, depth)
    if not isinstance(item, Mapping):
        return False
    return _match_doc(item, query, depth)
