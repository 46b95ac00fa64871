"""``render()``: interpolation of ``{{path}}`` and ``{% expr %}`` in any JSON-like value."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .evaluator import expr_value, part_text, var_path_text, var_value
from .limits import cache_put
from .paths import lookup
from .template import ExprNode, VarNode, scan
from .undefined import UNDEFINED

_LITERAL = object()  # a string with nothing to interpolate


class Concat:
    """Text mixing literal parts and nodes; rendered by joining the parts' text."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Any, ...]):
        self.parts = parts


_TEMPLATES: dict[str, Any] = {}
_MAX_CACHED_LENGTH = 100_000  # longer strings are compiled on each render, not kept in memory


def compile_template(text: str) -> Any:
    """Cached compiled form of a string: ``_LITERAL``, a whole ``VarNode``/``ExprNode``, or
    a :class:`Concat`."""
    compiled = _TEMPLATES.get(text)
    if compiled is not None:
        return compiled
    if "{" not in text:
        return _LITERAL
    whole, parts = scan(text)
    if whole is not None:
        compiled = whole
    elif all(type(p) is str for p in parts):
        compiled = _LITERAL
    else:
        compiled = Concat(parts)
    if len(text) <= _MAX_CACHED_LENGTH:
        cache_put(_TEMPLATES, text, compiled)
    return compiled


def render_string(text: str, scope: Mapping[str, Any], env: Any, leave: bool, evalx: bool) -> Any:
    c = _TEMPLATES.get(text)
    if c is None:
        c = compile_template(text)
    if c is _LITERAL:
        return text
    tc = type(c)
    if tc is VarNode:
        path = c.path
        if path and c.error is None:
            v = lookup(scope, path)
        else:
            v = var_value(c, scope, env, leave, evalx)
        if v is UNDEFINED and leave:
            return "{{" + var_path_text(c, scope, env, leave, evalx) + "}}"
        return v
    if tc is ExprNode:
        if not evalx:
            return c.text
        v = expr_value(c, scope, env)
        if v is UNDEFINED and leave:
            return c.text
        return v
    return "".join([p if type(p) is str else part_text(p, scope, env, leave, evalx) for p in c.parts])


def walk(
    value: Any,
    scope: Mapping[str, Any],
    env: Any,
    leave: bool,
    evalx: bool,
    exclude: Collection[str],
) -> Any:
    t = type(value)
    if t is str:
        return render_string(value, scope, env, leave, evalx)
    if t is dict or (t is not list and t is not tuple and isinstance(value, Mapping)):
        if exclude:
            return {
                k: (v if k in exclude else walk(v, scope, env, leave, evalx, exclude))
                for k, v in value.items()
            }
        return {k: walk(v, scope, env, leave, evalx, exclude) for k, v in value.items()}
    if t is list or t is tuple:
        return [walk(v, scope, env, leave, evalx, exclude) for v in value]
    return value
