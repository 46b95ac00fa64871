"""The expression language's operators as pure unit tests (docs/language.md §3): combinations of
precedence levels, JavaScript truthiness in condition mode, and how ``undefined`` and ``null``
flow through every operator. (Single operators are in tests/unit/language/test_operators.py.)"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from language import (
    UNDEFINED,
    InvalidExpressionSyntax,
    LanguageEnv,
    evaluate,
    evaluate_condition,
)
from tests.unit.language.helpers import same

ENV = LanguageEnv(now=lambda: datetime(2024, 2, 29, 23, 30, tzinfo=UTC), random=lambda: 0.25)
SCOPE: dict[str, Any] = {
    "n": 5, "s": "5", "word": "hello", "list": [1, 2, 3], "obj": {"a": {"b": [10, 20]}, "key": "a"},
    "nul": None, "zero": 0, "tenth": 0.1, "csv": "red,green", "empty": "", "neg": -3, "yes": True, "no": False,
}


def ev(expression: str) -> Any:
    return evaluate(expression, SCOPE, env=ENV)


@pytest.mark.parametrize(("expression", "expected"), [
    # comparisons bind tighter than `not`, which binds tighter than `and`, then `or`
    ("1 + 2 == 3 and not 4 < 3", True),
    ("not 1 + 1 == 2 or {{n}} > 4", True),
    ("{{n}} > 4 and {{n}} < 6 or {{missing}}", True),
    ("{{missing}} or {{n}} * 2 == 10 and {{word}}", "hello"),
    ("(false or true) and false", False),
    ("false or (true and {{n}})", 5),
    # multiplicative operators are left-associative at one level
    ("10 % 3 * 2", 2), ("2 * 3 % 4", 2), ("10 / 4 * 2", 5), ("2 + 3 * 4 - 6 / 2", 11),
    ("(2 + 3) * (4 - 6) / 2", -5),
    # prefix operators bind tightest
    ("- {{n}} * 2", -10), ("-{{neg}} + 1", 4), ("!{{n}} == false", True), ("!!{{empty}}", False),
    ("- -{{n}}", 5), ("+{{s}} + 1", 6),
    # keywords in any case, symbols and words mixed
    ("true AND false OR true", True), ("NOT true", False), ("{{yes}} && !{{no}} || x", True),
    ("{{n}} EQUALS {{s}} and {{n}} Not Equals 6", True),
    # quoted strings hold operator words as text
    ('"a and b" == \'a and b\'', True), ('"not" == "not"', True),
    # comparisons and arithmetic on mixed types (JavaScript)
    ("{{s}} > 4", True), ('"3" * "4"', 12), ('"abc" < "abd"', True), ("{{list}} + 1", "1,2,31"),
    ("{{obj}} + ''", "[object Object]"), ("{{yes}} + {{yes}}", 2), ("{{empty}} == 0", True),
    ("{{empty}} == false", True), ("{{zero}} == false", True), ("{{nul}} == 0", False), ("{{nul}} < 1", True),
    ("{{nul}} + 1", 1), ("{{tenth}} + 0.2", 0.30000000000000004), ("{{neg}} % 2", -1),
    ("1 / 0", math.inf), ("-1 / 0", -math.inf), ("0 / 0 == 0 / 0", False),
    # values compared by value
    ("{{obj.a.b}} == {{obj.a.b}}", True), ("{{obj.a}} === {{obj.a}}", True), ("{{list}} != {{obj.a.b}}", True),
    # paths inside expressions
    ("{{list.length}} * 2", 6), ("{{word.length}}", 5), ("{{list[{{list[0]}}]}}", 2),
    ("{{obj[{{obj.key}}].b[1]}}", 20), ("{{obj['a'].b.length}}", 2),
    # membership and existence in combination
    ("{{n}} in {{list}} or {{s}} in {{list}}", False), ("3 in {{list}} and red in {{csv}}", True),
    ("{{list}} exists and {{missing}} not exists", True), ("not {{missing}} exists", True),
])
def test_operator_combinations(expression: str, expected: Any) -> None:
    assert same(ev(expression), expected), ev(expression)


@pytest.mark.parametrize(("expression", "expected"), [
    ("{{missing}} + 1", math.nan), ("'a' + {{missing}}", "aundefined"), ("-{{missing}}", math.nan),
    ("{{missing}} * 2", math.nan), ("{{missing}} == null", True), ("{{missing}} === undefined", True),
    ("{{missing}} === null", False), ("{{missing}} != null", False), ("{{missing}} in {{list}}", False),
    ("not {{missing}}", True), ("{{missing}} and 1", UNDEFINED), ("{{missing}} || fallback", "fallback"),
    ("{{missing}} < 1", False), ("{{missing}} >= 0", False), ("{{missing.deep.path}}", UNDEFINED),
    ("{{missing}} matches x", False), ("{{missing}} exists", False), ("{{nul}} exists", False),
    ("{{list[9]}}", UNDEFINED), ("{{word[9]}}", UNDEFINED), ("{{n.x}}", UNDEFINED), ("{{nul.x}}", UNDEFINED),
])
def test_undefined_and_null_through_operators(expression: str, expected: Any) -> None:
    assert same(ev(expression), expected), ev(expression)


@pytest.mark.parametrize(("condition", "truthy"), [
    ("0", False), ("0.0", False), ("-0", False), ("0 / 0", False), ('""', False), ("null", False),
    ("undefined", False), ("false", False), ("{{empty}}", False), ("{{missing}}", False), ("{{nul}}", False),
    ('"0"', True), ('"false"', True), ('" "', True), ("{{tenth}}", True), ("{{list}}", True), ("{{obj}}", True),
    ("-1", True), ("1 / 0", True), ("word", True), ("{{list.length}} > 2", True),
])
def test_condition_mode_uses_javascript_truthiness(condition: str, truthy: bool) -> None:
    assert evaluate_condition(condition, SCOPE, env=ENV) is truthy


def test_value_mode_returns_the_deciding_operand() -> None:
    assert ev("{{empty}} || {{zero}} || {{list}}") == [1, 2, 3]
    assert ev("{{word}} && {{obj}}") == {"a": {"b": [10, 20]}, "key": "a"}
    assert ev("{{word}} && {{zero}} && {{n}}") == 0
    assert evaluate_condition("{{word}} && {{zero}} && {{n}}", SCOPE, env=ENV) is False


@pytest.mark.parametrize("expression", [
    "1 +", "* 2", "(1 + 2", "1 + 2)", "a && || b", "exists", "{{n}} ===", "not", "1 2 +", "'open",
    "{{n}} = = 5",
])
def test_syntax_errors_name_the_expression_and_a_position(expression: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        ev(expression)
    assert info.value.details["expression"] == expression
    assert isinstance(info.value.details["position"], int)
    assert 0 <= info.value.details["position"] <= len(expression)
