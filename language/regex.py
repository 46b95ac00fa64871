"""JavaScript-style regular expressions on top of RE2 (linear time, no backtracking)."""

from __future__ import annotations

from typing import Any

import re2

from .errors import ExpressionLimitError, InvalidExpressionSyntax
from .limits import cache_put, get_limits

_CACHE: dict[tuple[str, str], Any] = {}
_VALID_FLAGS = set("dgimsuyv")


def split_literal(text: str) -> tuple[str, str]:
    """``/pat/flags`` -> (pat, flags); anything else is a bare pattern with no flags."""
    if len(text) >= 2 and text[0] == "/":
        end = text.rfind("/")
        if end > 0:
            flags = text[end + 1 :]
            if all(c in _VALID_FLAGS for c in flags):
                return text[1:end], flags
    return text, ""


def _translate(pattern: str) -> str:
    """Rewrite the few JavaScript escapes RE2 spells differently."""
    if "\\" not in pattern and "(?<" not in pattern:
        return pattern
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "u" and i + 5 < n and _is_hex(pattern[i + 2 : i + 6]):
                out.append("\\x{" + pattern[i + 2 : i + 6] + "}")
                i += 6
                continue
            if nxt == "u" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                if end > 0 and _is_hex(pattern[i + 3 : end]):
                    out.append("\\x{" + pattern[i + 3 : end] + "}")
                    i = end + 1
                    continue
            if nxt == "d" or nxt == "D" or nxt == "w" or nxt == "W" or nxt == "s" or nxt == "S":
                out.append(c + nxt)
            elif nxt == "/":
                out.append("/")
            else:
                out.append(c + nxt)
            i += 2
            continue
        if c == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _is_hex(s: str) -> bool:
    return bool(s) and all(c in "0123456789abcdefABCDEF" for c in s)


def compile_regex(pattern: str, flags: str = "", expression: str | None = None) -> Any:
    """Compile a JavaScript pattern with flags (``i m s`` honoured, ``g y u d v`` ignored)."""
    key = (pattern, flags)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    limits = get_limits()
    if len(pattern) > limits.max_regex_length:
        raise ExpressionLimitError(
            f"Regular expression longer than {limits.max_regex_length} characters",
            expression=expression,
            details={"pattern": pattern[:200]},
        )
    bad = [c for c in flags if c not in _VALID_FLAGS]
    if bad or len(set(flags)) != len(flags):
        raise InvalidExpressionSyntax(
            f"Invalid regular expression flags {flags!r}", expression=expression,
            details={"pattern": pattern},
        )
    opts = re2.Options()
    opts.log_errors = False
    opts.max_mem = 8 << 20
    if "i" in flags:
        opts.case_sensitive = False
    if "s" in flags:
        opts.dot_nl = True
    text = _translate(pattern)
    if "m" in flags:
        text = "(?m)" + text
    try:
        compiled = re2.compile(text, opts)
    except Exception as exc:  # re2.error and encoding errors
        raise InvalidExpressionSyntax(
            f"Invalid regular expression /{pattern}/{flags}: {_reason(exc)}",
            expression=expression,
            details={"pattern": pattern},
        ) from None
    cache_put(_CACHE, key, compiled)
    return compiled


def _reason(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    return str(arg)


def search(pattern: str, flags: str, text: str, expression: str | None = None) -> bool:
    return compile_regex(pattern, flags, expression).search(text) is not None


def js_replacement(compiled: Any, replacement: str) -> Any:
    """A callable applying a JavaScript replacement string (``$&``, ``$1``, ``$$``)."""
    if "$" not in replacement:
        return lambda m: replacement

    def repl(m: Any) -> str:
        out: list[str] = []
        i, n = 0, len(replacement)
        while i < n:
            c = replacement[i]
            if c == "$" and i + 1 < n:
                nxt = replacement[i + 1]
                if nxt == "$":
                    out.append("$")
                    i += 2
                    continue
                if nxt == "&":
                    out.append(m.group(0))
                    i += 2
                    continue
                if nxt.isdigit() and nxt.isascii():
                    j = i + 2
                    if j < n and replacement[j].isascii() and replacement[j].isdigit():
                        two = int(replacement[i + 1 : j + 1])
                        if 0 < two <= compiled.groups:
                            out.append(m.group(two) or "")
                            i = j + 1
                            continue
                    one = int(nxt)
                    if 0 < one <= compiled.groups:
                        out.append(m.group(one) or "")
                        i += 2
                        continue
            out.append(c)
            i += 1
        return "".join(out)

    return repl
