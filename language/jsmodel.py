"""JavaScript value semantics over JSON-like Python values.

Types: ``UNDEFINED`` (undefined), ``None`` (null), ``bool``, ``int``/``float`` (number),
``str``, ``list``/``tuple`` (array), ``dict``/Mapping (object). ``bool`` is tested before
``int`` everywhere because it is a Python subclass of ``int``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from .undefined import UNDEFINED

NAN = float("nan")
INF = float("inf")
MAX_SAFE = 2**53
_JS_WS = " \t\n\r\x0b\x0c\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DEC_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_RADIX_RE = re.compile(r"0([xXoObB])([0-9a-fA-F]+)\Z")
#: the characters JavaScript's ``trim()`` and number parsing treat as white space
JS_WHITESPACE = _JS_WS


# ---------------------------------------------------------------- type tests
def is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def is_array(v: Any) -> bool:
    return type(v) is list or type(v) is tuple


def is_object(v: Any) -> bool:
    """A JSON object (not an array, not null)."""
    return type(v) is dict or (isinstance(v, Mapping))


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness: ``"" 0 NaN null undefined false`` are falsy, ``[]``/``{}`` truthy."""
    t = type(value)
    if t is bool:
        return value
    if t is str:
        return len(value) > 0
    if t is int:
        return value != 0
    if t is float:
        return value == value and value != 0.0
    if value is None or value is UNDEFINED:
        return False
    return True


# ---------------------------------------------------------------- numbers
def norm_number(x: int | float) -> int | float:
    """Canonical number: integral floats become ints, huge ints become floats (like JS)."""
    if type(x) is float:
        if x == x and -MAX_SAFE <= x <= MAX_SAFE and x == int(x):
            return int(x)
        return x
    if -MAX_SAFE <= x <= MAX_SAFE:
        return x
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def str_to_number(s: str) -> int | float:
    """JavaScript ``Number(string)``."""
    s = s.strip(_JS_WS)
    if not s:
        return 0
    if len(s) > 400:
        return NAN
    if _INT_RE.match(s):
        if len(s) <= 16:
            return int(s)
        return norm_number(float(s))
    if _DEC_RE.match(s):
        return norm_number(float(s))
    if s in ("Infinity", "+Infinity"):
        return INF
    if s == "-Infinity":
        return -INF
    m = _RADIX_RE.match(s)
    if m:
        base = {"x": 16, "o": 8, "b": 2}[m.group(1).lower()]
        try:
            return norm_number(int(m.group(2), base))
        except ValueError:
            return NAN
    return NAN


def to_primitive(v: Any) -> Any:
    """ToPrimitive with hint default: arrays and objects become their string form."""
    if is_array(v):
        return js_to_string(v)
    if is_object(v):
        return "[object Object]"
    return v


def to_number(v: Any) -> int | float:
    """JavaScript ``Number(v)``."""
    t = type(v)
    if t is int:
        return v if -MAX_SAFE <= v <= MAX_SAFE else norm_number(v)
    if t is float:
        return v
    if t is bool:
        return 1 if v else 0
    if t is str:
        return str_to_number(v)
    if v is None:
        return 0
    if v is UNDEFINED:
        return NAN
    if is_array(v):
        return str_to_number(js_to_string(v))
    return NAN


def format_number(x: int | float) -> str:
    """JavaScript ``Number.prototype.toString()``: ``1.0 -> "1"``, ``1e-7 -> "1e-7"``."""
    if type(x) is int:
        if -MAX_SAFE <= x <= MAX_SAFE:
            return str(x)
        x = norm_number(x)
        if type(x) is int:  # pragma: no cover
            return str(x)
    if x != x:
        return "NaN"
    if x == INF:
        return "Infinity"
    if x == -INF:
        return "-Infinity"
    if x == 0:
        return "0"
    r = repr(x)
    sign = ""
    if r[0] == "-":
        sign, r = "-", r[1:]
    mant, _, exp_s = r.partition("e")
    exp = int(exp_s) if exp_s else 0
    ip, _, fp = mant.partition(".")
    if fp == "0":
        fp = ""
    digits = ip + fp
    point = len(ip) + exp
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


# ---------------------------------------------------------------- strings
def js_to_string(v: Any) -> str:
    """JavaScript ``String(v)``."""
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        return format_number(v)
    if v is None:
        return "null"
    if v is UNDEFINED:
        return "undefined"
    if t is list or t is tuple:
        return ",".join("" if x is None or x is UNDEFINED else js_to_string(x) for x in v)
    if isinstance(v, Mapping):
        return "[object Object]"
    return str(v)


