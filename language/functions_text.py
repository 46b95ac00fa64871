"""String functions: case, trimming, truncating, sanitizing, searching, padding, splitting, replacing."""

from __future__ import annotations

import unicodedata
from typing import Any

from .calls import (
    CallInfo,
    Impl,
    arg,
    arity,
    check_length,
    type_name,
    want_count,
    want_string,
    want_text,
)
from .jsmodel import INF, JS_WHITESPACE, is_array, is_number, js_to_string, strict_equals, to_number
from .regex import compile_regex, js_replacement, split_literal
from .undefined import UNDEFINED


def fn_lower(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    return want_string(args, info).lower()


def fn_upper(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    return want_string(args, info).upper()


def fn_trim(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    return want_string(args, info).strip(JS_WHITESPACE)


def fn_truncate(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 2, 3)
    text = want_string(args, info)
    keep = want_count(args, info, 1)
    suffix = want_text(args, info, 2, "...")
    return text if len(text) <= keep else text[:keep] + suffix


# ---------------------------------------------------------------- sanitize
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_PICTOGRAPH_BLOCKS = ((0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE00, 0xFE0F))  # symbols, dingbats, selectors
_INVISIBLE = frozenset(["Cf", "Cs", "Co", "Cn"])


def _plain(c: str) -> bool:
    """Kept by ``sanitize``: letters, digits, punctuation, usual symbols and white space."""
    o = ord(c)
    if o < 0x80:
        return 0x20 <= o < 0x7F or c in "\t\n\r"
    if o > 0xFFFF:  # emoji and other pictographs live outside the basic plane
        return False
    if any(lo <= o <= hi for lo, hi in _PICTOGRAPH_BLOCKS):
        return False
    category = unicodedata.category(c)
    return category not in _INVISIBLE and category != "Cc"


def fn_sanitize(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    text = want_string(args, info)
    return "".join(_HTML_ESCAPES.get(c, c) for c in text if _plain(c))


# ---------------------------------------------------------------- searching
def fn_startswith(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 2, 2)
    return want_string(args, info).startswith(want_text(args, info, 1))


def fn_endswith(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 2, 2)
    return want_string(args, info).endswith(want_text(args, info, 1))


def _haystack(args: list[Any], info: CallInfo) -> Any:
    arity(args, info, 2, 2)
    target = arg(args, 0)
    if type(target) is not str and not is_array(target):
        raise info.error(f"expects a string or an array as first argument, got {type_name(target)}")
    return target


def fn_includes(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    target = _haystack(args, info)
    if type(target) is str:
        return want_text(args, info, 1) in target
    return any(strict_equals(x, args[1]) for x in target)


def fn_indexof(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    target = _haystack(args, info)
    if type(target) is str:
        return target.find(want_text(args, info, 1))
    return next((i for i, x in enumerate(target) if strict_equals(x, args[1])), -1)


def fn_match(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """JavaScript ``String.match``: all matches with the ``g`` flag, else the first with its groups."""
    arity(args, info, 2, 2)
    text = want_string(args, info)
    pattern = args[1]
    if is_array(pattern) and len(pattern) == 1:  # regex(...) literal
        pat, flags = split_literal(js_to_string(pattern[0]))
    elif type(pattern) is str or is_number(pattern) or type(pattern) is bool:
        pat, flags = js_to_string(pattern), ""
    else:
        raise info.error(f"expects a pattern string or regex(...) as second argument, got {type_name(pattern)}")
    rx = compile_regex(pat, flags, info.source)
    if "g" in flags:
        found = [m.group(0) for m in rx.finditer(text)]
        return found or None
    m = rx.search(text)
    if m is None:
        return None
    return [m.group(0), *(UNDEFINED if g is None else g for g in m.groups())]


# ---------------------------------------------------------------- cutting and padding
def _clamp(value: Any, length: int, default: int) -> int:
    """An index for ``substring``: NaN and negatives are 0, past the end is the length."""
    if value is UNDEFINED:
        return default
    n = to_number(value)
    if n != n or n < 0:
        return 0
    return length if n == INF or n > length else int(n)


def fn_substring(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 2, 3)
    text = want_string(args, info)
    start, end = _clamp(args[1], len(text), 0), _clamp(arg(args, 2), len(text), len(text))
    if start > end:
        start, end = end, start
    return text[start:end]


def _pad(args: list[Any], info: CallInfo, at_start: bool) -> str:
    arity(args, info, 2, 3)
    text = want_string(args, info)
    target = want_count(args, info, 1)
    fill = want_text(args, info, 2, " ")
    missing = target - len(text)
    if missing <= 0 or not fill:
        return text
    check_length(info, target)
    padding = (fill * (missing // len(fill) + 1))[:missing]
    return padding + text if at_start else text + padding


def fn_padstart(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return _pad(args, info, True)


def fn_padend(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    return _pad(args, info, False)


def fn_repeat(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 2, 2)
    text = want_string(args, info)
    count = want_count(args, info, 1)
    check_length(info, len(text) * count)
    return text * count


def _index(v: Any, length: int, default: int) -> int:
    """An index for ``slice``: negatives count from the end."""
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
    target = arg(args, 0)
    if not (isinstance(target, str) or is_array(target)):
        raise info.error("expects an array or a string")
    n = len(target)
    start = _index(arg(args, 1), n, 0)
    end = _index(arg(args, 2), n, n)
    out = target[start:end] if start < end else target[0:0]
    return list(out) if isinstance(out, tuple) else out


# ---------------------------------------------------------------- split, join, replace
def fn_split(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    s, sep = arg(args, 0), arg(args, 1)
    if not isinstance(s, str) or not isinstance(sep, str):
        raise info.error("expects (string, separator string)")
    if sep == "":
        return list(s)
    return s.split(sep)


def fn_join(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arr, sep = arg(args, 0), arg(args, 1)
    if sep is UNDEFINED:
        sep = ","
    if not is_array(arr) or not isinstance(sep, str):
        raise info.error("expects (array, separator string)")
    return sep.join("" if x is None or x is UNDEFINED else js_to_string(x) for x in arr)


def fn_replace(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    s, pattern, repl = arg(args, 0), arg(args, 1), arg(args, 2)
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


def fn_length(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 1, 1)
    value = args[0]
    if type(value) is str or is_array(value):
        return len(value)
    raise info.error(f"expects a string or an array, got {type_name(value)}")


def fn_concat(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """``concat(string, ...)`` joins texts; ``concat(array, ...)`` appends (arrays are spread)."""
    arity(args, info, 1)
    first = args[0]
    if type(first) is str:
        out = first + "".join(want_text(args, info, i) for i in range(1, len(args)))
        check_length(info, len(out))
        return out
    if is_array(first):
        items = list(first)
        for extra in args[1:]:
            if is_array(extra):
                items.extend(extra)
            else:
                items.append(extra)
        return items
    raise info.error(f"expects a string or an array as first argument, got {type_name(first)}")


TEXT_FUNCTIONS: dict[str, Impl] = {
    "lower": fn_lower,
    "upper": fn_upper,
    "trim": fn_trim,
    "truncate": fn_truncate,
    "sanitize": fn_sanitize,
    "startsWith": fn_startswith,
    "endsWith": fn_endswith,
    "includes": fn_includes,
    "indexOf": fn_indexof,
    "match": fn_match,
    "substring": fn_substring,
    "padStart": fn_padstart,
    "padEnd": fn_padend,
    "repeat": fn_repeat,
    "slice": fn_slice,
    "split": fn_split,
    "join": fn_join,
    "replace": fn_replace,
    "length": fn_length,
    "concat": fn_concat,
}
