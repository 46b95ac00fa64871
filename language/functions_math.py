"""Number functions: random numbers and ids, rounding, abs/min/max, conversions to numbers.

``rand`` and ``uuid`` draw only from ``env.random`` (``workflow.random()`` inside workflows), so a
replayed run gets the same values.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from typing import Any

from .calls import CallInfo, Impl, arg, arity, type_name, want_number, want_text
from .jsmodel import INF, JS_WHITESPACE, NAN, is_array, is_number, norm_number, to_number
from .undefined import UNDEFINED


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


def fn_uuid(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """A version 4 UUID built from four 32-bit draws of the injected random source."""
    arity(args, info, 0, 0)
    bits = 0
    for _ in range(4):
        bits = (bits << 32) | (int(float(env.random()) * 2**32) & 0xFFFFFFFF)
    return str(uuid.UUID(int=bits, version=4))


def _js_round(x: float) -> float:
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def _rounder(kind: str) -> Impl:
    ops: dict[str, Callable[[float], Any]] = {"round": _js_round, "floor": math.floor, "ceil": math.ceil}
    op = ops[kind]

    def fn(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
        n = arg(args, 0)
        if not is_number(n):
            raise info.error(f"expects a number, got {type_name(n)}")
        decimals = arg(args, 1)
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


def fn_abs(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    return norm_number(abs(want_number(args, info)))


def _extreme(pick: Callable[..., Any]) -> Impl:
    def fn(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
        values = list(args[0]) if len(args) == 1 and is_array(args[0]) else args
        if not values:
            raise info.error("expects at least one number")
        for v in values:
            if not is_number(v):
                raise info.error(f"expects numbers, got {type_name(v)}")
        if any(v != v for v in values):
            return NAN
        return norm_number(pick(values))

    return fn


# ---------------------------------------------------------------- conversions
def fn_number(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """JavaScript ``Number(x)``: never fails, gives ``NaN`` for what is not a number."""
    arity(args, info, 0, 1)
    return norm_number(to_number(args[0])) if args else 0


_DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def fn_parseint(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """JavaScript ``parseInt(text[, radix])``: the leading digits, ``NaN`` when there are none."""
    arity(args, info, 1, 2)
    s = want_text(args, info, 0).lstrip(JS_WHITESPACE)
    radix_value = arg(args, 1)
    radix = 0 if radix_value is UNDEFINED else to_number(radix_value)
    radix = 0 if radix != radix or radix in (INF, -INF) else int(radix)
    sign = -1 if s[:1] == "-" else 1
    if s[:1] in ("-", "+"):
        s = s[1:]
    if radix != 0 and not 2 <= radix <= 36:
        return NAN
    if radix in (0, 16) and s[:2].lower() == "0x":
        s, radix = s[2:], 16
    radix = radix or 10
    allowed = _DIGITS36[:radix]
    end = 0
    while end < len(s) and s[end].lower() in allowed:
        end += 1
    if end == 0:
        return NAN
    if end > 200:  # Python refuses to parse very long decimal integers; the value is approximate anyway
        try:
            return sign * float(int(s[:30], radix)) * float(radix) ** (end - 30)
        except OverflowError:
            return sign * INF
    return norm_number(sign * int(s[:end], radix))


_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def fn_parsefloat(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """JavaScript ``parseFloat(text)``: the leading decimal number, ``NaN`` when there is none."""
    arity(args, info, 1, 1)
    m = _FLOAT_PREFIX.match(want_text(args, info, 0).lstrip(JS_WHITESPACE))
    if m is None:
        return NAN
    text = m.group(0)
    if text.lstrip("+-") == "Infinity":
        return -INF if text[0] == "-" else INF
    return norm_number(float(text))


MATH_FUNCTIONS: dict[str, Impl] = {
    "rand": fn_rand,
    "uuid": fn_uuid,
    "round": _rounder("round"),
    "floor": _rounder("floor"),
    "ceil": _rounder("ceil"),
    "abs": fn_abs,
    "min": _extreme(min),
    "max": _extreme(max),
    "Number": fn_number,
    "parseInt": fn_parseint,
    "parseFloat": fn_parsefloat,
}
