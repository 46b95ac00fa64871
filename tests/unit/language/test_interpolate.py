"""render(): interpolation rules, text embedding, leave mode, exclusions, DECISIONS row 7."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from language import (
    UNDEFINED,
    InvalidExpressionSyntax,
    InvalidVariableNameError,
    render,
)

from .helpers import fixed_env

ENV = fixed_env()
SCOPE: dict[str, Any] = {
    "a": {"b": 1, "c": "{{a.b}}", "e": "{% 1 + 1 %}"}, "name": "a.b", "k": "b", "n": None, "f": 1.0,
    "l": [1, 2], "o": {"x": "y"}, "s": "text", "t": True, "z": 0, "dollar": "$&",
}


def r(value: Any, **kw: Any) -> Any:
    return render(value, SCOPE, env=ENV, **kw)


# ---------------------------------------------------------------- DECISIONS row 7
def test_decision_7_substituted_text_is_not_scanned_again() -> None:
    assert r("x {{a.c}}") == "x {{a.b}}"
    assert r("{{a.c}}") == "{{a.b}}"
    assert r("x {{a.e}} y") == "x {% 1 + 1 %} y"
    assert r('x {% "{{a.b}}" %}') == "x {{a.b}}"
    assert render("{{un}} et {{deux}}", {"un": "un+{{deux}}", "deux": "trois"}) == "un+{{deux}} et trois"


def test_decision_7_replacement_is_literal() -> None:
    assert r("value: {{dollar}}") == "value: $&"


# ---------------------------------------------------------------- whole strings keep their type
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{l}}", [1, 2]), ("{{o}}", {"x": "y"}), ("{{z}}", 0), ("{{t}}", True), ("{{n}}", None),
        ("{{f}}", 1.0), ("{% 1 < 2 %}", True), ("{% {{l}} %}", [1, 2]), ("{{{{name}}}}", 1),
        ("{{a[{{k}}]}}", 1), ('{{a["{{k}}"]}}', 1), ("{{l[1]}}", 2), ("{{s[0]}}", "t"),
    ],
)
def test_whole_string_keeps_type(template: str, expected: Any) -> None:
    got = r(template)
    assert got == expected and type(got) is type(expected)


def test_whole_string_missing_is_undefined() -> None:
    assert r("{{missing}}") is UNDEFINED
    assert r("{{a[{{missing}}]}}") is UNDEFINED
    assert r("{% undefined %}") is UNDEFINED
    assert r("{{}}") is UNDEFINED


# ---------------------------------------------------------------- text embedding
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("[{{s}}]", "[text]"), ("[{{n}}]", "[]"), ("[{{missing}}]", "[]"), ("[{{f}}]", "[1]"),
        ("[{{t}}]", "[true]"), ("[{{z}}]", "[0]"), ("[{{l}}]", "[[\n  1,\n  2\n]]"),
        ("[{{o}}]", '[{\n  "x": "y"\n}]'), ("{{s}}{{s}}", "texttext"), ("{{{s}}}", "{text}"),
        ("total: {% {{a.b}} * 2 %}", "total: 2"), ("{% 1 %} < 2", "1 < 2"),
        ("plain } text % {", "plain } text % {"), ("{% unclosed {{s}}", "{% unclosed {{s}}"),
        ("a %} {{s}}", "a %} text"), ("x\x00{{s}}\x00", "x\x00text\x00"),
        ("[{{ s }}]", "[]"),  # no trimming: the key is " s "
    ],
)
def test_text_embedding(template: str, expected: str) -> None:
    assert r(template) == expected


def test_walks_containers_and_keeps_keys() -> None:
    value = {"{{s}}": ["{{s}}", {"k": "{{z}}"}, 3, None, True], "n": 1.5}
    assert r(value) == {"{{s}}": ["text", {"k": 0}, 3, None, True], "n": 1.5}


def test_input_is_never_mutated() -> None:
    value = {"a": ["{{s}}", {"b": "{{l}}"}], "do": ["{{s}}"]}
    before = copy.deepcopy(value)
    out = r(value, exclude={"do"})
    assert value == before
    assert out is not value and out["a"] is not value["a"]


def test_exclude_applies_at_any_depth() -> None:
    value = {"do": ["{{s}}"], "x": {"do": "{{s}}", "conditions": {"{{s}}": "{{s}}"}, "y": "{{s}}"}}
    assert r(value, exclude={"do", "conditions"}) == {
        "do": ["{{s}}"], "x": {"do": "{{s}}", "conditions": {"{{s}}": "{{s}}"}, "y": "text"},
    }


def test_leave_mode_keeps_unresolved_variables() -> None:
    assert r("{{missing}}", undefined_vars="leave") == "{{missing}}"
    assert r("a {{missing.x}} {{s}}", undefined_vars="leave") == "a {{missing.x}} text"
    assert r("{{a[{{nope}}]}}", undefined_vars="leave") == "{{a[{{nope}}]}}"
    assert r("{{o[{{k}}]}}", undefined_vars="leave") == "{{o[b]}}"
    assert r("{{n}}", undefined_vars="leave") is None


def test_eval_expressions_false_leaves_expressions() -> None:
    tpl = "x {% 1 + 1 %} {{s}}"
    assert r(tpl, eval_expressions=False, undefined_vars="leave") == "x {% 1 + 1 %} text"
    assert r(tpl, eval_expressions=False) == "x {% 1 + 1 %} text"
    assert r("{% 1 + 1 %}", eval_expressions=False) == "{% 1 + 1 %}"


def test_config_loading_shape() -> None:
    config = {"url": "{{config.base}}/api", "token": "{{secret.token}}", "later": "{% {{run.x}} %}",
              "missing": "{{secret.nope}}"}
    scope = {"config": {"base": "https://x"}, "secret": {"token": "s3"}}
    assert render(config, scope, undefined_vars="leave", eval_expressions=False) == {
        "url": "https://x/api", "token": "s3", "later": "{% {{run.x}} %}", "missing": "{{secret.nope}}",
    }


def test_syntax_error_in_template_expression() -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        r("x {% 1 + %}")
    assert info.value.details["expression"] == " 1 + "


def test_invalid_static_path_raises() -> None:
    with pytest.raises(InvalidVariableNameError):
        r("x {{a.}}")
    with pytest.raises(InvalidVariableNameError):
        r("{{[0]}}")


def test_invalid_dynamic_path_is_undefined() -> None:
    assert r("x{{a[{{missing}}]}}y") == "xy"
