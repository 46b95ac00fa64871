"""matches / regex(): RE2 (linear time), JS /pattern/flags, errors and limits."""

from __future__ import annotations

import pytest

from language import (
    ExpressionLimitError,
    InvalidExpressionSyntax,
    LanguageLimits,
    configure,
    evaluate_condition,
    get_limits,
)

from .helpers import fixed_env


def cond(expr: str, **scope: object) -> bool:
    return evaluate_condition(expr, scope, env=fixed_env())


@pytest.mark.parametrize(
    ("expr", "scope", "expected"),
    [
        ('"LOWERCASE" matches regex(/lowercase/i)', {}, True),
        ('"LOWERCASE" matches regex(/lowercase/)', {}, False),
        ('"a\nb" matches regex(/^b$/m)', {}, True),
        ('"a\nb" matches regex(/a.b/s)', {}, True),
        ('"a\nb" matches regex(/a.b/)', {}, False),
        ('"abc" matches regex(/b/gy)', {}, True),
        ('"x@y.fr" matches REGEX({{re}}|aurevoir)', {"re": "bonjour"}, False),
        ('"bonjour" matches REGEX({{re}}|aurevoir)', {"re": "bonjour"}, True),
        ('"a(b)" matches regex(\\(b\\))', {}, True),
        ('"ab" matches regex((a|x)(b))', {}, True),
        ('"é" matches regex(\\u00e9)', {}, True),
        ('"A1" matches regex(^(?<letter>[A-Z])\\d$)', {}, True),
        ('"a/b" matches regex(/a\\/b/)', {}, True),
        ("{{t}} matches {{p}}", {"t": "ScAtMaN", "p": ["/scatman/i"]}, True),
        ("{{t}} matches {{p}}", {"t": "x", "p": ["/scatman/i", "x"]}, True),
        ("{{t}} matches {{p}}", {"t": "x", "p": []}, False),
        ('"/x/i" matches "/x/i"', {}, True),
        ("{{t}} matches {{p}}", {"t": "x", "p": None}, False),
        ("{{n}} matches 12", {"n": 123}, True),
    ],
)
def test_matches(expr: str, scope: dict, expected: bool) -> None:
    assert cond(expr, **scope) is expected


def test_catastrophic_pattern_is_linear() -> None:
    # (a+)+$ backtracks exponentially in a backtracking engine; RE2 answers at once.
    assert cond("{{t}} matches regex((a+)+$)", t="a" * 5000 + "!") is False
    assert cond("{{t}} matches {{p}}", t="a" * 30 + "!", p="(a|aa)+$") is False


@pytest.mark.parametrize("pattern", ["(?=a)", "(a)\\1", "(", "[z-a]", "a{2,1}"])
def test_unsupported_or_invalid_patterns_raise(pattern: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        cond("x matches {{p}}", p=pattern)
    assert info.value.details["pattern"] == pattern


def test_invalid_flags_raise() -> None:
    with pytest.raises(InvalidExpressionSyntax):
        cond("x matches {{p}}", p=["/x/ii"])


def test_regex_length_limit() -> None:
    old = get_limits()
    configure(LanguageLimits(max_regex_length=10))
    try:
        with pytest.raises(ExpressionLimitError):
            cond("x matches {{p}}", p="a" * 11)
        assert cond("x matches {{p}}", p="x") is True
    finally:
        configure(old)
