"""Built-in functions of the expression language.

Each implementation receives the evaluated arguments, a :class:`CallInfo` (name, ``.field``,
position, source, which arguments are literal text), the scope and the environment.
Bad arguments raise :class:`InvalidExpressionSyntax` through ``info.error``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from .dates import date_field, format_date, now_ms, parse_date
from .errors import InvalidExpressionSyntax, InvalidVariableNameError, syntax_error
from .jsmodel import (
    INF,
    is_array,
    is_number,
    is_object,
    js_to_string,
    norm_number,
    to_json_text,
    to_number,
)
from .jsonmatch import jsonmatch
from .paths import get_path
from .regex import compile_regex, js_replacement, split_literal
from .undefined import UNDEFINED


class CallInfo:
    __slots__ = ("name", "field", "pos", "source", "text_args")

    def __init__(self, name: str, field: str | None, pos: int, source: str, text_args: tuple[bool, ...]):
        self.name, self.field, self.pos, self.source, self.text_args = name, field, pos, source, text_args

    def error(self, message: str) -> InvalidExpressionSyntax:
        return syntax_error(f"{self.name}(): {message}", self.source, self.pos)


def _arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


# ---------------------------------------------------------------- date
def fn_date(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    ms = now_ms(env) if not args else parse_date(args[0])
    if ms is None:
        return UNDEFINED
    fmt = _arg(args, 1)
    if isinstance(fmt, str):
        locale = _arg(args, 2)
        tz = _arg(args, 3)
        out = format_date(
            ms,
            fmt,
            locale if isinstance(locale, str) else env.locale,
            tz if isinstance(tz, str) else env.timezone,
        )
        return UNDEFINED if out is None else out
    return date_field(ms, info.field)


# ---------------------------------------------------------------- URLSearchParams
def _form_encode(s: str) -> str:
    return quote_plus(s, safe="*-._").replace("~", "%7E")


def fn_urlsearchparams(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    src = _arg(args, 0)
    field = info.field or "asString"
    pairs: list[tuple[str, str]]
    if isinstance(src, str):
        text = src[1:] if src.startswith("?") else src
        pairs = parse_qsl(text, keep_blank_values=True)
    elif isinstance(src, Mapping):
        if field == "asJSON":
            return UNDEFINED
        pairs = [(js_to_string(k), js_to_string(v)) for k, v in src.items() if v is not UNDEFINED]
    elif src is UNDEFINED or src is None:
        if field == "asJSON":
            return UNDEFINED
        pairs = []
    else:
        return UNDEFINED
    if field == "asJSON":
        return dict(pairs)
    if field == "asString":
        return "&".join(_form_encode(k) + "=" + _form_encode(v) for k, v in pairs)
    return UNDEFINED


# ---------------------------------------------------------------- type tests
def _typed_arg(args: list[Any], info: CallInfo, scope: Mapping[str, Any]) -> Any:
    if not args:
        return UNDEFINED
    value = args[0]
    if info.text_args and info.text_args[0] and isinstance(value, str) and value:
        try:
            return get_path(scope, value)
        except InvalidVariableNameError:
            return UNDEFINED
    return value


def fn_isarray(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return is_array(_typed_arg(args, info, scope))


def fn_isobject(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return is_object(_typed_arg(args, info, scope))


# ---------------------------------------------------------------- math
def fn_rand(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    r = float(env.random())
    if not args:
        return r
    if len(args) != 2:
        raise info.error("expects no argument or (min, max)")
    lo, hi = to_number(args[0]), to_number(args[1])
    if lo != lo or hi != hi or lo in (INF, -INF) or hi in (INF, -INF):
        raise info.error("min and max must be finite numbers")
    return norm_number(math.floor(r * (hi - lo) + lo))


def _js_round(x: float) -> float:
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def _rounder(kind: str) -> Callable[[list[Any], CallInfo, Any, Any], Any]:
    ops: dict[str, Callable[[float], Any]] = {"round": _js_round, "floor": math.floor, "ceil": math.ceil}
    op = ops[kind]

    def fn(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
        n = _arg(args, 0)
        if not is_number(n):
            raise info.error(f"expects a number, got {js_to_string(n)!r}")
        decimals = _arg(args, 1)
        if decimals is UNDEFINED or decimals is None:
            decimals = 0
        if not is_number(decimals) or decimals != decimals or abs(decimals) > 100:
            raise info.error("decimals must be a number")
        if n != n or n in (INF, -INF):
            return n
        d = int(decimals)
        if type(n) is int and d >= 0:
            return n
        factor = 10.0**d
        try:
            scaled = n * factor
            if scaled in (INF, -INF):
                return n
            return norm_number(op(scaled) / factor)
        except (OverflowError, ValueError):
            return n

    return fn


# ---------------------------------------------------------------- strings & arrays
def fn_split(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    s, sep = _arg(args, 0), _arg(args, 1)
    if not isinstance(s, str) or not isinstance(sep, str):
        raise info.error("expects (string, separator string)")
    if sep == "":
        return list(s)
    return s.split(sep)


def fn_join(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arr, sep = _arg(args, 0), _arg(args, 1)
    if sep is UNDEFINED:
        sep = ","
    if not is_array(arr) or not isinstance(sep, str):
        raise info.error("expects (array, separator string)")
    return sep.join("" if x is None or x is UNDEFINED else js_to_string(x) for x in arr)


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def fn_json(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    v = _arg(args, 0)
    if isinstance(v, str):
        try:
            return json.loads(v, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise info.error(f"invalid JSON: {exc}") from None
    if v is UNDEFINED:
        return UNDEFINED
    return to_json_text(v)


def fn_replace(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    s, pattern, repl = _arg(args, 0), _arg(args, 1), _arg(args, 2)
    if not isinstance(s, str):
        raise info.error("expects a string as first argument")
    if repl is UNDEFINED:
        repl = "undefined"
    if not isinstance(repl, str):
        if is_number(repl) or isinstance(repl, bool) or repl is None:
            repl = js_to_string(repl)
        else:
            raise info.error("the replacement must be a string")
    if is_array(pattern) and len(pattern) == 1:  # regex(...) literal
        pat, flags = split_literal(js_to_string(pattern[0]))
        rx = compile_regex(pat, flags, info.source)
        return rx.sub(js_replacement(rx, repl), s, count=0 if "g" in flags else 1)
    if isinstance(pattern, str) or is_number(pattern) or isinstance(pattern, bool):
        pattern = js_to_string(pattern)
        i = s.find(pattern)
        if i < 0:
            return s
        return s[:i] + repl + s[i + len(pattern) :]
    raise info.error("the pattern must be a string or regex(...)")


def _index(v: Any, length: int, default: int) -> int:
    if v is UNDEFINED:
        return default
    n = to_number(v)
    if n != n:
        n = 0
    if n in (INF, -INF):
        return length if n > 0 else 0
    i = int(n)
    if i < 0:
        return max(length + i, 0)
    return min(i, length)


def fn_slice(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    target = _arg(args, 0)
    if not (isinstance(target, str) or is_array(target)):
        raise info.error("expects an array or a string")
    n = len(target)
    start = _index(_arg(args, 1), n, 0)
    end = _index(_arg(args, 2), n, n)
    out = target[start:end] if start < end else target[0:0]
    return list(out) if isinstance(out, tuple) else out


def fn_jsonmatch(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    obj, query = _arg(args, 0), _arg(args, 1)
    try:
        return jsonmatch(obj, query)
    except InvalidExpressionSyntax as exc:
        raise info.error(str(exc.message)) from None


FUNCTIONS: dict[str, Callable[[list[Any], CallInfo, Any, Any], Any]] = {
    "date": fn_date,
    "URLSearchParams": fn_urlsearchparams,
    "isArray": fn_isarray,
    "isObject": fn_isobject,
    "rand": fn_rand,
    "round": _rounder("round"),
    "floor": _rounder("floor"),
    "ceil": _rounder("ceil"),
    "split": fn_split,
    "join": fn_join,
    "json": fn_json,
    "replace": fn_replace,
    "slice": fn_slice,
    "jsonmatch": fn_jsonmatch,
}
