"""Recursive-descent parser producing a small AST.

Grammar (lowest to highest precedence; DECISIONS row 5: ``not`` > ``and`` > ``or``,
all binary operators left-associative)::

    expr       := and_expr (("or" | "||") and_expr)*
    and_expr   := not_expr (("and" | "&&") not_expr)*
    not_expr   := "not" not_expr | equality
    equality   := relational ( EQOP relational | "exists" | "not" "exists" )*
                  EQOP: == = equals === != !== "not equals" matches "not matches" in "not in"
    relational := additive (("<" | "<=" | ">" | ">=") additive)*
    additive   := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "%") unary)*
    unary      := ("!" | "-" | "+") unary | postfix
    postfix    := primary ("." WORD)*
    primary    := NUMBER | STRING | WORD | true | false | null | undefined | {{path}}
                | "{%" expr "%}" | "(" expr ")" | regex(raw) | NAME "(" [expr ("," expr)*] ")"
                | "[" [expr ("," expr)* [","]] "]"
                | "{" [key ":" expr ("," key ":" expr)* [","]] "}"       key := STRING | WORD | NUMBER
"""

from __future__ import annotations

from typing import Any

from .errors import ExpressionLimitError, syntax_error
from .jsmodel import js_to_string
from .lexer import LexIssue, Token, tokenize
from .limits import get_limits

EQ_OPS = {"==": "==", "=": "==", "equals": "==", "===": "===", "!=": "!=", "!==": "!==",
          "matches": "matches", "in": "in"}
NEGATED = {"==": "!=", "matches": "not matches", "in": "not in", "===": "!=="}
LITERAL_KW = {"true": True, "false": False, "null": None}


class Node:
    __slots__ = ("pos",)
    pos: int


class Lit(Node):
    """A literal; ``is_text`` for strings, ``word`` for unquoted words (``bonjour``)."""

    __slots__ = ("value", "is_text", "word")

    def __init__(self, value: Any, pos: int, is_text: bool = False, word: bool = False):
        self.value, self.pos, self.is_text, self.word = value, pos, is_text, word


class UndefinedLit(Node):
    __slots__ = ()

    def __init__(self, pos: int):
        self.pos = pos


class Var(Node):
    __slots__ = ("node",)

    def __init__(self, node: Any, pos: int):
        self.node, self.pos = node, pos


class Regex(Node):
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Any, ...], pos: int):
        self.parts, self.pos = parts, pos


class Unary(Node):
    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Node, pos: int):
        self.op, self.operand, self.pos = op, operand, pos


class Logic(Node):
    """``op`` is ``and`` or ``or``; n-ary, evaluated left to right with JS short-circuit."""

    __slots__ = ("op", "operands")

    def __init__(self, op: str, operands: list[Node], pos: int):
        self.op, self.operands, self.pos = op, operands, pos


class Chain(Node):
    """Left-associative chain ``first op1 x1 op2 x2 ...``; postfix ops have ``None`` operands."""

    __slots__ = ("first", "rest")

    def __init__(self, first: Node, rest: list[tuple[str, Node | None]], pos: int):
        self.first, self.rest, self.pos = first, rest, pos


class Call(Node):
    __slots__ = ("name", "args", "field")

    def __init__(self, name: str, args: list[Node], pos: int):
        self.name, self.args, self.field, self.pos = name, args, None, pos


class ArrayLit(Node):
    __slots__ = ("items",)

    def __init__(self, items: list[Node], pos: int):
        self.items, self.pos = items, pos


