"""Built-in functions (dates are in test_dates.py)."""

from __future__ import annotations

from typing import Any

import pytest

from language import UNDEFINED, InvalidExpressionSyntax, evaluate

from .helpers import fixed_env

SCOPE: dict[str, Any] = {
    "list": ["un", "deux", "trois", "quatre"], "s": "hello", "o": {"foo": "bar", "n": 1.5},
    "q": "a=1&b=x+y%20z&a=2", "num": 10.26, "re": "/b+/g",
}


def ev(expr: str, random_value: float = 0.5) -> Any:
    return evaluate(expr, SCOPE, env=fixed_env(random_value))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("isArray({{list}})", True), ("isArray(list)", True), ('isArray("list")', True),
        ("isArray({{s}})", False), ("isArray()", False), ("isObject(o)", True),
        ("isObject({{list}})", False), ("isObject(null)", False), ("isObject(missing)", False),
        ("round({{num}}, 1)", 10.3), ("round(2.5)", 3), ("round(-2.5)", -2), ("round(1234, -2)", 1200),
        ("floor({{num}}, 1)", 10.2), ("floor(-1.5)", -2), ("ceil(10.262, 2)", 10.27), ("ceil(10)", 10),
        ('split("a,b,c", ",")', ["a", "b", "c"]), ('split("abc", "")', ["a", "b", "c"]),
        ('split("un,deux", "/")', ["un,deux"]),
        ('join({{list}}, "|")', "un|deux|trois|quatre"), ("join({{list}})", "un,deux,trois,quatre"),
        ("json('{\"a\": [1, 2.5, null]}')", {"a": [1, 2.5, None]}), ("json({{o}})", '{"foo":"bar","n":1.5}'),
        ("json({{list}})", '["un","deux","trois","quatre"]'), ("json(12)", "12"), ("json({{missing}})", UNDEFINED),
        ('replace("a-a-a", "a", "b")', "b-a-a"), ('replace("hello world", "foo", "bar")', "hello world"),
        ('replace("a.b", ".", "$&")', "a$&b"),
        ('replace("abba", regex(/b/g), "c")', "acca"), ('replace("abba", regex(b), "c")', "acba"),
        ('replace("John Smith", regex((\\w+)\\s(\\w+)), "$2 $1")', "Smith John"),
        ("replace({{s}}, regex({{re}}), X)", "hello"),
        ("slice({{list}}, 1, 3)", ["deux", "trois"]), ("slice({{list}}, -1)", ["quatre"]),
        ("slice({{list}}, 10)", []), ("slice({{s}}, 1, -1)", "ell"), ("slice({{s}}, 3, 1)", ""),
        ("URLSearchParams({{q}}).asJSON", {"a": "2", "b": "x y z"}),
        ('URLSearchParams("?x=1").asJSON', {"x": "1"}),
        ("URLSearchParams({{o}}).asString", "foo=bar&n=1.5"),
        ('URLSearchParams("k=a b&é=~").asString', "k=a+b&%C3%A9=%7E"),
        ("URLSearchParams().asJSON", UNDEFINED), ("URLSearchParams().asString", ""),
        ("URLSearchParams(12).asJSON", UNDEFINED),
        ("jsonmatch({{o}}, {{o}})", True), ("jsonmatch({{s}}, {{o}})", False),
        ("regex(a(b)c)", ["a(b)c"]),
    ],
)
def test_function(expr: str, expected: Any) -> None:
    got = ev(expr)
    if expected is UNDEFINED:
        assert got is UNDEFINED
    else:
        assert got == expected and type(got) is type(expected), got


def test_rand_uses_injected_random() -> None:
    assert ev("rand()", 0.25) == 0.25
    assert ev("rand(10, 20)", 0.0) == 10
    assert ev("rand(10, 20)", 0.999) == 19
    assert ev("rand(1, 7) * 2 + 1", 0.5) == 9


@pytest.mark.parametrize(
    "expr",
    [
        "round({{s}})", 'round("1.5")', "ceil(true)", "floor(null)", "round(1, x)", "split({{s}})",
        "split({{list}}, \",\")", 'join({{s}}, ",")', "join({{list}}, 1)", 'json("{bad")', "json('NaN')",
        "replace(1, a, b)", "replace(x, {{list}}, b)", "slice({{o}}, 1)", 'jsonmatch({{o}}, "x")',
        "jsonmatch({{o}}, {{bad}})", "rand(1)", "rand(a, b)", "nope(1)", "eval(1)",
    ],
)
def test_bad_calls_raise_invalid_expression_syntax(expr: str) -> None:
    scope = dict(SCOPE, bad={"a": {"$unknown": 1}})
    with pytest.raises(InvalidExpressionSyntax) as info:
        evaluate(expr, scope, env=fixed_env())
    assert info.value.details["position"] is not None
    assert info.value.details["expression"] == expr


def test_function_names_are_case_insensitive() -> None:
    assert ev("ISARRAY({{list}})") is True
    assert ev("urlsearchparams(\"a=1\").asJSON") == {"a": "1"}
