"""String functions (issue 17 item 7), as conformance-style tables written from the reference
documentation (plugin/llmDoc/01-automations.md "Functions > String") and JavaScript's String
methods the reference linter whitelists: input expression -> expected value, then error cases."""

from __future__ import annotations

from typing import Any

import pytest

from language import (
    UNDEFINED,
    ExpressionError,
    ExpressionLimitError,
    InvalidExpressionSyntax,
    evaluate,
)

from .helpers import fixed_env, same

SCOPE: dict[str, Any] = {
    "foo": "Hello World", "str": "The quick brown fox jumps over the lazy dog", "html": "<b>Hi</b>",
    "quotes": "Tom & \"Jerry\" 'n' co", "emoji": "Hi \U0001f44b ! \u2764\ufe0f", "spaces": "\t  padded \n",
    "list": ["a", "b", "c"], "nums": [1, 2, 3], "code": 4, "csv": "un,deux,trois",
}


def ev(expression: str, scope: dict[str, Any] | None = None) -> Any:
    return evaluate(expression, SCOPE if scope is None else scope, env=fixed_env())




CASES: dict[str, list[tuple[str, Any]]] = {
    "lower": [("lower({{foo}})", "hello world"), ('lower("ÉCOLE")', "école"), ('LOWER("A")', "a")],
    "upper": [("upper({{foo}})", "HELLO WORLD"), ('upper("straße")', "STRASSE")],
    "trim": [("trim({{spaces}})", "padded"), ('trim("")', ""), ('trim("a b")', "a b")],
    "truncate": [
        ("truncate({{str}}, 42, ' etc')", "The quick brown fox jumps over the lazy do etc"),
        ("truncate({{str}}, 9)", "The quick..."), ("truncate({{foo}}, 11)", "Hello World"),
        ("truncate({{foo}}, 0, '…')", "…"), ("truncate({{foo}}, 5, 0)", "Hello0"),
    ],
    "sanitize": [
        ("sanitize('<b>Hi</b>')", "&lt;b&gt;Hi&lt;/b&gt;"), ("sanitize({{html}})", "&lt;b&gt;Hi&lt;/b&gt;"),
        ("sanitize({{quotes}})", "Tom &amp; &quot;Jerry&quot; &#39;n&#39; co"),
        ("sanitize({{emoji}})", "Hi  ! "), ('sanitize("déjà vu, ça va ?")', "déjà vu, ça va ?"),
    ],
    "startsWith": [('startsWith({{foo}}, "Hell")', True), ('startsWith({{foo}}, "hell")', False),
                   ('startsWith("4567", {{code}})', True)],
    "endsWith": [('endsWith({{foo}}, "World")', True), ('endsWith({{foo}}, "o")', False)],
    "includes": [('includes({{foo}}, "o W")', True), ('includes({{foo}}, "z")', False),
                 ('includes({{list}}, "b")', True), ("includes({{nums}}, 2)", True), ('includes({{nums}}, "2")', False)],
    "indexOf": [('indexOf({{foo}}, "o")', 4), ('indexOf({{foo}}, "z")', -1), ('indexOf({{list}}, "c")', 2),
                ("indexOf({{nums}}, 5)", -1)],
    "match": [
        ('match({{foo}}, regex(/o/g))', ["o", "o"]), ('match({{foo}}, regex(/(W)or(x)?/))', ["Wor", "W", UNDEFINED]),
        ('match({{foo}}, "l+")', ["ll"]), ('match({{foo}}, regex(/z/g))', None), ('match({{foo}}, "z")', None),
        ('match("a1b22", regex(/[0-9]+/g))', ["1", "22"]),
    ],
    "substring": [("substring({{foo}}, 6)", "World"), ("substring({{foo}}, 5, 0)", "Hello"),
                  ("substring({{foo}}, -3, 2)", "He"), ("substring({{foo}}, 2, 100)", "llo World")],
    "padStart": [('padStart("5", 3, "0")', "005"), ('padStart("abc", 2)', "abc"), ('padStart("a", 3)', "  a"),
                 ('padStart("7", 4, "ab")', "aba7")],
    "padEnd": [('padEnd("ab", 5, "xy")', "abxyx"), ('padEnd("ab", 4)', "ab  "), ('padEnd("ab", 4, "")', "ab")],
    "repeat": [('repeat("ab", 3)', "ababab"), ('repeat("x", 0)', ""), ('repeat("-", 2.9)', "--")],
    "length": [("length({{foo}})", 11), ("length({{list}})", 3), ('length("")', 0)],
    "concat": [('concat("a", "b", 1, true)', "ab1true"), ("concat({{list}}, [\"d\"], \"e\")", ["a", "b", "c", "d", "e"]),
               ("concat({{nums}}, [[4]])", [1, 2, 3, [4]])],
    "split": [("split('a,b,c', ',')", ["a", "b", "c"]), ('split({{csv}}, ";")', ["un,deux,trois"])],
    "join": [("join(['a', 'b'], ',')", "a,b"), ("join(['a', 'b'], '-')", "a-b"), ("join(split({{csv}}, ','), ' / ')",
                                                                                 "un / deux / trois")],
    "replace": [("replace('hello world', 'world', 'there')", "hello there"),
                ("replace({{foo}}, regex(/o/g), 0)", "Hell0 W0rld")],
    "slice": [("slice({{foo}}, -5)", "World"), ("slice(['a', 'b', 'c'], 1, 2)", ["b"])],
}


