"""``conditions`` (spec §3.3, §4.5): keys tried in order with the condition grammar, ``{{}}`` in
keys keeping their types, ``default``, nesting, branches interpolated only when they run."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.dsul import WorkspaceSource
from tests.api.helpers import workspace_doc
from tests.engine.helpers import Workspace, hook
from tests.stack import Stack


def r(value: str) -> dict[str, Any]:
    return {"set": {"name": "r", "value": value}}


CLASSIFY = hook([{"conditions": {
    "{{body.n}} === 5": [r("strict-five")],
    "{{body.n}} == 5": [r("loose-five")],
    "{{body.n}} > 100 and {{body.n}} < 1000": [r("hundreds")],
    "{{body.s}} matches regex(/^ab+c$/i)": [r("regex")],
    "{{body.s}} in {{body.list}}": [r("member")],
    "not {{body.flag}} and {{body.flag}} exists": [r("falsy-flag")],
    "{{body.flag}} || {{body.other}}": [r("truthy")],
    "default": [r("default")],
}}], "{{r}}")

AUTOMATIONS = {
    "classify": CLASSIFY,
    "nested": hook([{"conditions": {
        "{{body.a}}": [{"conditions": {"{{body.b}}": [r("a-b")], "default": [r("a-not-b")]}}],
        "default": [{"conditions": {"{{body.b}}": [r("b-only")]}}],
    }}], {"r": "{{r}}"}),
    "first-match-only": hook([{"set": {"name": "hits", "value": []}}, {"conditions": {
        "1 == 1": [{"set": {"name": "hits[]", "value": "first"}}],
        "2 == 2": [{"set": {"name": "hits[]", "value": "second"}}],
        "default": [{"set": {"name": "hits[]", "value": "default"}}],
    }}], "{{hits}}"),
    "no-match-no-default": hook([r("before"), {"conditions": {"{{body.never}}": [r("changed")]}}, {"set": {
        "name": "after", "value": True}}], {"r": "{{r}}", "after": "{{after}}"}),
    "only-default": hook([{"conditions": {"default": [r("default-ran")]}}], "{{r}}"),
    # Branches are interpolated when each of their instructions runs: `b` sees the `a` just set.
    "branch-is-lazy": hook([{"conditions": {"true": [{"set": {"name": "a", "value": 1}},
                                                      {"set": {"name": "b", "value": "{{a}}"}}]}}], "{{b}}"),
    "expression-in-key": hook([{"conditions": {"{% {{body.n}} * 2 %} == 10": [r("ten")], "default": [r("no")]}}],
                              "{{r}}"),
    "contexts-in-key": hook([{"conditions": {
        "{{run.trigger.type}} == endpoint and {{method}} == POST": [r("endpoint-post")], "default": [r("no")]}}],
        "{{r}}"),
    "nested-variable-in-key": hook([{"set": {"name": "limits", "value": {"gold": 100, "free": 1}}}, {"conditions": {
        "{{body.used}} < {{limits[{{body.plan}}]}}": [r("allowed")], "default": [r("over")]}}], "{{r}}"),
    "key-with-lists-and-objects": hook([{"conditions": {
        "{{body.l}} == {{body.m}}": [r("equal-by-value")], "{{body.l}}": [r("non-empty-list-truthy")],
        "default": [r("default")]}}], "{{r}}"),
    "error-inside-default-is-located": hook([{"conditions": {"false": [], "default": [
        {"repeat": {"on": "{{body.s}}", "do": []}}]}}], {"unreachable": True}),
}

CLASSIFY_CASES = [
    ({"n": 5}, "strict-five"),
    ({"n": "5"}, "loose-five"),  # the key kept the string type: `===` fails, `==` matches
    ({"n": 150}, "hundreds"),
    ({"n": "150"}, "hundreds"),  # a string against numbers compares as a number
    ({"n": 1500}, "default"),
    ({"s": "ABBBC"}, "regex"),
    ({"s": "abd"}, "default"),
    ({"s": "x", "list": ["y", "x"]}, "member"),
    ({"s": "x", "list": "w,x,y"}, "member"),
    ({"s": "x", "list": {"x": 1}}, "member"),
    ({"flag": False}, "falsy-flag"),
    ({"flag": 0}, "falsy-flag"),
    ({"flag": ""}, "falsy-flag"),
    ({"flag": None}, "default"),  # null does not exist
    ({"other": "yes"}, "truthy"),
    ({"flag": []}, "truthy"),  # an empty list is truthy
    ({"flag": {}}, "truthy"),
    ({}, "default"),
]


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()})


@pytest.mark.parametrize(("body", "expected"), CLASSIFY_CASES, ids=[f"{b}->{e}" for b, e in CLASSIFY_CASES])
async def test_first_true_key_wins(ws: Workspace, body: dict[str, Any], expected: str) -> None:
    assert await ws.run("classify", body) == expected


@pytest.mark.parametrize(("body", "expected"), [
    ({"a": True, "b": True}, {"r": "a-b"}), ({"a": True}, {"r": "a-not-b"}),
    ({"b": 1}, {"r": "b-only"}), ({}, {}),
])
async def test_nested_conditions(ws: Workspace, body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert await ws.run("nested", body) == expected


async def test_only_the_first_matching_branch_runs(ws: Workspace) -> None:
    assert await ws.run("first-match-only") == ["first"]


async def test_no_match_without_default_runs_nothing_and_goes_on(ws: Workspace) -> None:
    assert await ws.run("no-match-no-default") == {"r": "before", "after": True}
    assert await ws.run("only-default") == "default-ran"


async def test_branches_are_interpolated_when_they_run(ws: Workspace) -> None:
    assert await ws.run("branch-is-lazy") == 1


@pytest.mark.parametrize(("slug", "body", "expected"), [
    ("expression-in-key", {"n": 5}, "ten"), ("expression-in-key", {"n": 4}, "no"),
    ("contexts-in-key", {}, "endpoint-post"),
    ("nested-variable-in-key", {"plan": "gold", "used": 50}, "allowed"),
    ("nested-variable-in-key", {"plan": "free", "used": 50}, "over"),
    ("key-with-lists-and-objects", {"l": [1, {"a": 2}], "m": [1, {"a": 2}]}, "equal-by-value"),
    ("key-with-lists-and-objects", {"l": [1], "m": [2]}, "non-empty-list-truthy"),
    ("key-with-lists-and-objects", {"l": 0}, "default"),
])
async def test_keys_are_expressions_with_typed_variables(ws: Workspace, slug: str, body: dict[str, Any],
                                                         expected: str) -> None:
    assert await ws.run(slug, body) == expected


async def test_invalid_key_fails_the_run_at_its_instruction(ws: Workspace) -> None:
    # The import refuses it (test_import_checks_today.py); a definition stored before that check
    # existed still fails at run time, at its instruction.
    bad = hook([{"set": {"name": "x", "value": 1}}, {"conditions": {"{{x}} + ": [r("never")]}}], {"unreachable": True},
               name="bad-expression")
    refused = await ws.stack.http.post("/v2/workspaces/import", headers=ws.stack.auth,
                                       json=workspace_doc({"bad-expression": bad}))
    assert refused.status_code == 400 and "(column " in refused.text
    stored = await ws.stack.services.workspaces.create(WorkspaceSource.from_document(
        workspace_doc({"bad-expression": bad})), validate=False)
    ws = Workspace(ws.stack, stored.id, stored.slug)
    call = await ws.call("bad-expression")
    body = call.error("InvalidExpressionSyntax")
    assert body["at"] == {"automation": "bad-expression", "instruction": "do[1]"}
    assert body["details"]["expression"] == "{{x}} + "
    errors = await call.events(types="error")
    assert [e["payload"]["error"] for e in errors] == ["InvalidExpressionSyntax"]


async def test_error_inside_default_branch_is_located(ws: Workspace) -> None:
    body = (await ws.call("error-inside-default-is-located", {"s": "text"})).error("InvalidInstructionError")
    assert body["at"]["instruction"] == "do[0].conditions.default[0]"
    assert "repeat.on is a string" in body["message"]