# ---------------------------------------------------------------- equality & comparison
def strict_equals(a: Any, b: Any) -> bool:
    """``===``, except that arrays/objects compare by value (not identity)."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a == b
    if ta is str and tb is str:
        return a == b
    if a is None or a is UNDEFINED or b is None or b is UNDEFINED:
        return a is b
    if is_array(a) and is_array(b):
        return len(a) == len(b) and all(strict_equals(x, y) for x, y in zip(a, b, strict=True))
    if is_object(a) and is_object(b):
        ka = [k for k, x in a.items() if x is not UNDEFINED]
        kb = [k for k, x in b.items() if x is not UNDEFINED]
        if len(ka) != len(kb):
            return False
        return all(k in b and strict_equals(a[k], b[k]) for k in ka)
    if is_array(a) or is_array(b) or is_object(a) or is_object(b):
        return False
    return ta is tb and a == b


def loose_equals(a: Any, b: Any) -> bool:
    """JavaScript abstract equality ``==`` (arrays/objects compare by value)."""
    if a is None or a is UNDEFINED:
        return b is None or b is UNDEFINED
    if b is None or b is UNDEFINED:
        return False
    ta, tb = type(a), type(b)
    if ta is bool:
        a, ta = (1 if a else 0), int
    if tb is bool:
        b, tb = (1 if b else 0), int
    a_num = ta is int or ta is float
    b_num = tb is int or tb is float
    if a_num and b_num:
        return a == b
    if ta is str and tb is str:
        return a == b
    if a_num and tb is str:
        return a == str_to_number(b)
    if ta is str and b_num:
        return str_to_number(a) == b
    a_obj = is_array(a) or is_object(a)
    b_obj = is_array(b) or is_object(b)
    if a_obj and b_obj:
        return strict_equals(a, b)
    if a_obj:
        return loose_equals(to_primitive(a), b)
    if b_obj:
        return loose_equals(a, to_primitive(b))
    return ta is tb and a == b


def js_compare(a: Any, b: Any, op: str) -> bool:
    """``<``, ``<=``, ``>``, ``>=`` with JavaScript coercion (strings compare lexically)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if type(pa) is str and type(pb) is str:
        x: Any = pa
        y: Any = pb
        if any(ord(c) > 0xFFFF for c in pa + pb):
            x, y = pa.encode("utf-16-be"), pb.encode("utf-16-be")
    else:
        x, y = to_number(pa), to_number(pb)
        if x != x or y != y:
            return False
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


# ---------------------------------------------------------------- arithmetic
def js_add(a: Any, b: Any) -> Any:
    pa, pb = to_primitive(a), to_primitive(b)
    if type(pa) is str or type(pb) is str:
        return js_to_string(pa) + js_to_string(pb)
    return _arith(to_number(pa) + to_number(pb))


def _arith(x: int | float) -> int | float:
    if type(x) is float and x != x:
        return x
    return norm_number(x)


def js_sub(a: Any, b: Any) -> Any:
    return _arith(to_number(a) - to_number(b))


def js_mul(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if (x == 0 and (y == INF or y == -INF)) or (y == 0 and (x == INF or x == -INF)):
        return NAN
    return _arith(x * y)


def js_div(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if x != x or y != y:
        return NAN
    if y == 0:
        if x == 0:
            return NAN
        neg = (x < 0) != (math.copysign(1.0, y) < 0)
        return -INF if neg else INF
    if (x == INF or x == -INF) and (y == INF or y == -INF):
        return NAN
    return _arith(x / y)


def js_mod(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if x != x or y != y or y == 0 or x in (INF, -INF):
        return NAN
    if y in (INF, -INF):
        return x
    if type(x) is int and type(y) is int:
        r = abs(x) % abs(y)
        return r if x >= 0 else -r
    return _arith(math.fmod(x, y))


def js_neg(a: Any) -> Any:
    x = to_number(a)
    return _arith(-x)


# ---------------------------------------------------------------- JSON text
def _json(v: Any, indent: str | None, cur: str) -> str | None:
    t = type(v)
    if t is str:
        return encode_basestring(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        if t is float and (v != v or v in (INF, -INF)):
            return "null"
        return format_number(v)
    if v is UNDEFINED or callable(v):
        return None
    if t is list or t is tuple:
        if not v:
            return "[]"
        inner = cur + indent if indent else ""
        items = []
        for x in v:
            s = _json(x, indent, inner)
            items.append("null" if s is None else s)
        if indent:
            return "[\n" + inner + (",\n" + inner).join(items) + "\n" + cur + "]"
        return "[" + ",".join(items) + "]"
    if isinstance(v, Mapping):
        inner = cur + indent if indent else ""
        sep = ": " if indent else ":"
        parts = []
        for k, x in v.items():
            s = _json(x, indent, inner)
            if s is not None:
                parts.append(encode_basestring(k if type(k) is str else js_to_string(k)) + sep + s)
        if not parts:
            return "{}"
        if indent:
            return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + cur + "}"
        return "{" + ",".join(parts) + "}"
    return encode_basestring(str(v))


def to_json_text(value: Any) -> str:
    """``JSON.stringify(value)`` (compact). Undefined members are dropped; NaN/Infinity give null.

    A top-level ``undefined`` gives ``"null"``.
    """
    s = _json(value, None, "")
    return "null" if s is None else s


def to_pretty_json(value: Any) -> str:
    """``JSON.stringify(value, null, 2)``."""
    s = _json(value, "  ", "")
    return "null" if s is None else s


def embed_text(value: Any) -> str:
    """How a value is written into a larger string: strings as is, null/undefined as ``""``,
    anything else as ``JSON.stringify(value, null, 2)``."""
    t = type(value)
    if t is str:
        return value
    if value is None or value is UNDEFINED:
        return ""
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        if t is float and (value != value or value in (INF, -INF)):
            return "null"
        return format_number(value)
    s = _json(value, "  ", "")
    return "" if s is None else s
