"""Array and object literals inside expressions (issue 17 item 7): ``join(['a','b'], '-')``,
``{% ['a', {{x}}] %}``, ``{% {"k": 1, "v": {{y}}} %}`` and the unquoted keys the reference
documentation writes (``URLSearchParams({foo: "bar"})``, ``{concatStrings: true}``)."""

from __future__ import annotations

from typing import Any

import pytest

from language import UNDEFINED, InvalidExpressionSyntax, evaluate, render

from .helpers import fixed_env

SCOPE: dict[str, Any] = {"x": 2, "y": [1, 2], "name": "Ada", "o": {"k": "v"}}


def r(template: Any) -> Any:
    return render(template, SCOPE, env=fixed_env())


@pytest.mark.parametrize(("template", "expected"), [
    ("{% join(['a','b'], '-') %}", "a-b"),
    ("{% ['a', {{x}}] %}", ["a", 2]),
    ('{% {"k": 1, "v": {{y}}} %}', {"k": 1, "v": [1, 2]}),
    ("{% {k: 1, 'quoted key': {{name}}, 3: true, null: null} %}", {"k": 1, "quoted key": "Ada", "3": True, "null": None}),
    ("{% [] %}", []), ("{% {} %}", {}), ("{%[1,2,]%}", [1, 2]), ("{% {a: 1,} %}", {"a": 1}),
    ("{% [[1, [2]], {a: [{b: {{o}}}]}] %}", [[1, [2]], {"a": [{"b": {"k": "v"}}]}]),
    ("{% [{{x}} * 2, {{x}} > 1, lower({{name}})] %}", [4, True, "ada"]),
    ("{% {a: 1, a: 2} %}", {"a": 2}),  # a later duplicate key wins, as in JavaScript
    ("{% {a: {b: {c: {{x}}}}} %}", {"a": {"b": {"c": 2}}}),
    ("{% {time: '10:30', url: 'https://x.fr'} %}", {"time": "10:30", "url": "https://x.fr"}),
    ("{% ['a', 'b'].length %}", 2), ("{% {k: {{y}}}.k %}", [1, 2]), ("{% {{x}} in [1, 2, 3] %}", True),
    ("{% 'k' in {k: 1} %}", True), ("{% [1, 2] == [1, 2] %}", True),
    ("n={% [1, {{x}}] %}", "n=[\n  1,\n  2\n]"),
    ("{% [{{missing}}] %}", [UNDEFINED]),
    ("{% date('2023-03-31T10:00:00Z', 'HH:mm', en, UTC) %}", "10:00"),  # ':' outside braces stays part of words
])
def test_literals(template: str, expected: Any) -> None:
    assert r(template) == expected


def test_every_evaluation_builds_new_containers() -> None:
    first, second = r(["{% [1, [2]] %}", "{% [1, [2]] %}"])
    assert first == second and first is not second and first[1] is not second[1]
    program_result = evaluate("{a: []}", {}, env=fixed_env())
    program_result["a"].append(1)
    assert evaluate("{a: []}", {}, env=fixed_env()) == {"a": []}


@pytest.mark.parametrize(("expression", "message"), [
    ("[1, 2", "Expected ',' or ']'"), ("{a: 1", "Expected ',' or '}'"), ("{a 1}", "Expected ':' after the key"),
    ("{[1]: 2}", "Expected a key"), ("{: 1}", "Expected a key"), ("[1 2]", "Expected ',' or ']'"),
    ("{a: }", "Unexpected '}'"), ("[,]", "Unexpected ','"), ("{ 1", "Expected ':' after the key"),
])
def test_malformed_literals_are_syntax_errors(expression: str, message: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        evaluate(expression, SCOPE, env=fixed_env())
    assert message in info.value.message