class ObjectLit(Node):
    """``{key: value, ...}``; keys are texts (a later duplicate key wins)."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[tuple[str, Node]], pos: int):
        self.entries, self.pos = entries, pos


class Field(Node):
    __slots__ = ("target", "name")

    def __init__(self, target: Node, name: str, pos: int):
        self.target, self.name, self.pos = target, name, pos


class Parser:
    def __init__(self, source: str, issues: list[LexIssue] | None = None):
        self.src = source
        self.toks: list[Token] = tokenize(source, issues)
        self.i = 0
        self.depth = 0
        self.max_depth = get_limits().max_nesting_depth

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def advance(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, message: str, tok: Token | None = None) -> Exception:
        tok = tok or self.tok
        return syntax_error(message, self.src, tok.pos)

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"Expected {what}, found {self.describe(self.tok)}")
        return self.advance()

    @staticmethod
    def describe(tok: Token) -> str:
        if tok.kind == "EOF":
            return "end of expression"
        if tok.kind == "VAR":
            return "a variable"
        return repr(tok.value)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise ExpressionLimitError(
                f"Expression nesting deeper than {self.max_depth}",
                expression=self.src,
                position=self.tok.pos,
            )

    # -- grammar
    def parse(self) -> Node:
        if self.tok.kind == "EOF":
            raise self.error("Empty expression")
        node = self.expr()
        if self.tok.kind != "EOF":
            raise self.error(f"Unexpected {self.describe(self.tok)}")
        return node

    def is_kw(self, *words: str, tok: Token | None = None) -> bool:
        t = tok or self.tok
        return t.kind == "KW" and t.value in words

    def expr(self) -> Node:
        self.enter()
        pos = self.tok.pos
        operands = [self.and_expr()]
        while self.is_kw("or") or (self.tok.kind == "OP" and self.tok.value == "||"):
            self.advance()
            operands.append(self.and_expr())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else Logic("or", operands, pos)

    def and_expr(self) -> Node:
        pos = self.tok.pos
        operands = [self.not_expr()]
        while self.is_kw("and") or (self.tok.kind == "OP" and self.tok.value == "&&"):
            self.advance()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else Logic("and", operands, pos)

    def not_expr(self) -> Node:
        nots: list[int] = []
        while self.is_kw("not"):
            nots.append(self.advance().pos)
        node = self.equality()
        for pos in reversed(nots):
            node = Unary("!", node, pos)
        return node

    def equality(self) -> Node:
        pos = self.tok.pos
        first = self.relational()
        rest: list[tuple[str, Node | None]] = []
        while True:
            t = self.tok
            if t.kind == "OP" and t.value in EQ_OPS:
                self.advance()
                rest.append((EQ_OPS[t.value], self.relational()))
            elif self.is_kw("equals", "matches", "in"):
                self.advance()
                rest.append((EQ_OPS[t.value], self.relational()))
            elif self.is_kw("exists"):
                self.advance()
                rest.append(("exists", None))
            elif self.is_kw("not") and self.is_kw("equals", "matches", "in", "exists", tok=self.peek()):
                self.advance()
                word = self.advance().value
                if word == "exists":
                    rest.append(("not exists", None))
                else:
                    rest.append((NEGATED[EQ_OPS[word]], self.relational()))
            else:
                break
        return Chain(first, rest, pos) if rest else first

    def _binary(self, ops: tuple[str, ...], sub: Any) -> Node:
        pos = self.tok.pos
        first = sub()
        rest: list[tuple[str, Node | None]] = []
        while self.tok.kind == "OP" and self.tok.value in ops:
            op = self.advance().value
            rest.append((op, sub()))
        return Chain(first, rest, pos) if rest else first

    def relational(self) -> Node:
        return self._binary(("<", "<=", ">", ">="), self.additive)

    def additive(self) -> Node:
        return self._binary(("+", "-"), self.term)

    def term(self) -> Node:
        return self._binary(("*", "/", "%"), self.unary)

    def unary(self) -> Node:
        ops: list[Token] = []
        while self.tok.kind == "OP" and self.tok.value in ("!", "-", "+"):
            ops.append(self.advance())
        node = self.postfix()
        for t in reversed(ops):
            node = Unary(t.value, node, t.pos)
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while self.tok.kind == ".":
            dot = self.advance()
            t = self.tok
            if t.kind not in ("WORD", "KW"):
                raise self.error("Expected a field name after '.'")
            self.advance()
            if isinstance(node, Call) and node.field is None and node.name in ("date", "URLSearchParams"):
                node.field = t.value if t.kind == "WORD" else t.value
            else:
                node = Field(node, t.value, dot.pos)
        return node

    def primary(self) -> Node:
        t = self.tok
        k = t.kind
        if k == "NUM":
            self.advance()
            return Lit(t.value, t.pos)
        if k == "STR":
            self.advance()
            return Lit(t.value, t.pos, is_text=True)
        if k == "WORD":
            self.advance()
            return Lit(t.value, t.pos, is_text=True, word=True)
        if k == "KW":
            if t.value in LITERAL_KW:
                self.advance()
                return Lit(LITERAL_KW[t.value], t.pos)
            if t.value == "undefined":
                self.advance()
                return UndefinedLit(t.pos)
            raise self.error(f"Unexpected keyword {t.value!r}")
        if k == "VAR":
            self.advance()
            return Var(t.value, t.pos)
        if k == "REGEX":
            self.advance()
            return Regex(t.value, t.pos)
        if k == "(":
            self.advance()
            node = self.expr()
            self.expect(")", "')'")
            return node
        if k == "LEXPR":
            self.advance()
            node = self.expr()
            self.expect("REXPR", "'%}'")
            return node
        if k == "CALL":
            self.advance()
            self.enter()
            args: list[Node] = []
            if self.tok.kind != ")":
                args.append(self.expr())
                while self.tok.kind == ",":
                    self.advance()
                    args.append(self.expr())
            self.expect(")", "')' or ','")
            self.depth -= 1
            return Call(t.value, args, t.pos)
        if k == "[":
            self.advance()
            self.enter()
            items = self.items("]", self.expr)
            self.depth -= 1
            return ArrayLit(items, t.pos)
        if k == "{":
            self.advance()
            self.enter()
            entries = self.items("}", self.entry)
            self.depth -= 1
            return ObjectLit(entries, t.pos)
        raise self.error(f"Unexpected {self.describe(t)}")

    def items(self, close: str, item: Any) -> list[Any]:
        """Comma-separated items up to ``close`` (a trailing comma is allowed, as in JavaScript)."""
        out: list[Any] = []
        while self.tok.kind != close:
            out.append(item())
            if self.tok.kind != ",":
                break
            self.advance()
        self.expect(close, f"',' or '{close}'")
        return out

    def entry(self) -> tuple[str, Node]:
        t = self.tok
        if t.kind in ("STR", "WORD", "KW"):
            key = t.value if t.kind != "KW" else self.src[t.pos : t.pos + len(t.value)]
        elif t.kind == "NUM":
            key = js_to_string(t.value)
        else:
            raise self.error(f"Expected a key (a name or a quoted string), found {self.describe(t)}")
        self.advance()
        self.expect(":", "':' after the key")
        return key, self.expr()


def parse(source: str) -> Node:
    limits = get_limits()
    if len(source) > limits.max_expression_length:
        raise ExpressionLimitError(
            f"Expression longer than {limits.max_expression_length} characters",
            expression=source[:200],
            position=limits.max_expression_length,
        )
    return Parser(source).parse()
