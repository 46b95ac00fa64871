"""Tokenizer of the expression language.

Keywords (case-insensitive, whole words only): ``and or not equals matches in exists
true false null undefined``. A word directly followed by ``(`` is a function call;
``regex(`` switches to raw mode up to the matching ``)``. ``{{ }}`` is a variable whose
content is a (possibly nested) variable path; ``{%`` / ``%}`` delimit nested expressions;
``[ ]`` and ``{ }`` delimit array and object literals (inside braces ``:`` separates a key from
its value, elsewhere it is part of a word such as ``HH:mm``).

``tokenize(src)`` raises on the first error. The import check passes ``issues``: unknown
functions and operators such as ``+++`` are then recorded there and tokenized as if they were
valid, so one pass finds every such mistake (other errors still raise).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .errors import syntax_error
from .functions import FUNCTION_NAMES, unknown_function_message
from .template import VarNode, compile_parts

KEYWORDS = frozenset(
    ["and", "or", "not", "equals", "matches", "in", "exists", "true", "false", "null", "undefined"]
)


class LexIssue(NamedTuple):
    """A mistake found while tokenizing in collecting mode (``pos`` is 0-based in the source)."""

    pos: int
    kind: str  # "unknown-function" | "invalid-operator"
    message: str


_SPECIAL = set("()[]{},\"'!=<>+-*/%&|.")
_OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "&&", "||", "=", "<", ">", "!", "+", "-", "*", "/", "%")
_DIGITS = set("0123456789")
_WORD_EXTRA = set("0123456789-./")
_BRACKETS = frozenset("[]{}")


class Token:
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind: str, value: Any, pos: int):
        self.kind = kind  # NUM STR WORD KW CALL REGEX VAR LEXPR REXPR ( ) , . [ ] { } : OP EOF
        self.value = value
        self.pos = pos

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.value!r}, {self.pos})"


def _is_word_start(c: str) -> bool:
    return not c.isspace() and c not in _SPECIAL and c not in _DIGITS


def _is_word_char(c: str) -> bool:
    return c in _WORD_EXTRA or _is_word_start(c)


def _match_braces(src: str, i: int) -> int:
    """``src[i:i+2] == "{{"``: index just after the matching ``}}``, or -1."""
    n = len(src)
    depth = 0
    j = i
    while j < n:
        if src.startswith("{{", j):
            depth += 1
            j += 2
        elif src.startswith("}}", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return -1


def _raw_regex_end(src: str, i: int) -> int:
    """``i`` just after ``regex(``: index of the matching ``)``, or -1."""
    n = len(src)
    depth = 1
    j = i
    while j < n:
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c == "{" and src.startswith("{{", j):
            end = _match_braces(src, j)
            if end < 0:
                return -1
            j = end
            continue
        if c == "[":
            j += 1
            while j < n and src[j] != "]":
                j += 2 if src[j] == "\\" else 1
            j += 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _operator_run(src: str, i: int) -> str:
    """The run of ``+``/``-`` starting at ``i`` (``+++`` in ``a +++ b``)."""
    j = i
    while j < len(src) and src[j] in "+-":
        j += 1
    return src[i:j]


def tokenize(src: str, issues: list[LexIssue] | None = None) -> list[Token]:
    toks: list[Token] = []
    n = len(src)
    i = 0
    braces = 0  # open object literals: inside them ':' is a separator, not part of a word
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
            continue
        if c == "{":
            if src.startswith("{{", i):
                end = _match_braces(src, i)
                if end < 0:
                    raise syntax_error("Unclosed '{{'", src, i)
                toks.append(Token("VAR", VarNode(compile_parts(src[i + 2 : end - 2]), src[i:end]), i))
                i = end
                continue
            if src.startswith("{%", i):
                toks.append(Token("LEXPR", "{%", i))
                i += 2
                continue
            braces += 1
        if c in _BRACKETS or (c == ":" and braces):
            if c == "}":
                braces = max(braces - 1, 0)
            toks.append(Token(c, c, i))
            i += 1
            continue
        if c == "%" and src.startswith("%}", i):
            toks.append(Token("REXPR", "%}", i))
            i += 2
            continue
        if c == '"' or c == "'":
            end = src.find(c, i + 1)
            if end < 0:
                raise syntax_error("Unterminated string", src, i)
            toks.append(Token("STR", src[i + 1 : end], i))
            i = end + 1
            continue
        if c in _DIGITS:
            j = i
            while j < n and src[j] in _DIGITS:
                j += 1
            is_float = False
            if j + 1 < n and src[j] == "." and src[j + 1] in _DIGITS:
                is_float = True
                j += 1
                while j < n and src[j] in _DIGITS:
                    j += 1
            if j < n and src[j] in "eE":
                k = j + 1
                if k < n and src[k] in "+-":
                    k += 1
                if k < n and src[k] in _DIGITS:
                    is_float = True
                    j = k
                    while j < n and src[j] in _DIGITS:
                        j += 1
            text = src[i:j]
            value: Any
            if is_float:
                value = float(text)
                if value == int(value) and abs(value) <= 2**53:
                    value = int(value)
            else:
                value = int(text) if len(text) <= 16 else float(text)
            toks.append(Token("NUM", value, i))
            i = j
            continue
        if c in "()," or c == ".":
            toks.append(Token(c, c, i))
            i += 1
            continue
        if _is_word_start(c):
            j = i + 1
            while j < n and _is_word_char(src[j]) and not (braces and src[j] == ":"):
                j += 1
            word = src[i:j]
            low = word.lower()
            k = j
            while k < n and src[k].isspace():
                k += 1
            if low in KEYWORDS:
                toks.append(Token("KW", low, i))
                i = j
                continue
            if k < n and src[k] == "(":
                if low == "regex":
                    end = _raw_regex_end(src, k + 1)
                    if end < 0:
                        raise syntax_error("Unclosed 'regex('", src, i)
                    toks.append(Token("REGEX", compile_parts(src[k + 1 : end]), i))
                    i = end + 1
                    continue
                name = FUNCTION_NAMES.get(low)
                if name is None:
                    message = unknown_function_message(word)
                    if issues is None:
                        raise syntax_error(message, src, i)
                    kind = "unsupported-function" if message.startswith("unsupported") else "unknown-function"
                    issues.append(LexIssue(i, kind, message))
                    name = word
                toks.append(Token("CALL", name, i))
                i = k + 1
                continue
            toks.append(Token("WORD", word, i))
            i = j
            continue
        if src.startswith(("++", "--"), i):  # no increments: '+++' would silently be '+ + +'
            run = _operator_run(src, i)
            message = f"'{run}' is not an operator"
            if issues is None:
                raise syntax_error(message, src, i)
            issues.append(LexIssue(i, "invalid-operator", message))
            toks.append(Token("OP", run[0], i))
            i += len(run)
            continue
        for op in _OPERATORS:
            if src.startswith(op, i):
                toks.append(Token("OP", op, i))
                i += len(op)
                break
        else:
            raise syntax_error(f"Unexpected character {c!r}", src, i)
    toks.append(Token("EOF", None, n))
    return toks
