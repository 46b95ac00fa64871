"""Type tests (``isArray`` ... ``typeof``) and the conversions ``String`` and ``Boolean``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .calls import CallInfo, Impl, arg, arity
from .errors import InvalidVariableNameError
from .jsmodel import is_array, is_number, is_object, is_truthy, js_to_string
from .paths import get_path
from .undefined import UNDEFINED


def _typed_arg(args: list[Any], info: CallInfo, scope: Mapping[str, Any]) -> Any:
    """``isArray``/``isObject`` look a literal word or string argument up as a context path."""
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


def _test(predicate: Any) -> Impl:
    def fn(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
        arity(args, info, 0, 1)
        return bool(predicate(arg(args, 0)))

    return fn


def js_typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if type(value) is bool:
        return "boolean"
    if is_number(value):
        return "number"
    if type(value) is str:
        return "string"
    return "object"  # null, arrays and objects, as in JavaScript


def fn_typeof(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    arity(args, info, 0, 1)
    return js_typeof(arg(args, 0))


def fn_string(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """JavaScript ``String(x)``: ``String()`` is ``""``, objects are ``"[object Object]"``."""
    arity(args, info, 0, 1)
    return js_to_string(args[0]) if args else ""


def fn_boolean(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """JavaScript ``Boolean(x)``: truthiness."""
    arity(args, info, 0, 1)
    return is_truthy(arg(args, 0))


TYPE_FUNCTIONS: dict[str, Impl] = {
    "isArray": fn_isarray,
    "isObject": fn_isobject,
    "isString": _test(lambda v: type(v) is str),
    "isNumber": _test(is_number),
    "isBoolean": _test(lambda v: type(v) is bool),
    "isNull": _test(lambda v: v is None),
    "isUndefined": _test(lambda v: v is UNDEFINED),
    "typeof": fn_typeof,
    "String": fn_string,
    "Boolean": fn_boolean,
}
