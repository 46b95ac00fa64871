"""Number functions, ``uuid``, type tests and conversions (issue 17 item 7), as conformance-style
tables: the documented ``rand``/``round``/``ceil``/``floor`` and type tests
(plugin/llmDoc/01-automations.md), and the plain-value helpers of the reference linter's whitelist
(``abs min max Number String Boolean parseInt parseFloat isBoolean isNull isUndefined typeof``)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from language import InvalidExpressionSyntax, LanguageEnv, evaluate, render

from .helpers import FIXED_NOW, fixed_env, same

NAN = float("nan")
SCOPE: dict[str, Any] = {
    "a": 6, "b": 7, "neg": -4.5, "nums": [3, 10, -2], "text": "12.5kg", "flag": False, "nul": None,
    "list": [1, 2], "obj": {"k": 1}, "str": "s",
}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def ev(expression: str, random: float = 0.5) -> Any:
    return evaluate(expression, SCOPE, env=fixed_env(random))




CASES: dict[str, list[tuple[str, Any]]] = {
    "date": [('date("2022-04-13T08:00:05.493Z").hour', 8), ("date().iso", "2023-03-31T17:07:23.975Z"),
             ('date("2023-03-31", "DD/MM/YYYY")', "31/03/2023"), ('date("2023-03-31", "LT", "fr", "America/New_York")',
                                                                  "20:00")],
    "rand": [("rand(50, 150)", 100), ("rand()", 0.5)],
    "uuid": [("uuid()", "80000000-8000-4000-8000-000080000000")],
    "round": [("round(10.2)", 10), ("round(10.26, 1)", 10.3)],
    "ceil": [("ceil(10.1)", 11)],
    "floor": [("floor(10.9)", 10)],
    "abs": [("abs({{neg}})", 4.5), ("abs(3)", 3), ("abs(-0.5) * 2", 1)],
    "min": [("min(3, 1, 2)", 1), ("min({{nums}})", -2), ("min({{a}}, {{neg}})", -4.5)],
    "max": [("max(3, 1, 2)", 3), ("max({{nums}})", 10), ("max({{a}} * {{b}}, 40)", 42)],
    "Number": [('Number("12.50")', 12.5), ('Number("")', 0), ('Number("12px")', NAN), ("Number(true)", 1),
               ("Number({{nul}})", 0), ("Number({{missing}})", NAN), ("Number()", 0), ('number("7") + 1', 8)],
    "parseInt": [('parseInt("42px")', 42), ('parseInt("  -17.9")', -17), ('parseInt("ff", 16)', 255),
                 ('parseInt("0x1A")', 26), ('parseInt("101", 2)', 5), ('parseInt("px")', NAN),
                 ("parseInt(12.7)", 12), ('parseInt("9", 40)', NAN)],
    "parseFloat": [("parseFloat({{text}})", 12.5), ('parseFloat(".5e1x")', 5), ('parseFloat("-Infinity!")', -math.inf),
                   ('parseFloat("x1")', NAN), ('parseFloat("3")', 3)],
    "String": [("String({{list}})", "1,2"), ("String({{obj}})", "[object Object]"), ("String(1.50)", "1.5"),
               ("String({{nul}})", "null"), ("String()", "")],
    "Boolean": [('Boolean("")', False), ('Boolean("0")', True), ("Boolean(0)", False), ("Boolean({{list}})", True),
                ("Boolean()", False)],
    "isArray": [("isArray({{list}})", True), ("isArray(list)", True), ("isArray(['x'])", True), ("isArray({{obj}})", False)],
    "isObject": [("isObject({{obj}})", True), ("isObject({a: 1})", True), ("isObject({{nul}})", False)],
    "isString": [("isString({{str}})", True), ('isString("")', True), ("isString(1)", False),
                 ("isString({{missing}})", False)],
    "isNumber": [("isNumber({{neg}})", True), ('isNumber("1")', False), ("isNumber(Number(x))", True),
                 ("isNumber(true)", False)],
    "isBoolean": [("isBoolean({{flag}})", True), ('isBoolean("true")', False), ("isBoolean(0)", False)],
    "isNull": [("isNull({{nul}})", True), ("isNull({{missing}})", False), ('isNull("")', False)],
    "isUndefined": [("isUndefined({{missing}})", True), ("isUndefined({{nul}})", False), ("isUndefined()", True)],
    "typeof": [("typeof({{str}})", "string"), ("typeof({{a}})", "number"), ("typeof({{flag}})", "boolean"),
               ("typeof({{nul}})", "object"), ("typeof({{list}})", "object"), ("typeof({{missing}})", "undefined")],
}


@pytest.mark.parametrize(("function", "expression", "expected"),
                         [(f, e, x) for f, cases in CASES.items() for e, x in cases])
def test_number_and_type_function(function: str, expression: str, expected: Any) -> None:
    result = ev(expression)
    assert same(result, expected), result


ERRORS: list[tuple[str, str]] = [
    ('abs("3")', "abs(): expects a number as first argument, got a string"),
    ("abs()", "abs(): expects 1 argument, got 0"),
    ("min()", "min(): expects at least one number"),
    ('max(1, "2")', "max(): expects numbers, got a string"),
    ("max({{list}}, {{obj}})", "max(): expects numbers, got an array"),
    ("uuid(1)", "uuid(): expects no argument, got 1"),
    ("parseInt({{obj}})", "parseInt(): expects a string as first argument, got an object"),
    ("parseInt()", "parseInt(): expects 1 to 2 arguments, got 0"),
    ("parseFloat({{missing}})", "parseFloat(): expects a string as first argument, got undefined"),
    ("Number(1, 2)", "Number(): expects 0 to 1 arguments, got 2"),
    ("isString(1, 2)", "isString(): expects 0 to 1 arguments, got 2"),
    ("typeof(1, 2)", "typeof(): expects 0 to 1 arguments, got 2"),
    ("round({{text}})", "round(): expects a number, got a string"),
]


@pytest.mark.parametrize(("expression", "message"), ERRORS)
def test_number_and_type_function_errors(expression: str, message: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        ev(expression)
    assert message in info.value.message


def test_uuid_draws_only_from_the_injected_random_source() -> None:
    draws = iter([0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.7, 0.6])
    env = LanguageEnv(now=lambda: FIXED_NOW, random=lambda: next(draws))
    first, second = render(["{% uuid() %}", "{% uuid() %}"], {}, env=env)
    assert UUID4.match(first) and UUID4.match(second) and first != second
    again = iter([0.1, 0.2, 0.3, 0.4])
    replayed = evaluate("uuid()", {}, env=LanguageEnv(now=lambda: FIXED_NOW, random=lambda: next(again)))
    assert replayed == first  # the same draws give the same id: a replayed workflow sees the same value


@pytest.mark.parametrize("random", [0.0, 0.25, 0.999999999])
def test_uuid_is_a_version_4_uuid_for_any_draw(random: float) -> None:
    assert UUID4.match(ev("uuid()", random))


def test_rand_stays_within_its_bounds() -> None:
    assert ev("rand(50, 150)", 0.0) == 50 and ev("rand(50, 150)", 0.999999) == 149
