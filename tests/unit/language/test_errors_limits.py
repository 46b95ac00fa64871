"""Error classes, their details, and LanguageLimits."""

from __future__ import annotations

import pytest

from language import (
    ExpressionError,
    ExpressionLimitError,
    InvalidExpressionSyntax,
    InvalidVariableNameError,
    LanguageLimits,
    configure,
    evaluate,
    get_limits,
    parse_variable_path,
    render,
)
from schemas.errors import TidewayError


@pytest.fixture
def limits():
    old = get_limits()
    yield
    configure(old)


def test_error_hierarchy() -> None:
    assert issubclass(ExpressionError, TidewayError)
    for cls in (InvalidExpressionSyntax, InvalidVariableNameError, ExpressionLimitError):
        assert issubclass(cls, ExpressionError)


def test_syntax_error_carries_expression_position_and_message() -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        evaluate("1 + (2 *", {})
    err = info.value
    assert err.expression == "1 + (2 *" and err.position == 8
    assert err.details == {"expression": "1 + (2 *", "position": 8}
    assert "position 8" in err.message
    assert err.to_dict()["error"] == "InvalidExpressionSyntax"


@pytest.mark.parametrize(
    "expr", ["", "   ", "1 +", "(1", "1)", "1 2", "a & b", "a | b", "{ 1", '"open', "{{a", "regex(a",
             "and", "1 == not 2", "exists", "date(1,", "(1).", "{% 1", "1 %}", "[1", "not"],
)
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(InvalidExpressionSyntax):
        evaluate(expr, {})


def test_non_string_expression() -> None:
    with pytest.raises(InvalidExpressionSyntax):
        evaluate(12, {})  # type: ignore[arg-type]


def test_variable_name_error_details() -> None:
    with pytest.raises(InvalidVariableNameError) as info:
        parse_variable_path("a..b")
    assert info.value.details == {"expression": "a..b", "position": 2}


def test_expression_length_limit(limits: None) -> None:
    configure(LanguageLimits(max_expression_length=20))
    evaluate("1 + 1", {})
    with pytest.raises(ExpressionLimitError):
        evaluate("1 + " * 10 + "1", {})


def test_nesting_depth_limit(limits: None) -> None:
    configure(LanguageLimits(max_nesting_depth=5))
    assert evaluate("((((1))))", {}) == 1
    with pytest.raises(ExpressionLimitError):
        evaluate("((((((1))))))", {})
    with pytest.raises(ExpressionLimitError):
        render("{{" * 7 + "a" + "}}" * 7, {})


def test_template_length_limit(limits: None) -> None:
    configure(LanguageLimits(max_template_length=100))
    assert render("{" + "x" * 50, {}) == "{" + "x" * 50
    with pytest.raises(ExpressionLimitError):
        render("{{a}}" + "x" * 200, {})


def test_default_nesting_handles_realistic_depth() -> None:
    assert evaluate("(" * 30 + "1" + ")" * 30, {}) == 1
    with pytest.raises(ExpressionLimitError):
        evaluate("(" * 200 + "1" + ")" * 200, {})


def test_configure_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        configure({"max_nesting_depth": 1})  # type: ignore[arg-type]
