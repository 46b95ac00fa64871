"""The import-time check of templates and conditions: what cannot run, found before it runs.

``template_problems(text)`` checks a string value of a workspace (where ``{{ }}`` and ``{% %}``
are interpolated); ``expression_problems(expr)`` checks a ``conditions`` key (an expression
without ``{% %}``). Both are pure, never raise, and report every problem of the string with
its 1-based column.

Reported: an unclosed ``{{`` or ``{%`` (the runtime leaves them as literal text, as the
reference platform does, so only the import can catch them), an invalid variable path, a
syntax error, an unknown or unsupported function (with the nearest name), ``+++``/``--``, and,
inside ``{% %}`` of a template, a bare name (``{% myVar + 1 %}``: the runtime reads ``myVar`` as
the text "myVar", documented behaviour that conditions rely on — ``bonjour``,
``salut !== aurevoir`` — but inside a template it is nearly always a forgotten ``{{ }}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import parser as ast
from .errors import ExpressionError, InvalidExpressionSyntax
from .lexer import LexIssue
from .limits import get_limits
from .template import ExprNode, VarNode, scan

_DELIMITERS = re.compile(r"\{\{|\}\}|\{%|%\}")
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "**"})
#: functions whose first argument, written as a bare word, is a variable path by design
_PATH_ARGUMENT_FUNCTIONS = frozenset(["isArray", "isObject"])


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One mistake in a template or condition. ``column`` is 1-based in the checked string."""

    column: int
    message: str
    #: unclosed-variable | unclosed-expression | invalid-path | syntax | unknown-function |
    #: unsupported-function | invalid-operator | bare-name | limit
    kind: str


def template_problems(text: str) -> list[TemplateProblem]:
    """Every problem of a string value (``{{ }}`` and ``{% %}`` templates), by column."""
    if type(text) is not str or ("{{" not in text and "{%" not in text):
        return []
    out: list[TemplateProblem] = []
    try:
        whole, parts = scan(text)
    except ExpressionError as exc:
        return [TemplateProblem(1, _reason(exc), "limit")]
    _check_parts((whole,) if whole is not None else parts, 0, out, bare_names=True, literal_text=True)
    return sorted(out, key=lambda p: p.column)


def expression_problems(expression: str) -> list[TemplateProblem]:
    """Every problem of a condition expression (a ``conditions`` key), by column.

    Bare words are allowed here: in a condition they are documented text literals."""
    if type(expression) is not str:
        return [TemplateProblem(1, "a condition must be a string", "syntax")]
    out: list[TemplateProblem] = []
    _check_expression(expression, 0, out, bare_names=False)
    return sorted(out, key=lambda p: p.column)


# ---------------------------------------------------------------- templates
def _check_parts(parts: Any, offset: int, out: list[TemplateProblem], bare_names: bool,
                 literal_text: bool) -> None:
    """Check template parts laid end to end from ``offset`` (their texts rebuild the source)."""
    pos = offset
    for part in parts:
        if type(part) is str:
            if literal_text:
                _check_text(part, pos, out)
            pos += len(part)
        elif type(part) is VarNode:
            _check_variable(part, pos, out, bare_names)
            pos += len(part.text)
        elif type(part) is ExprNode:
            _check_expression(part.source, pos + 2, out, bare_names)
            pos += len(part.text)


def _check_text(text: str, offset: int, out: list[TemplateProblem]) -> None:
    """Literal text: a ``{{`` or ``{%`` left in it was never closed."""
    open_vars: list[int] = []
    open_exprs: list[int] = []
    for m in _DELIMITERS.finditer(text):
        token = m.group()
        if token == "{{":
            open_vars.append(m.start())
        elif token == "{%":
            open_exprs.append(m.start())
        elif token == "}}" and open_vars:
            open_vars.pop()
        elif token == "%}" and open_exprs:
            open_exprs.pop()
    for at in open_vars:
        column = offset + at + 1
        out.append(TemplateProblem(column, f"unclosed '{{{{' opened at column {column}: close it with '}}}}'",
                                   "unclosed-variable"))
    for at in open_exprs:
        column = offset + at + 1
        out.append(TemplateProblem(column, f"unclosed '{{%' opened at column {column}: close it with '%}}'",
                                   "unclosed-expression"))


