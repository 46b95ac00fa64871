"""What a built-in function receives besides its arguments, and the argument checks they share.

Every implementation has the signature ``fn(args, info, scope, env)``: the evaluated arguments,
a :class:`CallInfo` (name, ``.field``, position, source, which arguments were literal text), the
scope and the :class:`~language.env.LanguageEnv`. Bad arguments raise
:class:`~language.errors.InvalidExpressionSyntax` through :meth:`CallInfo.error`, whose message
names the function. Messages describe arguments by their type only, never by their value: a
value may be a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ExpressionLimitError, InvalidExpressionSyntax, syntax_error
from .jsmodel import INF, is_array, is_number, is_object, js_to_string
from .limits import get_limits
from .undefined import UNDEFINED

Impl = Callable[[list[Any], "CallInfo", Any, Any], Any]

_ORDINALS = ("first", "second", "third", "fourth", "fifth")


class CallInfo:
    __slots__ = ("name", "field", "pos", "source", "text_args")

    def __init__(self, name: str, field: str | None, pos: int, source: str, text_args: tuple[bool, ...]):
        self.name, self.field, self.pos, self.source, self.text_args = name, field, pos, source, text_args

    def error(self, message: str) -> InvalidExpressionSyntax:
        return syntax_error(f"{self.name}(): {message}", self.source, self.pos)


def arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


def ordinal(i: int) -> str:
    return _ORDINALS[i] if i < len(_ORDINALS) else f"#{i + 1}"


def type_name(value: Any) -> str:
    """The kind of a value for an error message (never the value itself)."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    if is_number(value):
        return "a number"
    if type(value) is str:
        return "a string"
    if is_array(value):
        return "an array"
    if is_object(value):
        return "an object"
    return "an unsupported value"


def arity(args: list[Any], info: CallInfo, low: int, high: int | None = None) -> None:
    """Check the number of arguments: ``low`` to ``high`` (``None``: no upper bound)."""
    n = len(args)
    if low <= n and (high is None or n <= high):
        return
    if high == low:
        want = "no argument" if low == 0 else f"{low} argument{'s' if low > 1 else ''}"
    elif high is None:
        want = f"at least {low} argument{'s' if low > 1 else ''}"
    else:
        want = f"{low} to {high} arguments"
    raise info.error(f"expects {want}, got {n}")


def want_string(args: list[Any], info: CallInfo, i: int = 0) -> str:
    value = arg(args, i)
    if type(value) is not str:
        raise info.error(f"expects a string as {ordinal(i)} argument, got {type_name(value)}")
    return value


def want_text(args: list[Any], info: CallInfo, i: int, default: str | None = None) -> str:
    """A string, or a number/boolean written as JavaScript would (``4`` -> ``"4"``)."""
    value = arg(args, i)
    if value is UNDEFINED and default is not None:
        return default
    if type(value) is str:
        return value
    if type(value) is bool or is_number(value):
        return js_to_string(value)
    raise info.error(f"expects a string as {ordinal(i)} argument, got {type_name(value)}")


def want_number(args: list[Any], info: CallInfo, i: int = 0) -> int | float:
    value = arg(args, i)
    if not is_number(value):
        raise info.error(f"expects a number as {ordinal(i)} argument, got {type_name(value)}")
    return value  # type: ignore[no-any-return]


def want_count(args: list[Any], info: CallInfo, i: int, default: int | None = None) -> int:
    """A whole number >= 0 (fractions are truncated, like JavaScript's ToIntegerOrInfinity)."""
    value = arg(args, i)
    if value is UNDEFINED and default is not None:
        return default
    if not is_number(value) or value != value or value in (INF, -INF) or value < 0:
        raise info.error(f"expects a whole number >= 0 as {ordinal(i)} argument, got {type_name(value)}")
    return int(value)


def want_array(args: list[Any], info: CallInfo, i: int = 0) -> list[Any] | tuple[Any, ...]:
    value = arg(args, i)
    if not is_array(value):
        raise info.error(f"expects an array as {ordinal(i)} argument, got {type_name(value)}")
    return value  # type: ignore[no-any-return]


def want_object(args: list[Any], info: CallInfo, i: int = 0) -> Mapping[str, Any]:
    value = arg(args, i)
    if not is_object(value):
        raise info.error(f"expects an object as {ordinal(i)} argument, got {type_name(value)}")
    return value  # type: ignore[no-any-return]


def check_length(info: CallInfo, length: int) -> None:
    """Refuse to build a string longer than a template may be (``repeat``, ``padStart`` ...)."""
    limit = get_limits().max_template_length
    if length > limit:
        raise ExpressionLimitError(
            f"{info.name}(): the result would be longer than {limit} characters",
            expression=info.source,
            position=info.pos,
        )
