"""Invalid expressions (issue 17 items 7 and 10): what the runtime does with each, and what the
import-time check (``template_problems`` / ``expression_problems``) reports, with its column.

Run time: ``+++``/``--`` and unknown functions are errors. A bare word stays the text it has
always been (the corpus pins ``bonjour``, ``salut !== aurevoir``, ``foo in {{obj}}`` in
conditions), and an unclosed ``{{``/``{%`` stays literal text (docs/language.md §2, as the
reference platform does); the import check reports both inside templates.

The check accepts every template and condition the conformance corpus and docs/language.md expect
to work (both swept below)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from language import (
    InvalidExpressionSyntax,
    TemplateProblem,
    evaluate,
    expression_problems,
    render,
    template_problems,
)

from .helpers import cases_dir, fixed_env
from .test_docs_examples import EXAMPLES

SCOPE: dict[str, Any] = {"a": 1, "b": 2, "s": "text"}


# ---------------------------------------------------------------- run time
@pytest.mark.parametrize(("template", "message"), [
    ("{% {{a}} +++ {{b}} %}", "'+++' is not an operator at position 7"),
    ("{% {{a}} ++ {{b}} %}", "'++' is not an operator"),
    ("{% {{a}} --- {{b}} %}", "'---' is not an operator"),
    ("{% {{a}}--{{b}} %}", "'--' is not an operator"),
    ("{% 1 +-- 2 %}", "'--' is not an operator"),
    ("{% lowerr({{s}}) %}", "unknown function 'lowerr' (did you mean 'lower'?) at position 1"),
    ("{% isstring({{s}}) and upperr(x) %}", "unknown function 'upperr' (did you mean 'upper'?)"),
    ("{% zzz(1) %}", "unknown function 'zzz' at position 1"),
    ("{% map({{s}}) %}", "unsupported function: 'map' takes a callback, and expressions have no callbacks"),
    ("{% Object({{s}}) %}", "'Object' is a JavaScript namespace, not a function of the language"),
])
def test_invalid_expressions_are_errors_at_run_time(template: str, message: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        render(template, SCOPE, env=fixed_env())
    assert message in info.value.message


@pytest.mark.parametrize(("expression", "expected"), [
    ("{{a}} + -{{b}}", -1), ("{{a}} - -{{b}}", 3), ("- -{{a}}", 1), ("!!{{a}}", True), ("{{a}} +-{{b}}", -1),
    ("{{a}} + +{{b}}", 3), ("fr-FR", "fr-FR"), ("a--b", "a--b"),  # '--' inside a bare word is part of it
])
def test_signs_and_words_that_stay_valid(expression: str, expected: Any) -> None:
    assert evaluate(expression, SCOPE, env=fixed_env()) == expected


def test_bare_words_and_unclosed_delimiters_keep_their_documented_run_time_meaning() -> None:
    # the corpus pins bare words as text in the expression language; the import check reports them
    assert render("{% myVar + 1 %}", {}, env=fixed_env()) == "myVar1"
    assert render("Hi {{name", {"name": "x"}, env=fixed_env()) == "Hi {{name"
    assert render("{% 1 + 1", {}, env=fixed_env()) == "{% 1 + 1"


# ---------------------------------------------------------------- the import check
def found(problems: list[TemplateProblem]) -> list[tuple[int, str]]:
    return [(p.column, p.kind) for p in problems]


@pytest.mark.parametrize(("template", "expected", "message"), [
    ("{% {{a}} +++ {{b}} %}", [(10, "invalid-operator")], "'+++' is not an operator"),
    ("{% myVar + 1 %}", [(4, "bare-name")], "'myVar' is a bare name: write {{myVar}} for a variable, or \"myVar\" for text"),
    ("Hi {{name", [(4, "unclosed-variable")], "unclosed '{{' opened at column 4: close it with '}}'"),
    ("x {% 1 + 1", [(3, "unclosed-expression")], "unclosed '{%' opened at column 3: close it with '%}'"),
    ("{% unclosed {{s}}", [(1, "unclosed-expression")], "unclosed '{%' opened at column 1"),
    ("a {{b}} {{c", [(9, "unclosed-variable")], "unclosed '{{' opened at column 9"),
    ("{% {{a} + 1 %}", [(4, "unclosed-variable")], "unclosed '{{' opened at column 4"),
    ("{% lowerr({{x}}) %}", [(4, "unknown-function")], "unknown function 'lowerr' (did you mean 'lower'?)"),
    ("{% filter({{x}}) %}", [(4, "unsupported-function")], "'filter' takes a callback"),
    ("{% (1 + %}", [(9, "syntax")], "unexpected end of expression"),
    ("{% %}", [(4, "syntax")], "empty expression"),
    ("x {{a..b}} y", [(7, "invalid-path")], "invalid variable name 'a..b': empty segment"),
    ("{% [1, 2 %}", [(10, "syntax")], "expected ',' or ']'"),
    ("{% 'unterminated %}", [(4, "syntax")], "unterminated string"),
    ("{{a[{% b %}]}}", [(8, "bare-name")], "'b' is a bare name"),
    ("{% date({{d}}, 'LT', fr) %}", [(22, "bare-name")], "'fr' is a bare name"),
])
def test_each_invalid_form_is_reported_with_its_column(template: str, expected: list[tuple[int, str]],
                                                       message: str) -> None:
    problems = template_problems(template)
    assert found(problems) == expected, problems
    assert message in problems[0].message


def test_every_problem_of_a_string_is_reported_at_once() -> None:
    problems = template_problems("{% lowerr({{a}}) +++ myVar %} and {% upperr(1) %} then {{x")
    assert found(problems) == [(4, "unknown-function"), (18, "invalid-operator"), (22, "bare-name"),
                               (38, "unknown-function"), (56, "unclosed-variable")]


@pytest.mark.parametrize(("expression", "expected"), [
    ("lowerr(1) +++ 2", [(1, "unknown-function"), (11, "invalid-operator")]),
    ("{{a}} >", [(8, "syntax")]),
    ("{{a}} == {{b", [(10, "unclosed-variable")]),
    ("date({{d}}).minute > 34 and {% jsonmatchh({{o}}, {{q}}) %}", [(32, "unknown-function")]),
])
def test_condition_problems(expression: str, expected: list[tuple[int, str]]) -> None:
    assert found(expression_problems(expression)) == expected


@pytest.mark.parametrize("text", [
    "", "plain text", "plain } text % {", "{{{x}}}", "{{a[{{b}}]}}", "{{{{name}}}}", "a %} {{s}}", "{{ spaced }}",
    "{% isArray(someArray) %}", "{% isObject(deep.user) and true %}", "{% \"{{someVar}}\" %}",
    "{% join(['a','b'], '-') %}", "{% ['a', {{x}}] %}", "{% {\"k\": 1, \"v\": {{y}}} %}",
    "{% deepmerge({{a}}, {{b}}, {concatStrings: true}) %}", "{% URL({{u}}).hostname %}",
    "{% date({{run[{{key}}]}}).date  < date({{run[date2]}}).date %}", "{% {% 1 %} + 2 %}",
    "{% {{a}} + -{{b}} %}", "{% null == undefined %}", "{% regex(a(b)c) %}", "{% LOWER({{s}}) %}",
    "x {% rand(1, 2) %} y {{z}}", "{% {{counter}} + 1 %}",
])
def test_valid_templates_have_no_problem(text: str) -> None:
    assert template_problems(text) == []


@pytest.mark.parametrize("expression", ["bonjour", "salut !== aurevoir", "foo in {{obj}}", "isArray(someArray)",
                                        "bonjor matches \"or\"", "{{a}} and {% {{b}} > 1 %}", "1 == 1"])
def test_bare_words_are_valid_in_conditions(expression: str) -> None:
    assert expression_problems(expression) == []


def test_non_strings_are_not_templates() -> None:
    assert template_problems(12) == []  # type: ignore[arg-type]
    assert found(expression_problems(None)) == [(1, "syntax")]  # type: ignore[arg-type]


# ---------------------------------------------------------------- sweeps: nothing valid is reported
def _load(name: str) -> Any:
    path = cases_dir() / name
    if not path.exists():
        pytest.skip(f"conformance corpus not found at {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _strings(value: Any, path: str, in_conditions: bool = False) -> list[tuple[str, str, bool]]:
    """Every string of a workspace: (path, text, is a condition key)."""
    out: list[tuple[str, str, bool]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if in_conditions and isinstance(key, str) and key != "default":
                out.append((f"{path}/{key}", key, True))
            out.extend(_strings(item, f"{path}/{key}", key == "conditions"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_strings(item, f"{path}[{i}]"))
    elif isinstance(value, str):
        out.append((path, value, False))
    return out


def _problems(text: str, is_condition: bool) -> list[TemplateProblem]:
    return expression_problems(text) if is_condition else template_problems(text)


def test_corpus_expressions_expected_to_work_have_no_problem() -> None:
    cases = _load("expressions.yaml")
    checked = 0
    for case in cases:
        if "expected_error" in case or case.get("skip"):
            continue
        expression = case["expression"]
        assert expression_problems(expression) == [], case["name"]
        if case.get("mode") == "value":  # how {% %} evaluates: the same text inside a template
            assert template_problems("{% " + expression + " %}") == [], case["name"]
        checked += 1
    assert checked > 130


def test_corpus_templates_and_automations_have_no_problem() -> None:
    strings: list[tuple[str, str, bool]] = []
    for case in _load("interpolation.yaml"):
        if "expected_error" not in case:
            strings.extend(_strings(case["template"], case["name"]))
    automations = _load("automations.yaml")
    strings.extend(_strings(automations["fixtures"], "fixtures"))
    for case in automations["cases"]:
        strings.extend(_strings(case.get("workspace"), case["name"]))
        strings.extend(_strings(case.get("apps"), case["name"]))
    reported = [(path, text, _problems(text, cond)) for path, text, cond in strings if _problems(text, cond)]
    assert reported == []
    assert len(strings) > 700


def test_docs_examples_expected_to_work_have_no_problem() -> None:
    checked = 0
    for kind, lineno, text, _scope, result in EXAMPLES:
        if result.startswith("error:"):
            continue
        if kind in ("expression", "condition"):
            strings = [("", text, True)]
        elif kind.startswith("template-json"):
            strings = _strings(json.loads(text), "")
        else:
            strings = [("", text, False)]
        for _path, value, cond in strings:
            assert _problems(value, cond) == [], f"docs/language.md line {lineno}: {value}"
            checked += 1
    assert checked > 150



@pytest.mark.parametrize("template", ["{% {{a}} == active %}", "{% {{mode}} == global and {{global}} or {{run}} %}",
                                      "{% {{a}} != off || {{b}} %}"])
def test_a_bare_word_compared_or_combined_is_text(template: str) -> None:
    """Comparing with a bare word (`{{mode}} == global`) is the documented way to compare with text:
    only a bare word in arithmetic or standing alone is reported."""
    assert template_problems(template) == []
