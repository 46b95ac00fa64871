"""The function catalog as a whole: docs/language-functions.md documents every function with an
example that is executed here, every function has conformance-style cases in the
``test_functions_*`` tables, names are unique whatever their case, and the examples pass the
import check."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from language import FUNCTION_LIST, UNDEFINED, evaluate, template_problems
from language.functions import FUNCTION_NAMES, FUNCTIONS

from . import test_functions_data, test_functions_numbers, test_functions_text
from .helpers import fixed_env

DOC = Path(__file__).resolve().parents[3] / "docs" / "language-functions.md"
DOC_SCOPE: dict[str, Any] = {"name": "Ada Lovelace", "list": [3, 1, 2], "obj": {"a": 1, "b": {"c": 2}},
                             "url": "https://www.example.com/path/?q=tea&lang=en"}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip()[1:-1].split(" | ")]


def _code(cell: str) -> str:
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell[1:-1]


def doc_rows() -> list[tuple[int, str | None, str, str]]:
    """(line, function name or None, example, result) of every example table of the page."""
    rows: list[tuple[int, str | None, str, str]] = []
    header: list[str] | None = None
    for lineno, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        if set(cells[0]) <= {"-", " "}:
            continue
        if header[0] == "Function":
            rows.append((lineno, _code(cells[0]), _code(cells[2]), _code(cells[3])))
        elif header[0] == "Example":
            rows.append((lineno, None, _code(cells[0]), _code(cells[1])))
    return rows


ROWS = doc_rows()


def test_every_function_is_documented_once() -> None:
    documented = [name for _, name, _, _ in ROWS if name is not None]
    assert sorted(documented, key=str.lower) == list(FUNCTION_LIST)


@pytest.mark.parametrize(("lineno", "name", "example", "result"), ROWS)
def test_documented_example(lineno: int, name: str | None, example: str, result: str) -> None:
    if name is not None:
        assert name.lower() + "(" in example.lower(), f"line {lineno}: the example does not call {name}"
    actual = evaluate(example, DOC_SCOPE, env=fixed_env())
    if result == "undefined":
        assert actual is UNDEFINED, f"line {lineno}: got {actual!r}"
        return
    expected = json.loads(result)
    assert actual == expected and type(actual) is type(expected), f"line {lineno}: got {actual!r}"
    assert template_problems("{% " + example + " %}") == [], f"line {lineno}"


def test_every_function_has_conformance_cases() -> None:
    covered: set[str] = set()
    for module in (test_functions_text, test_functions_numbers, test_functions_data):
        covered.update(name for name, cases in module.CASES.items() if cases)
    assert covered >= set(FUNCTIONS), sorted(set(FUNCTIONS) - covered)


def test_names_are_unique_whatever_their_case() -> None:
    assert len(FUNCTION_NAMES) == len(FUNCTIONS) == len(FUNCTION_LIST)
    assert all(FUNCTION_NAMES[name.lower()] == name for name in FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_can_be_called_in_any_case(name: str) -> None:
    """The same call, spelled in upper case, resolves to the same function (errors included)."""
    def outcome(expression: str) -> Any:
        try:
            value = evaluate(expression, DOC_SCOPE, env=fixed_env())
        except Exception as exc:  # the outcome may be an argument error; it must be the same one
            return type(exc).__name__
        return "nan" if isinstance(value, float) and math.isnan(value) else value

    assert outcome(f"{name.upper()}({{{{name}}}})") == outcome(f"{name}({{{{name}}}})")
