"""Interpolation (docs/language.md §2) as pure unit tests: ``{{ }}`` keeping types when it is the
whole string, ``{% %}`` expressions, nested templates, text embedding, containers, leave and
expression-free modes, exclusions, substituted text never scanned again."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from language import UNDEFINED, InvalidExpressionSyntax, InvalidVariableNameError, render

SCOPE: dict[str, Any] = {
    "a": {"b": {"c": "deep"}}, "k": "b", "kk": "c", "path": "a.b.c", "i": 1, "list": ["x", "y", "z"],
    "m": {"y": "Y!"}, "half": 1.5, "two": 2.0, "huge": 12345678901234567890, "minus_zero": -0.0,
    "template": "{{k}}", "accents": "ünï", "nul": None, "flag": False, "obj": {"q": [1, {"r": None}]},
}


def r(value: Any, **options: Any) -> Any:
    return render(value, SCOPE, **options)


@pytest.mark.parametrize(("template", "expected"), [
    # nested templates: the innermost is resolved first, its text becoming part of the outer path
    ("{{a.{{k}}.{{kk}}}}", "deep"), ("{{a[{{k}}][{{kk}}]}}", "deep"), ("{{{{path}}}}", "deep"),
    ("{{list[{{i}}]}}", "y"), ("{{m[{{list[{{i}}]}}]}}", "Y!"), ("{{obj.q[{{i}}]}}", {"r": None}),
    ("{% {{i}} + {% {{i}} * 10 %} %}", 11), ("{% {% {{i}} %} == 1 %}", True),
    ("{% {{list[{% {{i}} + 1 %}]}} %}", "z"),
    # the whole string keeps the value's type
    ("{{obj}}", {"q": [1, {"r": None}]}), ("{{flag}}", False), ("{{nul}}", None), ("{{two}}", 2.0),
    ("{% {{list}} %}", ["x", "y", "z"]), ("{% {{i}} > 0 and {{obj}} %}", {"q": [1, {"r": None}]}),
    # missing parts
    ("{{a.{{missing}}}}", UNDEFINED), ("{{missing}}", UNDEFINED), ("{% {{missing}} %}", UNDEFINED),
])
def test_whole_string_templates(template: str, expected: Any) -> None:
    result = r(template)
    if expected is UNDEFINED:
        assert result is UNDEFINED
    else:
        assert result == expected and type(result) is type(expected), result


@pytest.mark.parametrize(("template", "expected"), [
    ("x {{a.{{missing}}}} y", "x  y"), ("[{{nul}}|{{missing}}|{{flag}}]", "[||false]"),
    ("n={{half}} two={{two}} huge={{huge}} zero={{minus_zero}}", "n=1.5 two=2 huge=12345678901234567000 zero=0"),
    ("{{accents}}-{{accents}}", "ünï-ünï"), ("{{list}}!", '[\n  "x",\n  "y",\n  "z"\n]!'),
    ("{% {{list}} %}!", '[\n  "x",\n  "y",\n  "z"\n]!'), ("{{obj}} ", '{\n  "q": [\n    1,\n    {\n      "r": null\n'
                                                                '    }\n  ]\n} '),
    ("sum: {% {{i}} + {{half}} %}, ok: {% {{i}} < 2 %}", "sum: 2.5, ok: true"),
    ("{{k}}{{kk}}{{k}}", "bcb"), ("{{ k }}", UNDEFINED), ("a {{ k }} b", "a  b"),  # paths are not trimmed
])
def test_text_templates(template: str, expected: Any) -> None:
    result = r(template)
    assert result is UNDEFINED if expected is UNDEFINED else result == expected, result


def test_substituted_text_is_never_scanned_again() -> None:
    # DECISIONS 7
    assert r("{{template}}") == "{{k}}"
    assert r("say {{template}}") == "say {{k}}"
    assert r(["{{template}}", {"x": "{{template}}!"}]) == ["{{k}}", {"x": "{{k}}!"}]
    assert r("{% '{{k}}' %}") == "{{k}}"  # a quoted string is the way to write template syntax


def test_containers_are_walked_keys_kept_scalars_untouched() -> None:
    value = {"{{k}}": "{{k}}", "n": 3, "t": True, "z": None, "nested": [{"x": "{% {{i}} > 0 %}"}, ["{{i}}", 2.5]],
             "gone": "{{missing}}"}
    before = copy.deepcopy(value)
    result = r(value)
    assert value == before  # the input is never changed
    assert result["gone"] is UNDEFINED
    assert {k: v for k, v in result.items() if k != "gone"} == {
        "{{k}}": "b", "n": 3, "t": True, "z": None, "nested": [{"x": True}, [1, 2.5]]}


def test_exclusions_keep_values_untouched_at_any_depth() -> None:
    value = {"do": "{{i}}", "conditions": {"{{i}}": ["{{i}}"]}, "x": "{{i}}", "inner": {"do": ["{{i}}"], "y": "{{i}}"}}
    assert r(value, exclude={"do", "conditions"}) == {
        "do": "{{i}}", "conditions": {"{{i}}": ["{{i}}"]}, "x": 1, "inner": {"do": ["{{i}}"], "y": 1}}


def test_leave_and_expression_free_modes() -> None:
    assert r("{{missing}} and {{i}}", undefined_vars="leave") == "{{missing}} and 1"
    assert r("{% {{missing}} %}", undefined_vars="leave") == "{% {{missing}} %}"
    assert r("{{a.{{k}}.nope}}", undefined_vars="leave") == "{{a.b.nope}}"
    assert r({"a": ["{{missing}}", "{% 1 %}"], "b": "{{i}}"}, undefined_vars="leave", eval_expressions=False) == {
        "a": ["{{missing}}", "{% 1 %}"], "b": 1}
    assert r("{% 1 + 1 %} {{k}}", eval_expressions=False) == "{% 1 + 1 %} b"


def test_errors() -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        r("total: {% {{i}} + %}")
    assert info.value.details["expression"] == " {{i}} + "
    with pytest.raises(InvalidVariableNameError):
        r("x {{a..b}} y")
    with pytest.raises(InvalidVariableNameError):
        r("{{list[}}")
    # a nested template that builds an invalid path is undefined, not an error
    assert r("{{a[{{missing}}]}}") is UNDEFINED
