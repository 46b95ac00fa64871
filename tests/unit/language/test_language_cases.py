"""The shared interpolation/expression case files, run directly against the language package.

(The official runner lives in tests/conformance/; this module is for the language package's
own development loop and deliberately avoids that name so ``-k`` selections stay separate.)
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from language import ExpressionError, evaluate, evaluate_condition, render

from .helpers import fixed_env, load_cases, matches_expected, to_input

INTERPOLATION = load_cases("interpolation.yaml")
EXPRESSIONS = load_cases("expressions.yaml")


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    out = []
    for case in cases:
        marks = [pytest.mark.skip(reason=str(case["skip"]))] if "skip" in case else []
        out.append(pytest.param(case, id=case["name"], marks=marks))
    return out


@pytest.mark.skipif(not INTERPOLATION, reason="case files not found")
@pytest.mark.parametrize("case", _params(INTERPOLATION))
def test_interpolation_case(case: dict[str, Any]) -> None:
    opts = case.get("options") or {}
    kwargs = {
        "env": fixed_env(),
        "undefined_vars": opts.get("undefined_vars", "remove"),
        "eval_expressions": opts.get("eval_expressions", True),
        "exclude": opts.get("exclude", ()),
    }
    template = to_input(case["template"])
    scope = to_input(case.get("context") or {})
    if "expected_error" in case:
        with pytest.raises(ExpressionError) as info:
            render(template, scope, **kwargs)
        if isinstance(case["expected_error"], str):
            assert type(info.value).__name__ == case["expected_error"]
        return
    actual = render(template, scope, **kwargs)
    assert matches_expected(actual, case["expected"]), f"got {actual!r}"


@pytest.mark.skipif(not EXPRESSIONS, reason="case files not found")
@pytest.mark.parametrize("case", _params(EXPRESSIONS))
def test_expression_case(case: dict[str, Any]) -> None:
    scope = to_input(case.get("context") or {})
    fn = evaluate_condition if case.get("mode") == "condition" else evaluate
    if "expected_error" in case:
        with pytest.raises(ExpressionError) as info:
            fn(case["expression"], scope, env=fixed_env())
        if isinstance(case["expected_error"], str):
            assert type(info.value).__name__ == case["expected_error"]
        return
    if "expected_range" in case:
        rng = case["expected_range"]
        for r in (0.0, 0.5, 0.999999):
            value = fn(case["expression"], scope, env=fixed_env(r))
            assert isinstance(value, (int, float)) and not isinstance(value, bool)
            assert rng["gte"] <= value < rng["lt"]
            if rng.get("integer"):
                assert value == math.floor(value)
        return
    actual = fn(case["expression"], scope, env=fixed_env())
    assert matches_expected(actual, case["expected"]), f"got {actual!r}"