def _check_variable(node: VarNode, offset: int, out: list[TemplateProblem], bare_names: bool) -> None:
    if node.error is not None:
        position = node.error.position or 0
        out.append(TemplateProblem(offset + 2 + position + 1, _reason(node.error), "invalid-path"))
    _check_parts(node.parts, offset + 2, out, bare_names, literal_text=False)


# ---------------------------------------------------------------- expressions
def _check_expression(source: str, offset: int, out: list[TemplateProblem], bare_names: bool) -> None:
    limit = get_limits().max_expression_length
    if len(source) > limit:
        out.append(TemplateProblem(offset + 1, f"expression longer than {limit} characters", "limit"))
        return
    issues: list[LexIssue] = []
    try:
        tree = ast.Parser(source, issues).parse()
    except InvalidExpressionSyntax as exc:
        _add_issues(issues, offset, out)
        column = offset + (exc.position or 0) + 1
        reason, kind = _reason(exc), "syntax"
        if reason == "unclosed '{{'":
            reason, kind = f"unclosed '{{{{' opened at column {column}: close it with '}}}}'", "unclosed-variable"
        if not any(p.column == column for p in out):  # the same spot is already explained
            out.append(TemplateProblem(column, reason, kind))
        return
    except ExpressionError as exc:  # nesting too deep
        _add_issues(issues, offset, out)
        out.append(TemplateProblem(offset + (exc.position or 0) + 1, _reason(exc), "limit"))
        return
    _add_issues(issues, offset, out)
    _check_tree(tree, source, offset, out, bare_names, path_argument=False)


def _add_issues(issues: list[LexIssue], offset: int, out: list[TemplateProblem]) -> None:
    out.extend(TemplateProblem(offset + issue.pos + 1, issue.message, issue.kind) for issue in issues)


def _check_tree(node: ast.Node, source: str, offset: int, out: list[TemplateProblem], bare_names: bool,
                path_argument: bool) -> None:
    t = type(node)
    if t is ast.Lit:
        if bare_names and node.word and not path_argument:  # type: ignore[attr-defined]
            word = node.value  # type: ignore[attr-defined]
            out.append(TemplateProblem(
                offset + node.pos + 1,
                f"'{word}' is a bare name: write {{{{{word}}}}} for a variable, or \"{word}\" for text",
                "bare-name"))
        return
    if t is ast.Var:
        _check_variable(node.node, offset + node.pos, out, bare_names)  # type: ignore[attr-defined]
        return
    if t is ast.Regex:
        raw_start = source.find("(", node.pos) + 1
        _check_parts(node.parts, offset + raw_start, out, bare_names, literal_text=False)  # type: ignore[attr-defined]
        return
    if t is ast.Call:
        path_first = node.name in _PATH_ARGUMENT_FUNCTIONS  # type: ignore[attr-defined]
        for i, sub in enumerate(node.args):  # type: ignore[attr-defined]
            _check_tree(sub, source, offset, out, bare_names, path_argument=path_first and i == 0)
        return
    if t is ast.Logic or (t is ast.Chain and not any(op in _ARITHMETIC for op, _ in node.rest)):  # type: ignore[attr-defined]
        # A bare word compared or combined (`{{mode}} == global`, `a or b`) is documented text:
        # only one in arithmetic (`myVar + 1`) or standing alone is a forgotten {{ }}.
        bare_names = False
    for sub in _children(node):
        _check_tree(sub, source, offset, out, bare_names, path_argument=False)


def _children(node: ast.Node) -> list[ast.Node]:
    t = type(node)
    if t is ast.Unary:
        return [node.operand]  # type: ignore[attr-defined]
    if t is ast.Logic:
        return list(node.operands)  # type: ignore[attr-defined]
    if t is ast.Chain:
        return [node.first, *(x for _, x in node.rest if x is not None)]  # type: ignore[attr-defined]
    if t is ast.Field:
        return [node.target]  # type: ignore[attr-defined]
    if t is ast.ArrayLit:
        return list(node.items)  # type: ignore[attr-defined]
    if t is ast.ObjectLit:
        return [x for _, x in node.entries]  # type: ignore[attr-defined]
    return []


def _reason(exc: ExpressionError) -> str:
    """The error's message without the "at position N in expression ..." tail, lower-cased."""
    reason = getattr(exc, "reason", None) or exc.message
    reason = re.sub(r" at position \d+$", "", reason)
    return reason[:1].lower() + reason[1:]
