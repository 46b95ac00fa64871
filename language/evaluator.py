"""Compile parsed expressions into Python closures ``fn(scope, env) -> value``.

Programs are cached by source text (bounded). Variable nodes (``{{path}}``) and template
expression nodes (``{% %}``) are evaluated here too, so templates and expressions share
one lookup implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import parser as ast
from .calls import CallInfo
from .errors import InvalidVariableNameError
from .functions import FUNCTIONS
from .jsmodel import (
    embed_text,
    is_array,
    is_number,
    is_object,
    is_truthy,
    js_add,
    js_compare,
    js_div,
    js_mod,
    js_mul,
    js_neg,
    js_sub,
    js_to_string,
    loose_equals,
    norm_number,
    str_to_number,
    strict_equals,
    to_number,
)
from .limits import cache_put
from .paths import lookup, parse_variable_path, step
from .regex import search, split_literal
from .template import ExprNode, VarNode
from .undefined import UNDEFINED

Fn = Callable[[Any, Any], Any]


class Program:
    """A compiled expression: ``program.fn(scope, env)`` returns its value."""

    __slots__ = ("source", "fn", "ast")

    def __init__(self, source: str, tree: ast.Node, fn: Fn):
        self.source, self.ast, self.fn = source, tree, fn


_PROGRAMS: dict[str, Program] = {}


def get_program(source: str) -> Program:
    prog = _PROGRAMS.get(source)
    if prog is None:
        tree = ast.parse(source)
        prog = Program(source, tree, _compile(tree, source))
        cache_put(_PROGRAMS, source, prog)
    return prog


# ---------------------------------------------------------------- nodes shared with templates
def _fresh(err: InvalidVariableNameError) -> InvalidVariableNameError:
    return InvalidVariableNameError(err.message, expression=err.expression, position=err.position)


def var_path_text(node: VarNode, scope: Any, env: Any, leave: bool = False, evalx: bool = True) -> str:
    return "".join(p if type(p) is str else part_text(p, scope, env, leave, evalx) for p in node.parts)


def var_value(node: VarNode, scope: Any, env: Any, leave: bool = False, evalx: bool = True) -> Any:
    path = node.path
    if path is None:
        if node.error is not None:
            raise _fresh(node.error)
        text = var_path_text(node, scope, env, leave, evalx)
        if not text:
            return UNDEFINED
        try:
            path = parse_variable_path(text)
        except InvalidVariableNameError:
            return UNDEFINED
    elif not path:
        return UNDEFINED
    return lookup(scope, path)


def expr_value(node: ExprNode, scope: Any, env: Any) -> Any:
    prog = node.program
    if prog is None:
        prog = node.program = get_program(node.source)
    return prog.fn(scope, env)


def part_text(node: Any, scope: Any, env: Any, leave: bool = False, evalx: bool = True) -> str:
    """Text of a template node embedded in a larger string."""
    if type(node) is VarNode:
        v = var_value(node, scope, env, leave, evalx)
        if v is UNDEFINED and leave:
            return "{{" + var_path_text(node, scope, env, leave, evalx) + "}}"
        return embed_text(v)
    if not evalx:
        return node.text
    v = expr_value(node, scope, env)
    if v is UNDEFINED and leave:
        return node.text
    return embed_text(v)


def node_value(node: Any, scope: Any, env: Any) -> Any:
    if type(node) is VarNode:
        return var_value(node, scope, env)
    return expr_value(node, scope, env)


# ---------------------------------------------------------------- operators
def _parse_int(item: str) -> int | float:
    s = item.strip()
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s[:2].lower() == "0x":
        digits = ""
        for c in s[2:]:
            if c not in "0123456789abcdefABCDEF":
                break
            digits += c
        return sign * int(digits, 16) if digits else float("nan")
    j = 0
    while j < len(s) and s[j] in "0123456789":
        j += 1
    return sign * int(s[:j]) if 0 < j <= 300 else float("nan")


def js_in(left: Any, right: Any) -> bool:
    """``x in y``: comma-separated string items, array membership (strict) or object key."""
    if type(right) is str:
        items = right.split(",")
        if is_number(left):
            for it in items:
                n = str_to_number(it)
                if n == n and _parse_int(it) == left:
                    return True
            return False
        return any(strict_equals(left, it) for it in items)
    if is_array(right):
        return any(strict_equals(left, x) for x in right)
    if is_object(right):
        key = left if type(left) is str else js_to_string(left)
        try:
            return key in right
        except Exception:
            return False
    return False


def js_matches(left: Any, right: Any, source: str | None = None) -> bool:
    """``x matches y``: y a pattern string, a 1-element array (``regex(...)``, ``/pat/flags``
    allowed) or an array of 2+ patterns (any)."""
    if is_array(right):
        if len(right) == 1:
            pat, flags = split_literal(js_to_string(right[0]))
            return search(pat, flags, js_to_string(left), source)
        return any(js_matches(left, x, source) for x in right)
    if type(right) is str:
        return search(right, "", js_to_string(left), source)
    if is_number(right) or type(right) is bool:
        return search(js_to_string(right), "", js_to_string(left), source)
    return False


def _exists(v: Any) -> bool:
    return v is not None and v is not UNDEFINED


def _binary_ops(source: str) -> dict[str, Callable[[Any, Any], Any]]:
    return {
        "==": loose_equals,
        "!=": lambda a, b: not loose_equals(a, b),
        "===": strict_equals,
        "!==": lambda a, b: not strict_equals(a, b),
        "<": lambda a, b: js_compare(a, b, "<"),
        "<=": lambda a, b: js_compare(a, b, "<="),
        ">": lambda a, b: js_compare(a, b, ">"),
        ">=": lambda a, b: js_compare(a, b, ">="),
        "+": js_add,
        "-": js_sub,
        "*": js_mul,
        "/": js_div,
        "%": js_mod,
        "in": js_in,
        "not in": lambda a, b: not js_in(a, b),
        "matches": lambda a, b: js_matches(a, b, source),
        "not matches": lambda a, b: not js_matches(a, b, source),
    }


# ---------------------------------------------------------------- compiler
def _compile(n: ast.Node, src: str) -> Fn:
    t = type(n)
    if t is ast.Lit:
        value = n.value  # type: ignore[attr-defined]
        return lambda s, e: value
    if t is ast.UndefinedLit:
        return lambda s, e: UNDEFINED
    if t is ast.Var:
        return _compile_var(n.node)  # type: ignore[attr-defined]
    if t is ast.Chain:
        return _compile_chain(n, src)  # type: ignore[arg-type]
    if t is ast.Logic:
        return _compile_logic(n, src)  # type: ignore[arg-type]
    if t is ast.Unary:
        ops: list[str] = []
        while type(n) is ast.Unary:
            ops.append(n.op)  # type: ignore[attr-defined]
            n = n.operand  # type: ignore[attr-defined]
        return _compile_unary(ops, _compile(n, src))
    if t is ast.Call:
        return _compile_call(n, src)  # type: ignore[arg-type]
    if t is ast.Field:
        names: list[str] = []
        while type(n) is ast.Field:
            names.append(n.name)  # type: ignore[attr-defined]
            n = n.target  # type: ignore[attr-defined]
        names.reverse()
        target = _compile(n, src)
        if len(names) == 1:
            name = names[0]
            return lambda s, e: step(target(s, e), name)

        def fields(s: Any, e: Any) -> Any:
            v = target(s, e)
            for name in names:
                v = step(v, name)
            return v

        return fields
    if t is ast.ArrayLit:
        items = [_compile(x, src) for x in n.items]  # type: ignore[attr-defined]
        return lambda s, e: [f(s, e) for f in items]
    if t is ast.ObjectLit:
        entries = [(k, _compile(x, src)) for k, x in n.entries]  # type: ignore[attr-defined]
        return lambda s, e: {k: f(s, e) for k, f in entries}
    if t is ast.Regex:
        parts = n.parts  # type: ignore[attr-defined]
        if all(type(p) is str for p in parts):
            const = ["".join(parts)]
            return lambda s, e: list(const)
        return lambda s, e: ["".join(p if type(p) is str else embed_text(node_value(p, s, e)) for p in parts)]
    raise AssertionError(f"unknown node {n!r}")  # pragma: no cover


def _compile_var(node: VarNode) -> Fn:
    path = node.path
    if path is None or node.error is not None:
        return lambda s, e: var_value(node, s, e)
    if not path:
        return lambda s, e: UNDEFINED
    k0 = path[0] if type(path[0]) is str else str(path[0])
    rest = path[1:]
    if not rest:
        return lambda s, e: s.get(k0, UNDEFINED)
    if len(rest) == 1:
        k1 = rest[0]

        def get2(s: Any, e: Any) -> Any:
            v = s.get(k0, UNDEFINED)
            return UNDEFINED if v is UNDEFINED else step(v, k1)

        return get2
    return lambda s, e: lookup(s, path)


def _compile_unary(ops: list[str], operand: Fn) -> Fn:
    if len(ops) == 1:
        op = ops[0]
        if op == "!":
            return lambda s, e: not is_truthy(operand(s, e))
        if op == "-":
            return lambda s, e: js_neg(operand(s, e))
        return lambda s, e: norm_number(to_number(operand(s, e)))
    funcs = [_UNARY[op] for op in reversed(ops)]

    def run(s: Any, e: Any) -> Any:
        v = operand(s, e)
        for f in funcs:
            v = f(v)
        return v

    return run


_UNARY: dict[str, Callable[[Any], Any]] = {
    "!": lambda v: not is_truthy(v),
    "-": js_neg,
    "+": lambda v: norm_number(to_number(v)),
}


def _compile_chain(n: ast.Chain, src: str) -> Fn:
    ops = _binary_ops(src)
    first = _compile(n.first, src)
    steps: list[tuple[Callable[..., Any], Fn | None]] = []
    for op, operand in n.rest:
        if operand is None:
            steps.append((_exists if op == "exists" else _not_exists, None))
        else:
            steps.append((ops[op], _compile(operand, src)))
    if len(steps) == 1:
        f, g = steps[0]
        if g is None:
            return lambda s, e: f(first(s, e))
        return _bin(f, first, g)

    def run(s: Any, e: Any) -> Any:
        v = first(s, e)
        for f, g in steps:
            v = f(v) if g is None else f(v, g(s, e))
        return v

    return run


def _not_exists(v: Any) -> bool:
    return v is None or v is UNDEFINED


def _bin(op: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    return lambda s, e: op(left(s, e), right(s, e))


def _compile_logic(n: ast.Logic, src: str) -> Fn:
    fns = [_compile(x, src) for x in n.operands]
    is_and = n.op == "and"
    if len(fns) == 2:
        a, b = fns
        if is_and:

            def and2(s: Any, e: Any) -> Any:
                v = a(s, e)
                return b(s, e) if is_truthy(v) else v

            return and2

        def or2(s: Any, e: Any) -> Any:
            v = a(s, e)
            return v if is_truthy(v) else b(s, e)

        return or2

    def many(s: Any, e: Any) -> Any:
        v: Any = UNDEFINED
        for f in fns:
            v = f(s, e)
            if is_truthy(v) != is_and:
                return v
        return v

    return many


def _compile_call(n: ast.Call, src: str) -> Fn:
    impl = FUNCTIONS[n.name]
    args = [_compile(a, src) for a in n.args]
    info = CallInfo(
        n.name, n.field, n.pos, src, tuple(type(a) is ast.Lit and a.is_text for a in n.args)
    )
    return lambda s, e: impl([g(s, e) for g in args], info, s, e)
