"""Compile template text into parts: literal text, ``{{path}}`` and ``{% expr %}`` nodes.

The structure is found the way the reference platform scans templates (regex
``\\{%|%\\}|\\{\\{[^{}]*?\\}\\}``, innermost ``{{ }}`` first, ``{{ }}`` inside an open
``{% %}`` left to the expression engine, passes repeated until nothing matches), except
that what a node produces is never scanned again (DECISIONS row 7): each match is replaced
by an opaque placeholder, so the whole structure depends on the template text only and is
computed once per distinct text.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ExpressionLimitError, InvalidVariableNameError
from .limits import get_limits
from .paths import Path, parse_variable_path

SENT = "\x00"  # placeholder for a node (or a literal NUL of the source) in the working text
_TOKEN = re.compile(r"\{%|%\}|\{\{[^{}]*?\}\}")
_EXPR, _VAR = 0, 1

Part = Any  # str | VarNode | ExprNode


class VarNode:
    """``{{path}}``. ``parts`` mixes text and nested nodes (``{{a[{{b}}]}}``)."""

    __slots__ = ("parts", "path", "error", "text")

    def __init__(self, parts: tuple[Part, ...], text: str):
        self.parts = parts
        self.text = text  # the source text, braces included
        self.path: Path | None = None
        self.error: InvalidVariableNameError | None = None
        if all(type(p) is str for p in parts):
            content = "".join(parts)
            if content == "":
                self.path = ()
            else:
                try:
                    self.path = parse_variable_path(content)
                except InvalidVariableNameError as exc:
                    self.error = exc

    def __repr__(self) -> str:
        return f"VarNode({self.text!r})"


class ExprNode:
    """``{% source %}``; ``program`` is filled lazily with the compiled expression."""

    __slots__ = ("source", "text", "program")

    def __init__(self, source: str):
        self.source = source
        self.text = "{%" + source + "%}"
        self.program: Any = None

    def __repr__(self) -> str:
        return f"ExprNode({self.text!r})"


def _find(work: str) -> list[tuple[int, int, int]]:
    exprs: list[tuple[int, int, int]] = []
    variables: list[tuple[int, int, int]] = []
    opened = -1
    nested = 0
    for m in _TOKEN.finditer(work):
        tok = m.group()
        if tok[1] == "{":
            if opened < 0:
                variables.append((m.start(), m.end(), _VAR))
        elif tok == "{%":
            if opened < 0:
                opened, nested = m.start(), 0
            else:
                nested += 1
        elif opened >= 0:
            if nested == 0:
                exprs.append((opened, m.end(), _EXPR))
                opened = -1
            else:
                nested -= 1
    return exprs + variables


def _split(work: str, nodes: list[Part]) -> tuple[Part, ...]:
    """Working text + placeholder nodes -> merged parts."""
    out: list[Part] = []
    chunks = work.split(SENT)
    buf = chunks[0]
    for node, chunk in zip(nodes, chunks[1:], strict=True):
        if type(node) is str:
            buf += node + chunk
        else:
            if buf:
                out.append(buf)
            out.append(node)
            buf = chunk
    if buf:
        out.append(buf)
    return tuple(out)


def _restore(work: str, nodes: list[Part]) -> str:
    if not nodes:
        return work
    return "".join(p if type(p) is str else p.text for p in _split(work, nodes))


def _make(inner: str, nodes: list[Part], kind: int) -> Part:
    if kind == _EXPR:
        return ExprNode(_restore(inner[2:-2], nodes))
    parts = _split(inner[2:-2], nodes)
    return VarNode(parts, _restore(inner, nodes))


def scan(text: str) -> tuple[Part | None, tuple[Part, ...]]:
    """Return ``(whole_node, parts)``: ``whole_node`` is set when one ``{{ }}`` or ``{% %}``
    spans the entire text (its value keeps its type); otherwise ``parts`` lists text and nodes."""
    limits = get_limits()
    if len(text) > limits.max_template_length:
        raise ExpressionLimitError(
            f"Template longer than {limits.max_template_length} characters",
            expression=text[:200],
            position=limits.max_template_length,
        )
    work = text
    nodes: list[Part] = [SENT] * text.count(SENT)
    passes = 0
    while True:
        matches = _find(work)
        if not matches:
            return None, _split(work, nodes)
        passes += 1
        if passes > limits.max_nesting_depth:
            raise ExpressionLimitError(
                f"Template nesting deeper than {limits.max_nesting_depth}",
                expression=text[:200],
                position=0,
            )
        if len(matches) == 1 and matches[0][0] == 0 and matches[0][1] == len(work):
            return _make(work, nodes, matches[0][2]), ()
        matches.sort()
        new_work: list[str] = []
        new_nodes: list[Part] = []
        pos = ni = 0
        for start, end, kind in matches:
            seg = work[pos:start]
            c = seg.count(SENT)
            new_work.append(seg)
            new_nodes.extend(nodes[ni : ni + c])
            ni += c
            inner = work[start:end]
            c = inner.count(SENT)
            new_nodes.append(_make(inner, nodes[ni : ni + c], kind))
            ni += c
            new_work.append(SENT)
            pos = end
        new_work.append(work[pos:])
        new_nodes.extend(nodes[ni:])
        work = "".join(new_work)
        nodes = new_nodes


def compile_parts(text: str) -> tuple[Part, ...]:
    """Parts of a text that is always used as text (variable paths inside expressions,
    ``regex(...)`` raw text)."""
    whole, parts = scan(text)
    return (whole,) if whole is not None else parts
