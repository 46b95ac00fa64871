"""What ``POST /v2/workspaces/import`` reports for malformed workspaces (docs/decisions.md "Imports
and validation"): every problem at once, each with the path of the offending value, and nothing
written. Instructions, automation fields, slugs, endpoints, archives."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import make_zip, unique_slug
from tests.stack import Stack

ROUTE = "/v2/workspaces/import"


async def import_problems(stack: Stack, document: dict[str, Any]) -> list[dict[str, str]]:
    """The ``details`` of a refused import (asserting it was refused as InvalidWorkspaceError)."""
    response = await stack.http.post(ROUTE, json=document, headers=stack.auth)
    body = response.json()
    assert response.status_code == 400 and body["error"] == "InvalidWorkspaceError", body
    assert body["message"].startswith("Invalid workspace: ")
    details: list[dict[str, str]] = body["details"]
    return details


def with_do(*instructions: Any) -> dict[str, Any]:
    return {"name": "validation", "automations": {"a": {"name": "a", "do": list(instructions)}}}


# (instruction, path after `document: automations.a.do[0]`, a part of the message)
INSTRUCTIONS: dict[str, tuple[Any, str, str]] = {
    "null-argument": ({"set": None}, ".set", "instruction 'set' has a null value (write {} for no arguments)"),
    "null-call-argument": ({"myAutomation": None}, ".myAutomation", "instruction 'myAutomation' has a null value"),
    "two-keys": ({"set": {"name": "a", "value": 1}, "emit": {"event": "x"}}, "",
                 'an instruction has exactly one key, got 2 ("set", "emit")'),
    "no-key": ({}, "", "an instruction has exactly one key, got 0"),
    "a-string": ("set a to 1", "", "expected an object with one key, got a string"),
    "a-number": (7, "", "expected an object with one key, got a number"),
    "a-list": ([{"set": {"name": "a", "value": 1}}], "", "expected an object with one key, got a list"),
    "call-with-text": ({"myAutomation": "x"}, ".myAutomation",
                       "arguments of the call to automation 'myAutomation' must be an object, got a string"),
    "set-name-not-string": ({"set": {"name": ["a"], "value": 1}}, ".set.name", "must be a string"),
    "set-without-value": ({"set": {"name": "a"}}, ".set.value", "is required"),
    "set-unknown-type": ({"set": {"name": "a", "value": 1, "type": "split"}}, ".set.type",
                         "must be 'replace', 'merge' or 'push' or a template"),
    "delete-without-name": ({"delete": {}}, ".delete.name", "is required"),
    "emit-without-event": ({"emit": {"payload": {}}}, ".emit.event", "is required"),
    "emit-event-not-string": ({"emit": {"event": 5}}, ".emit.event", "must be a string"),
    "wait-one-of-object": ({"wait": {"oneOf": {"event": "x"}}}, ".wait.oneOf", "must be a list or a template"),
    "wait-timeout-text": ({"wait": {"oneOf": [{"event": "x"}], "timeout": "soon"}}, ".wait.timeout",
                          "must be a number or a template"),
    "wait-filter-not-string": ({"wait": {"oneOf": [{"event": "x", "filters": {"payload.n": 1}}]}},
                               '.wait.oneOf[0].filters["payload.n"]', "must be a string"),
    "fetch-without-url": ({"fetch": {"method": "get"}}, ".fetch.url", "is required"),
    "fetch-unknown-method": ({"fetch": {"url": "https://x.org", "method": "fetch"}}, ".fetch.method",
                             "must be get, post, put, patch or delete"),
    "fetch-header-number": ({"fetch": {"url": "https://x.org", "headers": {"x-n": 1}}}, ".fetch.headers.x-n",
                            "must be a string"),
    "repeat-without-on-or-until": ({"repeat": {"do": []}}, ".repeat", "needs 'on' or 'until'"),
    "repeat-until-text": ({"repeat": {"until": "ten", "do": []}}, ".repeat.until", "must be a number or a template"),
    "repeat-do-not-list": ({"repeat": {"on": [], "do": "x"}}, ".repeat.do", "must be a list"),
    "conditions-branch-not-list": ({"conditions": {"{{a}}": "x", "default": []}}, '.conditions["{{a}}"]',
                                   "must be a list of instructions, got a string"),
    "conditions-empty": ({"conditions": {}}, ".conditions", "needs at least one condition"),
    "break-unknown-scope": ({"break": {"scope": "loop"}}, ".break.scope", "must be 'automation', 'all' or 'repeat' or a template"),
    "comment-not-text": ({"comment": 5}, ".comment", "must be a string"),
    "all-not-list": ({"all": {"a": 1}}, ".all", "must be a list of instructions, got an object"),
}


@pytest.mark.parametrize("case", list(INSTRUCTIONS))
async def test_malformed_instruction(sqlite_stack: Stack, case: str) -> None:
    instruction, path, message = INSTRUCTIONS[case]
    problems = await import_problems(sqlite_stack, with_do(instruction))
    assert len(problems) == 1, problems
    assert problems[0]["path"] == f"document: automations.a.do[0]{path}"
    assert message in problems[0]["message"], problems[0]


async def test_problems_inside_nested_lists_have_full_paths(sqlite_stack: Stack) -> None:
    problems = await import_problems(sqlite_stack, with_do(
        {"conditions": {"{{x}} == 1": [{"repeat": {"on": [], "do": [{"all": [{"comment": "ok"}, {"set": None}]}]}}],
                        "default": [{"emit": {}}]}}))
    assert {p["path"] for p in problems} == {
        'document: automations.a.do[0].conditions["{{x}} == 1"][0].repeat.do[0].all[1].set',
        "document: automations.a.do[0].conditions.default[0].emit.event"}


async def test_every_problem_is_reported_at_once_and_nothing_is_written(sqlite_stack: Stack) -> None:
    slug = unique_slug()
    problems = await import_problems(sqlite_stack, {"name": "many", "slug": slug, "automations": {
        "a": {"name": "a", "do": [{"set": None}, {"emit": {"event": 1}}]},
        "b": {"name": "b", "do": [{"wait": {}}], "extra": True},
        "c.d": {"name": "c", "do": []},
    }})
    paths = {p["path"] for p in problems}
    assert {"document: automations.a.do[0].set", "document: automations.a.do[1].emit.event",
            "document: automations.b.extra", "document: automations.b.do[0].wait",
            'document: automations["c.d"]'} <= paths, problems
    listed = await sqlite_stack.http.get("/v2/workspaces", params={"slug": slug}, headers=sqlite_stack.auth)
    assert listed.status_code == 200 and slug not in listed.text


async def test_template_strings_stand_for_typed_values(sqlite_stack: Stack) -> None:
    response = await sqlite_stack.http.post(ROUTE, headers=sqlite_stack.auth, json=with_do(
        {"set": {"name": "a", "value": 1, "type": "{{t}}"}}, {"repeat": {"until": "{{n}}", "do": []}},
        {"wait": {"oneOf": "{{w}}", "timeout": "{% {{t}} * 2 %}"}}, {"fetch": {"url": "{{u}}", "method": "{{m}}"}},
        {"myAutomation": {}}, {"conditions": {"{{a}}": []}}, {"repeat": {"on": 3, "until": 2, "do": []}}))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("automations", "path", "message"), [
    ({"a.b": {"name": "a", "do": []}}, 'document: automations["a.b"]', "invalid automation slug 'a.b'"),
    ({"a!": {"name": "a", "do": []}}, 'document: automations["a!"]', "it must match ^[/a-zA-Z0-9 _-]+$"),
    ({"a": {"do": []}}, "document: automations.a.name", "is required"),
    ({"a": {"name": "a"}}, "document: automations.a.do", "is required"),
    ({"a": {"name": "a", "do": [], "extra": 1}}, "document: automations.a.extra", "is not a known field"),
    ({"a": {"name": "a", "do": [], "when": {}}}, "document: automations.a.when",
     "when needs at least one of events, endpoint, schedules"),
    ({"a": {"name": "a", "slug": "b", "do": []}}, "document: automations.a.slug",
     "slug 'b' differs from the automation key 'a'"),
    ({"a": {"name": "a", "do": [], "arguments": {"x": {"type": "nonsense"}}}}, "document: automations.a.arguments.x.type",
     "invalid argument schema"),
    ({"a": {"name": "a", "do": [], "when": {"endpoint": "e"}}, "b": {"name": "b", "do": [], "when": {"endpoint": "e"}}},
     "document: automations.b.when.endpoint", "endpoint 'e' of automation 'b' is already used by automation 'a'"),
])
async def test_malformed_automation_fields(sqlite_stack: Stack, automations: dict[str, Any], path: str,
                                           message: str) -> None:
    problems = await import_problems(sqlite_stack, {"name": "fields", "automations": automations})
    assert [p["path"] for p in problems] == [path]
    assert message in problems[0]["message"]


@pytest.mark.parametrize(("index", "path", "message"), [
    ({"slug": "Bad Slug"}, "document: slug", "must match ^[/a-z0-9-]+$"),
    ({"name": ""}, "document: name", "must not be blank"),
    ({"unknown": 1}, "document: unknown", "is not a known field"),
    ({"imports": {"i": {"appSlug": "no-such-app-anywhere"}}}, "document: imports.i.appSlug",
     "App 'no-such-app-anywhere' not found"),
])
async def test_malformed_workspace_fields(sqlite_stack: Stack, index: dict[str, Any], path: str, message: str) -> None:
    problems = await import_problems(sqlite_stack, {"name": "root", "automations": {}, **index})
    assert path in [p["path"] for p in problems]
    assert any(message in p["message"] for p in problems if p["path"] == path), problems


async def zip_problems(stack: Stack, files: dict[str, Any]) -> dict[str, str]:
    response = await stack.http.post(ROUTE, content=make_zip(files), headers={
        **stack.auth, "content-type": "application/zip"})
    body = response.json()
    assert response.status_code == 400 and body["error"] == "InvalidWorkspaceError", body
    return {p["path"]: p["message"] for p in body["details"]}


async def test_archive_problems_name_the_file(sqlite_stack: Stack) -> None:
    problems = await zip_problems(sqlite_stack, {
        "index.yml": {"name": "From a zip"},
        "automations/good.yml": {"name": "good", "do": [{"comment": "fine"}]},
        "automations/bad.yml": {"name": "bad", "do": [{"comment": "fine"}, {"repeat": {"do": []}}]},
        "automations/worse.yml": {"name": "worse", "do": [{"set": None}]},
    })
    assert problems == {
        "automations/bad.yml: do[1].repeat": "needs 'on' or 'until'",
        "automations/worse.yml: do[0].set": "InvalidInstructionError: instruction 'set' has a null value "
                                            "(write {} for no arguments)"}


async def test_archive_yaml_errors_name_the_file_and_line(sqlite_stack: Stack) -> None:
    problems = await zip_problems(sqlite_stack, {
        "index.yml": {"name": "From a zip"},
        "automations/twice.yml": "name: twice\ndo: []\nname: again\n",
    })
    assert problems == {"automations/twice.yml": "invalid YAML at line 3, column 1: duplicate key 'name' "
                                                 "(first at line 1)"}
