"""The built-in functions of the expression language: one registry, implementations by theme.

``FUNCTIONS`` maps each function's documented name to its implementation (see ``calls.py`` for
the signature); names are matched case-insensitively through ``FUNCTION_NAMES``. Themes:
``functions_text`` (strings), ``functions_math`` (numbers, ``rand``, ``uuid``),
``functions_data`` (JSON, objects, arrays), ``functions_types`` (type tests, conversions),
``functions_url`` (URLs); ``date`` is here, over ``dates.py``. To add a function, add it to the
table of its theme, with cases in ``tests/unit/language/test_functions_*.py`` and a line in
``docs/language-functions.md``.
"""

from __future__ import annotations

import difflib
from typing import Any

from .calls import CallInfo, Impl, arg
from .dates import date_field, format_date, now_ms, parse_date
from .functions_data import DATA_FUNCTIONS
from .functions_math import MATH_FUNCTIONS
from .functions_text import TEXT_FUNCTIONS
from .functions_types import TYPE_FUNCTIONS
from .functions_url import URL_FUNCTIONS
from .undefined import UNDEFINED

__all__ = ["FUNCTIONS", "FUNCTION_NAMES", "CallInfo", "unknown_function_message"]


def fn_date(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    ms = now_ms(env) if not args else parse_date(args[0])
    if ms is None:
        return UNDEFINED
    fmt = arg(args, 1)
    if isinstance(fmt, str):
        locale = arg(args, 2)
        tz = arg(args, 3)
        out = format_date(
            ms,
            fmt,
            locale if isinstance(locale, str) else env.locale,
            tz if isinstance(tz, str) else env.timezone,
        )
        return UNDEFINED if out is None else out
    return date_field(ms, info.field)


FUNCTIONS: dict[str, Impl] = {
    "date": fn_date,
    **TEXT_FUNCTIONS,
    **MATH_FUNCTIONS,
    **DATA_FUNCTIONS,
    **TYPE_FUNCTIONS,
    **URL_FUNCTIONS,
}

#: lower-cased name -> documented name (calls are case-insensitive: ``LOWER(x)`` is ``lower(x)``)
FUNCTION_NAMES: dict[str, str] = {name.lower(): name for name in FUNCTIONS}

#: names the reference linter knows that Tideway cannot run, and why
UNSUPPORTED: dict[str, str] = {
    **{name.lower(): f"'{name}' takes a callback, and expressions have no callbacks"
       for name in ("filter", "map", "reduce", "find", "findIndex", "some", "every", "flatMap")},
    **{name.lower(): f"'{name}' is a JavaScript namespace, not a function of the language"
       for name in ("Array", "Object")},  # JSON(x) is json(x): names are case-insensitive
}

_SUGGESTIONS = sorted({*FUNCTION_NAMES, "regex"})


def unknown_function_message(word: str) -> str:
    """Why ``word(...)`` cannot be called, with the nearest function name when there is one."""
    low = word.lower()
    if low in UNSUPPORTED:
        return f"unsupported function: {UNSUPPORTED[low]}"
    close = difflib.get_close_matches(low, _SUGGESTIONS, n=1, cutoff=0.6)
    if close:
        name = FUNCTION_NAMES.get(close[0], close[0])
        return f"unknown function {word!r} (did you mean {name!r}?)"
    return f"unknown function {word!r}"
