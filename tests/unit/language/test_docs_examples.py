"""Every example table of docs/language.md is executed here, so the documentation cannot drift.

A table is an example table when its first header cell is one of ``Expression``, ``Condition``,
``Template``, ``Template (JSON)``, ``Template (leave)``, ``Template (config)`` or
``Template (JSON, exclude do)``, with the columns input / scope / result. Cells are code spans
(``|`` escaped as ``\\|``); the scope is JSON; the result is JSON, ``undefined`` or
``error: <ErrorName>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from language import UNDEFINED, ExpressionError, evaluate, evaluate_condition, render

from .helpers import fixed_env, matches_expected

DOC = Path(__file__).resolve().parents[3] / "docs" / "language.md"
KINDS = {
    "Expression": "expression",
    "Condition": "condition",
    "Template": "template",
    "Template (JSON)": "template-json",
    "Template (leave)": "template-leave",
    "Template (config)": "template-config",
    "Template (JSON, exclude do)": "template-json-exclude",
}
_SPLIT = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in _SPLIT.split(inner)]


def _code(cell: str) -> str:
    if cell.startswith("``") and cell.endswith("``"):
        return cell[2:-2].strip()
    if cell.startswith("`") and cell.endswith("`"):
        return cell[1:-1]
    raise AssertionError(f"cell is not a code span: {cell!r}")


def load_examples() -> list[tuple[str, int, str, str, str]]:
    examples = []
    kind = None
    for lineno, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("|"):
            kind = None
            continue
        cells = _cells(line)
        if kind is None:
            kind = KINDS.get(cells[0], "")
            continue
        if not kind or set(cells[0]) <= {"-", " ", ":"}:
            continue
        examples.append((kind, lineno, _code(cells[0]), _code(cells[1]), _code(cells[2])))
    return examples


EXAMPLES = load_examples()


def test_docs_have_examples_for_every_function_and_operator() -> None:
    text = "\n".join(e[2] for e in EXAMPLES)
    for word in ["date(", "URLSearchParams(", "isArray(", "isObject(", "rand(", "round(", "floor(",
                 "ceil(", "split(", "join(", "json(", "replace(", "slice(", "jsonmatch(", "regex(",
                 " and ", "&&", " or ", "||", "not ", "!", "==", " = ", "equals", "===", "!=", "!==",
                 "not equals", "matches", "not matches", " in ", "not in", "exists", "not exists",
                 " < ", "<=", " > ", ">=", "+", " - ", "*", "/", "%", "(", "{%"]:
        assert word in text, f"no documented example uses {word!r}"
    assert len(EXAMPLES) > 150


@pytest.mark.parametrize(
    ("kind", "lineno", "source", "scope", "result"),
    EXAMPLES,
    ids=[f"line{e[1]}" for e in EXAMPLES],
)
def test_documented_example(kind: str, lineno: int, source: str, scope: str, result: str) -> None:
    env = fixed_env()
    ctx = json.loads(scope)
    if kind == "expression":
        run = lambda: evaluate(source, ctx, env=env)  # noqa: E731
    elif kind == "condition":
        run = lambda: evaluate_condition(source, ctx, env=env)  # noqa: E731
    else:
        value: Any = json.loads(source) if "json" in kind else source
        kw: dict[str, Any] = {}
        if kind.endswith("leave"):
            kw["undefined_vars"] = "leave"
        if kind.endswith("config"):
            kw.update(undefined_vars="leave", eval_expressions=False)
        if kind.endswith("exclude"):
            kw["exclude"] = {"do"}
        run = lambda: render(value, ctx, env=env, **kw)  # noqa: E731
    if result.startswith("error: "):
        with pytest.raises(ExpressionError) as info:
            run()
        assert type(info.value).__name__ == result[len("error: ") :]
        return
    actual = run()
    if result == "undefined":
        assert actual is UNDEFINED, f"line {lineno}: got {actual!r}"
        return
    assert matches_expected(actual, json.loads(result)), f"line {lineno}: got {actual!r}"
