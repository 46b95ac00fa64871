"""Every operator of the expression language, plus DECISIONS rows 5 and 6 pinned by name."""

from __future__ import annotations

import math
from typing import Any

import pytest

from language import UNDEFINED, evaluate, evaluate_condition

from .helpers import fixed_env

ENV = fixed_env()
SCOPE: dict[str, Any] = {
    "n": 5, "s": "5", "t": "hello", "z": 0, "e": "", "nul": None, "arr": ["un", "deux", 3],
    "obj": {"k": "v", "5": "five"}, "f": 2.5, "yes": True, "no": False, "csv": "un,deux,5,3",
}


def ev(expr: str) -> Any:
    return evaluate(expr, SCOPE, env=ENV)


# ---------------------------------------------------------------- DECISIONS row 5
def test_decision_5_and_binds_tighter_than_or() -> None:
    assert ev("false and false or true") is True  # (false and false) or true
    assert ev("true or false and false") is True
    assert ev("false or true and false") is False  # false or (true and false)


def test_decision_5_left_associative() -> None:
    assert ev("{{z}} or {{e}} or {{t}}") == "hello"
    assert ev("{{t}} and {{n}} and {{s}}") == "5"
    assert ev("10 - 3 - 2") == 5
    assert ev("64 / 4 / 2") == 8


def test_decision_5_not_binds_tighter_than_and() -> None:
    assert ev("not false and false") is False  # (not false) and false
    assert ev("not true or true") is True  # (not true) or true


def test_decision_5_not_parenthesis_works() -> None:
    assert ev("not (1 == 1)") is False
    assert ev("not ({{n}} > 10)") is True
    assert ev("NOT ( false )") is True


# ---------------------------------------------------------------- DECISIONS row 6
def test_decision_6_not_equal_is_negation_of_loose_equal() -> None:
    for left, right in [("{{n}}", "{{s}}"), ("0", '""'), ("null", "undefined"), ("1", "true"), ("{{n}}", "6")]:
        eq = ev(f"{left} == {right}")
        assert ev(f"{left} != {right}") is (not eq)
        assert ev(f"{left} not equals {right}") is (not eq)


def test_decision_6_strict_not_equal_is_negation_of_strict_equal() -> None:
    for left, right in [("{{n}}", "{{s}}"), ("{{n}}", "5"), ("null", "undefined"), ("a", "a")]:
        assert ev(f"{left} !== {right}") is (not ev(f"{left} === {right}"))
    assert ev("{{n}} != {{s}}") is False
    assert ev("{{n}} !== {{s}}") is True


# ---------------------------------------------------------------- operator table
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("true && false", False), ("true AND true", True), ("false || 0", 0), ("false OR {{t}}", "hello"),
        ("{{t}} && {{e}}", ""), ("!{{e}}", True), ("! true", False), ("!!{{t}}", True),
        ("{{n}} == {{s}}", True), ("{{n}} = 5", True), ("{{n}} EQUALS {{s}}", True),
        ("{{n}} === {{s}}", False), ("{{n}} === 5", True), ("null == undefined", True),
        ("null === undefined", False), ("{{nul}} == 0", False),
        ("1 < 2", True), ("2 <= 2", True), ("3 > 2", True), ("2 >= 3", False),
        ('"a" < "b"', True), ('"10" < "9"', True), ('10 < "9"', False), ("{{missing}} < 1", False),
        ('{{t}} matches "^h.l"', True), ("{{t}} MATCHES ell", True), ('{{t}} not matches "^x"', True),
        ("{{t}} matches regex(/HELLO/i)", True), ("{{t}} matches {{arr}}", False),
        ('{{n}} matches "5"', True),
        ("un in {{arr}}", True), ("3 in {{arr}}", True), ('"3" in {{arr}}', False),
        ("quatre not in {{arr}}", True), ("k in {{obj}}", True), ("{{n}} in {{obj}}", True),
        ("v in {{obj}}", False), ("{{n}} in {{csv}}", True), ("deux in {{csv}}", True),
        (" un in {{missing}}", False), ("4 in {{csv}}", False),
        ("{{z}} exists", True), ("{{e}} exists", True), ("{{nul}} exists", False),
        ("{{missing}} exists", False), ("{{missing}} not exists", True), ("{{n}} NOT EXISTS", False),
        ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 % 4", 3), ("-{{n}}", -5), ("- 2 * 3", -6),
        ("+{{s}}", 5), ("{{f}} * 2", 5), ("{{s}} + 1", "51"), ("1 + {{s}}", "15"),
        ("{{n}} - {{s}}", 0), ("{{n}} / 2", 2.5), ("{{t}} * 2", math.nan),
        ("{% 1 + 1 %} * 3", 6), ("{% {% 2 %} * 2 %} + 1", 5),
        ("true", True), ("FALSE", False), ("Null", None), ("undefined", UNDEFINED),
        ("12", 12), ("10.26", 10.26), ("1e3", 1000), ('"with spaces"', "with spaces"),
        ("'single'", "single"), ("bonjour", "bonjour"), ("index", "index"), ("order", "order"),
        ("fr-FR", "fr-FR"), ("Europe/Paris", "Europe/Paris"), ("luke@x.com", "luke@x.com"),
        ("{{arr.length}} > 2", True), ("{{t.length}}", 5),
    ],
)
def test_operator(expr: str, expected: Any) -> None:
    got = ev(expr)
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(got, float) and math.isnan(got)
    elif expected is UNDEFINED:
        assert got is UNDEFINED
    else:
        assert got == expected and type(got) is type(expected), got


def test_comparisons_bind_tighter_than_logic() -> None:
    assert ev("1 < 2 and 3 > 2") is True
    assert ev("{{n}} == 5 or {{n}} == 6") is True
    assert ev("{{n}} > 1 + 3") is True


def test_bang_binds_tighter_than_comparison() -> None:
    # JS: (!foo) === bar
    assert evaluate_condition("!{{yes}} === {{yes}}", SCOPE, env=ENV) is False
    assert evaluate_condition("!{{no}} === {{yes}}", SCOPE, env=ENV) is True


def test_condition_mode_is_strict_boolean() -> None:
    assert evaluate_condition("{{t}}", SCOPE, env=ENV) is True
    assert evaluate_condition("{{arr}}", SCOPE, env=ENV) is True
    assert evaluate_condition("{{z}}", SCOPE, env=ENV) is False
    assert evaluate_condition("{{missing}}", SCOPE, env=ENV) is False


def test_long_chains_do_not_recurse() -> None:
    expr = " + ".join(["1"] * 2000)
    assert ev(expr) == 2000
    assert ev(" and ".join(["true"] * 1000)) is True
    assert ev("!" * 3001 + "true") is False
