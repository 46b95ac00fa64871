"""Property tests: random templates, expressions and scopes never raise anything but
ExpressionError subclasses (and the safety net is never what catches them)."""

from __future__ import annotations

import os
from typing import Any, Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from language import (
    UNDEFINED,
    ExpressionError,
    evaluate,
    evaluate_condition,
    get_path,
    is_truthy,
    parse_variable_path,
    render,
    to_json_text,
)

from .helpers import fixed_env

ENV = fixed_env()
SETTINGS = settings(
    max_examples=int(os.environ.get("LANG_PROP_EXAMPLES", "300")),
    deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.just(UNDEFINED),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
scopes = st.dictionaries(st.sampled_from(["a", "b", "c", "s", "l", "0", "x y"]), json_values, max_size=6)

FRAGMENTS = [
    "{{", "}}", "{%", "%}", "{{a}}", "{{a.b}}", "{{l[0]}}", "{{a[{{b}}]}}", "(", ")", "[", "]", ".", ",",
    '"', "'", " ", "and", "or", "not", "!", "==", "=", "===", "!=", "!==", "<", ">=", "+", "-", "*", "/",
    "%", "&&", "||", "in", "exists", "matches", "equals", "regex(", "date(", "json(", "split(", "join(",
    "slice(", "replace(", "round(", "rand(", "isArray(", "jsonmatch(", "URLSearchParams(", ".iso",
    ".asJSON", "1", "2.5", "0", "true", "null", "undefined", "x", "/a+/i", "\\", "\x00", "é",
]
grammarish = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)
texts = st.one_of(st.text(max_size=40), grammarish)


def _only_expression_errors(fn: Any) -> None:
    try:
        fn()
    except ExpressionError as exc:
        # the safety net wraps unexpected exceptions; it must never be needed
        assert exc.__cause__ is None or isinstance(exc.__cause__, RecursionError), repr(exc.__cause__)


@SETTINGS
@given(texts, scopes)
def test_evaluate_never_raises_anything_else(expr: str, scope: dict[str, Any]) -> None:
    _only_expression_errors(lambda: evaluate(expr, scope, env=ENV))
    _only_expression_errors(lambda: evaluate_condition(expr, scope, env=ENV))


@SETTINGS
@given(texts, scopes, st.booleans(), st.booleans())
def test_render_never_raises_anything_else(template: str, scope: dict[str, Any], leave: bool, evalx: bool) -> None:
    mode: Literal["leave", "remove"] = "leave" if leave else "remove"
    _only_expression_errors(lambda: render(template, scope, env=ENV, undefined_vars=mode, eval_expressions=evalx))
    wrapped = "{% " + template + " %}"
    _only_expression_errors(lambda: render(["x " + wrapped, {"k": wrapped}], scope, env=ENV))


@SETTINGS
@given(json_values, scopes)
def test_render_of_values_without_templates_is_identity(value: Any, scope: dict[str, Any]) -> None:
    try:
        out = render(value, scope, env=ENV)
    except ExpressionError:
        return  # a random string may hold an invalid template
    if isinstance(value, str) and "{" not in value:
        assert out == value


@SETTINGS
@given(st.text(max_size=30), scopes)
def test_paths_never_raise_anything_else(path: str, scope: dict[str, Any]) -> None:
    _only_expression_errors(lambda: parse_variable_path(path))
    _only_expression_errors(lambda: get_path(scope, path))


@SETTINGS
@given(json_values)
def test_json_text_and_truthiness_total(value: Any) -> None:
    assert isinstance(to_json_text(value), str)
    assert isinstance(is_truthy(value), bool)


@SETTINGS
@given(scopes)
def test_variable_lookup_matches_get_path(scope: dict[str, Any]) -> None:
    for key in scope:
        if key in ("x y",):
            continue
        expected = get_path(scope, key)
        got = evaluate("{{" + key + "}}", scope, env=ENV)
        assert got is expected or got == expected or got != got
