"""Every function of the expression language's table (docs/language.md §4) as pure unit tests:
cases of each, composition, bad arguments. (More cases per function live in
tests/unit/language/test_functions.py and test_dates.py; these are different ones.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from language import UNDEFINED, InvalidExpressionSyntax, LanguageEnv, evaluate

NOW = datetime(2024, 2, 29, 23, 30, 15, 250000, tzinfo=UTC)  # a leap day, Thursday
SCOPE: dict[str, Any] = {
    "csv": "red,green,blue", "list": ["a", "b", "c", "d"], "nums": [3, 1, 2], "obj": {"k": "v", "n": 2},
    "text": "Hello World", "ts": 1709251200000, "iso": "2024-03-01T09:05:07.123Z", "query": {"q": "tea & cake"},
    "deep": {"user": {"tags": ["x", "y"], "age": 30}}, "empty": [], "nul": None, "pattern": "/o/g",
}


def ev(expression: str, random: float = 0.25) -> Any:
    return evaluate(expression, SCOPE, env=LanguageEnv(now=lambda: NOW, random=lambda: random))


CASES: dict[str, list[tuple[str, Any]]] = {
    "date": [
        ("date().iso", "2024-02-29T23:30:15.250Z"), ("date().day", 4), ("date().ts", 1709249415250),
        ("date({{ts}}).iso", "2024-03-01T00:00:00.000Z"), ("date({{iso}}).second", 7),
        ('date("2024-03-10T12:00:00+05:30").hour', 6), ('date("2024-02-29").date', 29),
        ("date({{iso}}, \"DD/MM/YYYY HH:mm\", en, UTC)", "01/03/2024 09:05"),
        ("date({{iso}}, \"dddd\", fr)", "vendredi"), ("date({{nul}}).iso", UNDEFINED),
        ("date({{iso}}).nope", UNDEFINED), ("date(date().ts - 86400000).date", 28),
    ],
    "URLSearchParams": [
        ("URLSearchParams({{query}}).asString", "q=tea+%26+cake"), ('URLSearchParams("a=1&b=").asJSON',
                                                                   {"a": "1", "b": ""}),
        ('URLSearchParams("?x=%C3%A9").asJSON', {"x": "é"}), ("URLSearchParams({{obj}}).asJSON", UNDEFINED),
    ],
    "isArray": [("isArray({{empty}})", True), ("isArray(nums)", True), ("isArray({{obj}})", False),
                ("isArray({{csv}})", False), ("isArray(deep.user.tags)", True)],
    "isObject": [("isObject({{deep}})", True), ("isObject(deep.user)", True), ("isObject({{empty}})", False),
                 ("isObject(nowhere)", False), ("isObject({{text}})", False)],
    "rand": [("rand()", 0.25), ("rand(0, 100)", 25), ("rand(-10, 10)", -5)],
    "round": [("round(-1.5)", -1), ("round(1.25, 1)", 1.3), ("round(1250, -2)", 1300), ("round(7)", 7)],
    "floor": [("floor(-0.5)", -1), ("floor(9.999, 2)", 9.99), ("floor(1299, -2)", 1200)],
    "ceil": [("ceil(-0.5)", 0), ("ceil(0.001, 2)", 0.01), ("ceil(1201, -2)", 1300)],
    "split": [('split({{csv}}, ",")', ["red", "green", "blue"]), ('split("", ",")', [""]),
              ('split({{text}}, "o")', ["Hell", " W", "rld"]), ('split("ab", "")', ["a", "b"])],
    "join": [("join({{nums}})", "3,1,2"), ('join({{empty}}, "-")', ""), ('join({{list}}, "")', "abcd"),
             ('join(split({{csv}}, ","), " / ")', "red / green / blue")],
    "json": [("json({{deep}})", '{"user":{"tags":["x","y"],"age":30}}'), ('json("null")', None),
             ("json('[1, \"x\", {\"k\": true}]')", [1, "x", {"k": True}]), ("json(json({{obj}}))", {"k": "v", "n": 2}),
             ("json({{nul}})", "null"), ("json(true)", "true")],
    "replace": [('replace({{text}}, "o", "0")', "Hell0 World"), ("replace({{text}}, regex({{pattern}}), 0)",
                                                                  "Hell0 W0rld"),
                ('replace({{text}}, regex(/(\\w+) (\\w+)/), "$2, $1")', "World, Hello"),
                ('replace("aaa", "a", "")', "aa"), ('replace({{text}}, "xyz", "!")', "Hello World")],
    "slice": [('slice("hello", -3, -1)', "ll"), ("slice({{list}}, 1, 100)", ["b", "c", "d"]),
              ("slice({{list}}, -2)", ["c", "d"]), ("slice({{list}}, 2, 1)", []),
              ('slice(split({{csv}}, ","), 1)', ["green", "blue"])],
    "jsonmatch": [("jsonmatch({{deep}}, {{q1}})", True), ("jsonmatch({{deep}}, {{q2}})", False),
                  ("jsonmatch({{deep}}, {{q3}})", True)],
}
QUERIES = {"q1": {"user.tags": "y", "user.age": {"$gte": 18}}, "q2": {"user.tags": {"$size": 3}},
           "q3": {"$or": [{"user.age": {"$lt": 10}}, {"user.tags": {"$all": ["x", "y"]}}]}}
SCOPE.update(QUERIES)


@pytest.mark.parametrize(("function", "expression", "expected"), [
    (name, expression, expected) for name, cases in CASES.items() for expression, expected in cases])
def test_function(function: str, expression: str, expected: Any) -> None:
    result = ev(expression)
    if expected is UNDEFINED:
        assert result is UNDEFINED
    else:
        assert result == expected and type(result) is type(expected), result


def test_every_function_of_the_documented_table_has_cases() -> None:
    assert set(CASES) == {"date", "URLSearchParams", "isArray", "isObject", "rand", "round", "floor", "ceil",
                          "split", "join", "json", "replace", "slice", "jsonmatch"}


def test_functions_compose_inside_larger_expressions() -> None:
    assert ev("round(date({{iso}}).minute / 3, 1) + 1") == 2.7
    assert ev('{{deep.user.age}} > 18 and "y" in split(join({{deep.user.tags}}), ",")') is True
    assert ev("isArray(split({{csv}}, \",\")) and not isObject(json({{obj}}))") is True
    assert ev("rand(1, 7) * 2", random=0.999) == 12


@pytest.mark.parametrize("expression", [
    "floor({{csv}})", 'ceil(1, "x")', "split({{nums}}, \",\")", "join({{obj}})",
    "json('{\"a\": }')", 'replace({{nums}}, "a", "b")', 'slice(5, 1)', "jsonmatch({{deep}}, {{bad}})",
    "rand(1, 2, 3)", "rand({{missing}}, 2)", "unknownFunction(1)", 'replace("x", regex(/(?<=x)/), "")',
])
def test_bad_arguments_are_syntax_errors(expression: str) -> None:
    scope_with_bad = {**SCOPE, "bad": {"a": {"$where": "1"}}}
    with pytest.raises(InvalidExpressionSyntax) as info:
        evaluate(expression, scope_with_bad, env=LanguageEnv(now=lambda: NOW, random=lambda: 0.5))
    assert info.value.details["expression"] == expression
