"""JSON, object and array functions: parsing, merging, listing keys and values, reshaping arrays.

None of them changes its arguments: every result is a new array or object (values that are not
merged or copied are shared with the arguments, as everywhere in the language).
"""

from __future__ import annotations

import json
from typing import Any

from .calls import (
    CallInfo,
    Impl,
    arg,
    arity,
    type_name,
    want_array,
    want_object,
)
from .errors import InvalidExpressionSyntax
from .jsmodel import INF, is_array, is_number, is_object, is_truthy, js_to_string, to_json_text
from .jsonmatch import jsonmatch
from .undefined import UNDEFINED

#: ``unsafejson`` tries at most this many ``{``/``[`` positions of a text (bounds hostile input)
UNSAFEJSON_MAX_ATTEMPTS = 20


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def fn_json(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    v = arg(args, 0)
    if isinstance(v, str):
        try:
            return json.loads(v, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise info.error(f"invalid JSON: {exc}") from None
    if v is UNDEFINED:
        return UNDEFINED
    return to_json_text(v)


def fn_unsafejson(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """The first JSON value found in a text (a whole JSON text, or the first parsable ``{…}``/``[…]``
    inside prose); ``undefined`` when there is none. A value that is not a string is returned as is."""
    arity(args, info, 1, 1)
    text = args[0]
    if type(text) is not str:
        return text
    try:
        return _DECODER.decode(text.strip())
    except (ValueError, RecursionError):
        pass
    attempts = 0
    for i, c in enumerate(text):
        if c != "{" and c != "[":
            continue
        try:
            return _DECODER.raw_decode(text, i)[0]
        except (ValueError, RecursionError):
            attempts += 1
            if attempts >= UNSAFEJSON_MAX_ATTEMPTS:
                break
    return UNDEFINED


# ---------------------------------------------------------------- deepmerge
def _merge(target: Any, source: Any, concat_strings: bool) -> Any:
    if is_array(target) and is_array(source):
        return [*target, *source]
    if is_object(target) and is_object(source):
        out = dict(target)
        for key, value in source.items():
            if value is UNDEFINED:
                continue
            out[key] = _merge(out[key], value, concat_strings) if key in out else value
        return out
    if concat_strings and type(target) is str and type(source) is str:
        return target + source
    return source


def _merge_options(value: Any, info: CallInfo) -> bool:
    if value is UNDEFINED or value is None:
        return False
    if not is_object(value):
        raise info.error(f"expects an options object as third argument, got {type_name(value)}")
    unknown = [k for k in value if k != "concatStrings"]
    if unknown:
        raise info.error(f"unknown option {unknown[0]!r} (the only option is concatStrings)")
    return is_truthy(value.get("concatStrings"))


def fn_deepmerge(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """Merge ``b`` into ``a`` recursively: objects key by key, arrays concatenated, anything else
    replaced by ``b``'s value (strings concatenated with ``{concatStrings: true}``)."""
    arity(args, info, 2, 3)
    a, b = args[0], args[1]
    concat_strings = _merge_options(arg(args, 2), info)
    for i, value in enumerate((a, b)):
        if not (is_object(value) or is_array(value) or value is None or value is UNDEFINED):
            raise info.error(f"expects objects or arrays to merge, got {type_name(value)} as argument {i + 1}")
    if a is None or a is UNDEFINED:
        return b
    if b is None or b is UNDEFINED:
        return a
    if is_array(a) != is_array(b):
        raise info.error(f"cannot merge {type_name(b)} into {type_name(a)}")
    return _merge(a, b, concat_strings)


# ---------------------------------------------------------------- keys, values, entries
def _own_entries(args: list[Any], info: CallInfo) -> list[tuple[str, Any]]:
    arity(args, info, 1, 1)
    value = args[0]
    if is_object(value):
        return [(k if type(k) is str else js_to_string(k), v) for k, v in value.items() if v is not UNDEFINED]
    if is_array(value) or type(value) is str:
        return [(str(i), v) for i, v in enumerate(value)]
    raise info.error(f"expects an object, an array or a string, got {type_name(value)}")


def fn_keys(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return [k for k, _ in _own_entries(args, info)]


def fn_values(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return [v for _, v in _own_entries(args, info)]


def fn_entries(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return [[k, v] for k, v in _own_entries(args, info)]


def fn_fromentries(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    out: dict[str, Any] = {}
    for pair in want_array(args, info):
        if not is_array(pair) or not pair:
            raise info.error(f"expects an array of [key, value] pairs, found {type_name(pair)}")
        out[js_to_string(pair[0])] = pair[1] if len(pair) > 1 else UNDEFINED
    return out


def fn_assign(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """A new object with the keys of every argument, later ones winning (arguments are unchanged)."""
    arity(args, info, 1)
    out = dict(want_object(args, info))
    for i in range(1, len(args)):
        source = args[i]
        if source is None or source is UNDEFINED:
            continue
        if not is_object(source):
            raise info.error(f"expects objects, got {type_name(source)} as argument {i + 1}")
        out.update((k, v) for k, v in source.items() if v is not UNDEFINED)
    return out


# ---------------------------------------------------------------- arrays
def _flatten(items: Any, depth: float, out: list[Any]) -> None:
    for x in items:
        if depth > 0 and is_array(x):
            _flatten(x, depth - 1, out)
        else:
            out.append(x)


def fn_flat(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 2)
    items = want_array(args, info)
    depth = arg(args, 1)
    if depth is UNDEFINED:
        depth = 1
    if not is_number(depth) or depth != depth or depth < 0:
        raise info.error(f"expects a depth >= 0 as second argument, got {type_name(depth)}")
    out: list[Any] = []
    _flatten(items, INF if depth == INF else int(depth), out)
    return out


def fn_reverse(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    return list(reversed(want_array(args, info)))


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def fn_sort(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """Numbers in numeric order, strings in JavaScript's code-unit order; mixed arrays are refused."""
    arity(args, info, 1, 1)
    items = list(want_array(args, info))
    if all(is_number(x) and x == x for x in items):
        return sorted(items)
    if all(type(x) is str for x in items):
        return sorted(items, key=_utf16)
    raise info.error("can only sort an array of numbers or an array of strings")


def fn_jsonmatch(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    obj, query = arg(args, 0), arg(args, 1)
    try:
        return jsonmatch(obj, query)
    except InvalidExpressionSyntax as exc:
        raise info.error(str(exc.message)) from None


DATA_FUNCTIONS: dict[str, Impl] = {
    "json": fn_json,
    "unsafejson": fn_unsafejson,
    "deepmerge": fn_deepmerge,
    "keys": fn_keys,
    "values": fn_values,
    "entries": fn_entries,
    "fromEntries": fn_fromentries,
    "assign": fn_assign,
    "flat": fn_flat,
    "reverse": fn_reverse,
    "sort": fn_sort,
    "jsonmatch": fn_jsonmatch,
}
