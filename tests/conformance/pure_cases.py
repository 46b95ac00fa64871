"""Corpus files checked without a running stack: the language and schema validation."""

from __future__ import annotations

from typing import Any

import pytest

from language import DEFAULT_ENV, ExpressionError, evaluate, evaluate_condition, render
from tests.conformance.matching import matches, undefined_inputs
from tests.conformance.reference_schemas import is_valid


def _expect(case: dict[str, Any], run: Any) -> None:
    if "expected_error" in case:
        with pytest.raises(ExpressionError) as info:
            run()
        assert info.value.name == case["expected_error"], f"raised {info.value.name}: {info.value.message}"
        return
    result = run()
    if "expected_range" in case:
        rng = case["expected_range"]
        assert isinstance(result, int | float) and rng["gte"] <= result < rng["lt"]
        if rng.get("integer"):
            assert float(result).is_integer()
        return
    assert matches(case["expected"], result, subset=False), f"got {result!r}"


def run_interpolation(case: dict[str, Any]) -> None:
    options = case.get("options") or {}
    context = undefined_inputs(case.get("context") or {})
    _expect(case, lambda: render(case["template"], context, env=DEFAULT_ENV,
                                 undefined_vars=options.get("undefined_vars", "remove"),
                                 eval_expressions=options.get("eval_expressions", True),
                                 exclude=options.get("exclude") or ()))


def run_expression(case: dict[str, Any]) -> None:
    context = undefined_inputs(case.get("context") or {})
    evaluator = evaluate_condition if case.get("mode") == "condition" else evaluate
    _expect(case, lambda: evaluator(case["expression"], context, env=DEFAULT_ENV))


def run_validation(case: dict[str, Any]) -> None:
    assert is_valid(case["schema"], case["value"], case.get("instruction_schemas") or {}) is case["expected"]


def run_wait_filter(case: dict[str, Any]) -> None:
    from language.wait_filters import filters_match

    assert filters_match(case.get("filters"), case["event"]) is case["expected"]


def run_event_filter(case: dict[str, Any]) -> None:
    from core.events import filters as ef
    from core.events.subscriptions import SubscriptionFilters

    kinds: dict[str, type[ef.FilterProcessor]] = {
        "payload_query": ef.PayloadQuery, "app_instance_depth": ef.AppInstanceDepth, "engine": SubscriptionFilters}
    processor = kinds[case["processor"]]()
    for index, op in enumerate([*(case.get("setup") or []), *case["steps"]]):
        if "save" in op:
            processor.save(str(op["save"]["id"]), op["save"]["query"])
        elif "remove" in op:
            processor.remove(str(op["remove"]))
        elif "match" in op:
            got = processor.match(op["match"])
            expected = {str(i) for i in op.get("expected") or []}
            assert got == expected, f"operation {index}: matched {sorted(got)}, expected {sorted(expected)}"
        else:
            raise AssertionError(f"unknown operation {op!r}")


def run_secrets(case: dict[str, Any]) -> None:
    from language.secrets import find_secret_paths, find_secret_values, redact

    if "find_secret_paths" in case:
        result: Any = find_secret_paths(case["find_secret_paths"]["arguments"])
    elif "find_secret_values" in case:
        op = case["find_secret_values"]
        result = find_secret_values(op["payload"], op["paths"])
    else:
        op = case["redact"]
        result = redact(op["value"], op["secrets"])
    assert matches(case["expected"], result, subset=False), f"got {result!r}"