@pytest.mark.parametrize(("function", "expression", "expected"),
                         [(f, e, x) for f, cases in CASES.items() for e, x in cases])
def test_text_function(function: str, expression: str, expected: Any) -> None:
    result = ev(expression)
    assert same(result, expected), result


ERRORS: list[tuple[str, str]] = [
    ("lower({{code}})", "lower(): expects a string as first argument, got a number"),
    ("lower({{missing}})", "lower(): expects a string as first argument, got undefined"),
    ("lower()", "lower(): expects 1 argument, got 0"),
    ('upper("a", "b")', "upper(): expects 1 argument, got 2"),
    ("trim({{list}})", "trim(): expects a string as first argument, got an array"),
    ("truncate({{foo}})", "truncate(): expects 2 to 3 arguments, got 1"),
    ('truncate({{foo}}, "5")', "truncate(): expects a whole number >= 0 as second argument, got a string"),
    ("truncate({{foo}}, -1)", "truncate(): expects a whole number >= 0"),
    ("sanitize({{nums}})", "sanitize(): expects a string as first argument, got an array"),
    ("startsWith({{nums}}, 1)", "startsWith(): expects a string as first argument, got an array"),
    ("endsWith({{foo}}, {{list}})", "endsWith(): expects a string as second argument, got an array"),
    ("includes({{code}}, 4)", "includes(): expects a string or an array as first argument, got a number"),
    ('indexOf({{foo}})', "indexOf(): expects 2 arguments, got 1"),
    ("match({{foo}}, {{nums}})", "match(): expects a pattern string or regex(...) as second argument"),
    ('match({{foo}}, "(")', "Invalid regular expression"),
    ("substring({{nums}}, 1)", "substring(): expects a string as first argument"),
    ('padStart("a", {{foo}})', "padStart(): expects a whole number >= 0 as second argument, got a string"),
    ('padEnd("a", 3, {{nums}})', "padEnd(): expects a string as third argument, got an array"),
    ('repeat("a", -1)', "repeat(): expects a whole number >= 0 as second argument"),
    ("length({{code}})", "length(): expects a string or an array, got a number"),
    ("concat({{code}}, 1)", "concat(): expects a string or an array as first argument, got a number"),
    ("concat()", "concat(): expects at least 1 argument, got 0"),
]


@pytest.mark.parametrize(("expression", "message"), ERRORS)
def test_text_function_errors(expression: str, message: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        ev(expression)
    assert message in info.value.message
    assert info.value.details["expression"] == expression


@pytest.mark.parametrize("expression", ['repeat("ab", 1000000)', 'padStart("", 2000000, "x")'])
def test_built_strings_are_bounded_by_the_template_limit(expression: str) -> None:
    with pytest.raises(ExpressionLimitError, match="longer than 1000000 characters"):
        ev(expression)


def test_error_messages_never_hold_argument_values() -> None:
    secret = {"token": "s3cr3t-value", "n": 1}
    for expression in ["lower({{token}}, 1)", "truncate({{token}}, {{token}})", "includes({{n}}, {{token}})"]:
        with pytest.raises(ExpressionError) as info:
            evaluate(expression, secret, env=fixed_env())
        assert "s3cr3t" not in info.value.message
