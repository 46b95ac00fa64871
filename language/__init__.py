"""Tideway's automation language: ``{{ }}`` interpolation and ``{% %}`` expressions.

Pure and deterministic given the injected :class:`LanguageEnv` (clock, randomness, default
time zone and locale); no Temporal imports, no I/O. See ``docs/language.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, TypeVar

from .env import DEFAULT_ENV, LanguageEnv
from .errors import (
    ExpressionError,
    ExpressionLimitError,
    InvalidExpressionSyntax,
    InvalidVariableNameError,
)
from .evaluator import Program, get_program
from .functions import FUNCTIONS
from .interpolate import render_string, walk
from .jsmodel import is_truthy, to_json_text
from .jsonmatch import jsonmatch as _jsonmatch
from .limits import LanguageLimits, configure, get_limits
from .paths import get_path as _get_path
from .paths import parse_variable_path as _parse_variable_path
from .template_check import TemplateProblem, expression_problems, template_problems
from .undefined import UNDEFINED, UndefinedType

__all__ = [
    "UNDEFINED",
    "UndefinedType",
    "LanguageEnv",
    "DEFAULT_ENV",
    "render",
    "evaluate",
    "evaluate_condition",
    "compile_expression",
    "parse_variable_path",
    "get_path",
    "is_truthy",
    "to_json_text",
    "jsonmatch",
    "ExpressionError",
    "InvalidExpressionSyntax",
    "InvalidVariableNameError",
    "ExpressionLimitError",
    "LanguageLimits",
    "configure",
    "get_limits",
    "Program",
    "TemplateProblem",
    "template_problems",
    "expression_problems",
    "FUNCTION_LIST",
]

#: the documented names of the built-in functions (``regex(...)`` is syntax, not listed)
FUNCTION_LIST: tuple[str, ...] = tuple(sorted(FUNCTIONS, key=str.lower))

T = TypeVar("T")


def _convert(exc: Exception, what: str) -> ExpressionError:
    """Safety net: anything but an :class:`ExpressionError` becomes one."""
    if isinstance(exc, RecursionError):
        return ExpressionLimitError(f"{what}: nested too deeply")
    return ExpressionError(f"{what}: {type(exc).__name__}: {exc}")  # a bug or a hostile Mapping


def _guard(fn: Callable[[], T], what: str) -> T:
    try:
        return fn()
    except ExpressionError:
        raise
    except Exception as exc:
        raise _convert(exc, what) from exc


def render(
    value: Any,
    scope: Mapping[str, Any],
    *,
    env: LanguageEnv | None = None,
    undefined_vars: Literal["remove", "leave"] = "remove",
    eval_expressions: bool = True,
    exclude: Collection[str] = (),
) -> Any:
    """Interpolate every string inside ``value`` (dicts and lists walked, keys untouched).

    A string that is exactly one ``{{path}}`` or ``{% expr %}`` gives the raw value (possibly
    ``UNDEFINED``); otherwise each construct is replaced by its text. Values under keys listed
    in ``exclude`` are returned untouched, at any depth. Returns new containers; the input
    is never mutated (values read from ``scope`` are returned as they are, not copied).
    """
    leave = undefined_vars == "leave"
    if env is None:
        env = DEFAULT_ENV
    try:
        if type(value) is str:
            return render_string(value, scope, env, leave, eval_expressions)
        return walk(value, scope, env, leave, eval_expressions, exclude)
    except ExpressionError:
        raise
    except Exception as exc:
        raise _convert(exc, "render") from exc


def compile_expression(expr: str) -> Program:
    """Parse (cached by text) and return the compiled program (``program.fn(scope, env)``)."""
    if not isinstance(expr, str):
        raise InvalidExpressionSyntax(f"Expression must be a string, got {type(expr).__name__}")
    return _guard(lambda: get_program(expr), "parse")


def evaluate(expr: str, scope: Mapping[str, Any], *, env: LanguageEnv | None = None) -> Any:
    """Value mode: the raw result of the expression (how ``{% %}`` is evaluated)."""
    if type(expr) is not str:
        raise InvalidExpressionSyntax(f"Expression must be a string, got {type(expr).__name__}")
    if env is None:
        env = DEFAULT_ENV
    try:
        return get_program(expr).fn(scope, env)
    except ExpressionError:
        raise
    except Exception as exc:
        raise _convert(exc, "evaluate") from exc


def evaluate_condition(expr: str, scope: Mapping[str, Any], *, env: LanguageEnv | None = None) -> bool:
    """Condition mode: the JavaScript truthiness of the result (``conditions`` keys, ``wait``)."""
    return is_truthy(evaluate(expr, scope, env=env))


def parse_variable_path(path: str) -> tuple[str | int, ...]:
    """Segments of a variable path (§4.3); raises :class:`InvalidVariableNameError`."""
    return _guard(lambda: _parse_variable_path(path), "variable path")


def get_path(scope: Mapping[str, Any], path: str | Sequence[str | int]) -> Any:
    """Value at ``path`` in ``scope``, ``UNDEFINED`` when any step is missing."""
    return _guard(lambda: _get_path(scope, path), "variable lookup")


def jsonmatch(obj: Any, query: Any) -> bool:
    """MongoDB-style query match (``$eq $in $regex $and $or $elemMatch`` ...)."""
    return _guard(lambda: _jsonmatch(obj, query), "jsonmatch")
