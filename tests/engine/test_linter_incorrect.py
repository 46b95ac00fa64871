"""Our own case for each *incorrect* fixture of the reference linter (prismeai/prismeai-mcp,
``linter/__tests__/sampleAutomations/incorrect*/``, issue 17): refused with the path of each
mistake (expression mistakes with the file, the instruction and the column), except an instruction
field the instruction does not have: a warning naming it, an error under ``strict: true``. The
correct fixtures are in test_linter_correct.py; docs/compatibility.md maps each fixture to its test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.helpers import make_zip, unique_slug
from tests.engine.helpers import Workspace, automation, hook
from tests.engine.linter_helpers import ROUTE, import_document, loop, s, when
from tests.stack import Stack

# --- incorrect-expressions/*: refused at import naming the file, the instruction and the column.
EXPRESSIONS: dict[str, tuple[list[Any], list[str]]] = {
    # raw words in {% %} on a loop's `on`, and an unknown function deep in nested loops
    "executeSourceFilter": ([s("kept", []), loop("{% report.sections %}", s("wanted", "{{item}}"), loop(
        "{{sections}}", when("{{wanted}} == {{item.title}} or today()", s("kept", "{{item}}", type="push"))))],
        ["do[1].repeat.on", "do[1].repeat.do[1].repeat.do[0].conditions"]),
    "invalidSyntaxInExpression": ([{"comment": "add the fee"}, s("total", "{% {{price}} +++ {{fee}} %}")],
                                  ["do[1].set.value"]),
    "missingBracketsInExpression": ([s("doubled", "{% count * 2 %}")], ["do[0].set.value"]),
    "unclosedExpression": ([s("half", "{% {{total}} / 2")], ["do[0].set.value"]),
    "unclosedVariable": ([{"emit": {"event": "greeted", "payload": {"text": "Hello {{visitor.name"}}}],
                         ["do[0].emit.payload.text"]),
    "undefinedFunction": ([s("stampedAt", "{% currentTime() %}")], ["do[0].set.value"]),
    "unsupportedPipeOperator": ([when("{% items | count > 2 %}", s("many", True), default=[s("many", False)])],
                                ["do[0].conditions"]),
}


@pytest.mark.parametrize("fixture", list(EXPRESSIONS))
async def test_incorrect_expression_is_refused_with_file_path_and_column(sqlite_stack: Stack, fixture: str) -> None:
    do, paths = EXPRESSIONS[fixture]
    archive = make_zip({"index.yml": {"name": "expressions", "slug": unique_slug()},
                        "automations/fine.yml": {"name": "fine", "do": [s("ok", "{% {{a}} + 1 %}")]},
                        f"automations/{fixture}-mine.yml": {"name": f"{fixture} (ours)", "do": do}})
    response = await sqlite_stack.http.post(ROUTE, content=archive,
                                            headers={**sqlite_stack.auth, "content-type": "application/zip"})
    body = response.json()
    assert response.status_code == 400 and body.get("error") == "InvalidWorkspaceError", body
    details = body["details"]
    for path in paths:
        found = [d for d in details if d["path"].startswith(f"automations/{fixture}-mine.yml: {path}")]
        assert found, (path, details)
        assert re.search(r"column \d+", found[0]["message"]), found[0]
    assert len(details) == len(paths), details  # the correct file draws nothing


# --- incorrect/*: refused, each mistake at its path (all of them in one answer).
REFUSED: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "emptyInstruction": ({"name": "log visit", "do": [s("visits", 1), {}, {"emit": {"event": "visit.logged"}}]},
                         {"do[1]": "exactly one key, got 0"}),
    "invalid-enum": ({"name": "bad choices", "do": [
        s("total", 5, type="append"), {"fetch": {"url": "https://example.test/x", "method": "SEND"}},
        {"break": {"scope": "iteration"}}]},
        {"do[0].set.type": "'replace', 'merge' or 'push'", "do[1].fetch.method": "get, post, put, patch or delete",
         "do[2].break.scope": "repeat"}),
    "invalidDoType": ({"name": "no steps", "do": "run everything"}, {"do": "list"}),
    "missing-required": ({"name": "incomplete", "do": [{"fetch": {"method": "post"}}, {"set": {"value": "orphan"}}]},
                         {"do[0].fetch.url": "is required", "do[1].set.name": "is required"}),
    "missingDo": ({"name": "No do", "arguments": {"city": {"type": "string"}}}, {"do": "is required"}),
    "missingName": ({"do": [s("greeting", "hello")]}, {"name": "is required"}),
    "nested-type-error": ({"name": "each order", "do": [
        {"repeat": {"on": "{{orders}}", "do": "each", "batch": {"size": "ten"}}}]},
        {"do[0].repeat.do": "list", "do[0].repeat.batch.size": "number"}),
}


@pytest.mark.parametrize("fixture", list(REFUSED))
async def test_incorrect_automation_is_refused_at_the_mistake(sqlite_stack: Stack, fixture: str) -> None:
    automation_doc, expected = REFUSED[fixture]
    status, body = await import_document(sqlite_stack, {"name": "refused", "slug": unique_slug(),
                                                        "automations": {"mine": automation_doc}})
    assert status == 400 and body.get("error") == "InvalidWorkspaceError", body
    found = {d["path"]: d["message"] for d in body["details"]}
    assert set(found) == {f"document: automations.mine.{path}" for path in expected}, found
    for path, words in expected.items():
        assert words in found[f"document: automations.mine.{path}"], (path, found)


# --- incorrect/* with instruction fields the instructions do not have: accepted with a warning
# naming each field (and ignored when run), refused under strict: true.
# fixture -> (do, {path of the unknown field: (field, instruction)}, (body, output) of a run or None)
UNKNOWN: dict[str, tuple[list[Any], dict[str, tuple[str, str]], Any]] = {
    "invalidInstruction": ([s("kept", []), {"repeat": {"on": "{{body.rows}}", "reason": "to pick rows", "do": [
        loop("{{body.wanted}}", when("{{item}} == 2", s("kept", "{{item}}", type="push")))]}}],
        {"do[1].repeat.reason": ("reason", "repeat")}, ({"rows": [1], "wanted": [1, 2]}, [2])),
    "multipleUnknownFields": ([s("v", "x", encoding="utf8"), {"emit": {"event": "noted", "priority": "high"}},
                               {"fetch": {"url": "https://example.test/a", "cacheFor": 60, "output": "r"}}],
                              {"do[0].set.encoding": ("encoding", "set"), "do[1].emit.priority": ("priority", "emit"),
                               "do[2].fetch.cacheFor": ("cacheFor", "fetch")}, None),
    "nestedUnknownField": ([when("{{ready}}", loop("{{lines}}", s("line", "{{item}}", note="copied")),
                                 default=[{"emit": {"event": "skipped", "verbose": True}}])],
                           {'do[0].conditions["{{ready}}"][0].repeat.do[0].set.note': ("note", "set"),
                            "do[0].conditions.default[0].emit.verbose": ("verbose", "emit")}, None),
    "unknownFieldOnBreak": ([{"break": {"scope": "automation", "why": "done early"}}, s("after", True)],
                            {"do[0].break.why": ("why", "break")}, ({}, {})),
    "unknownFieldOnDelete": ([s("tmp", 1), {"delete": {"name": "tmp", "recursive": True}}],
                             {"do[1].delete.recursive": ("recursive", "delete")}, ({}, {})),
    "unknownFieldOnEmit": ([{"emit": {"event": "pinged", "payload": {"n": 1}, "delay": 5}}],
                           {"do[0].emit.delay": ("delay", "emit")}, None),
    "unknownFieldOnFetch": ([{"fetch": {"url": "https://example.test/b", "method": "GET", "output": "r",
                                        "cacheFor": 30}}], {"do[0].fetch.cacheFor": ("cacheFor", "fetch")}, None),
    "unknownFieldOnRepeat": ([{"repeat": {"on": [1, 2, 3], "concurrency": 4, "do": [s("seen[]", "{{item}}")]}}],
                             {"do[0].repeat.concurrency": ("concurrency", "repeat")}, ({}, [1, 2, 3])),
    "unknownFieldOnSet": ([s("greeting", "bonjour", lifetime=10)], {"do[0].set.lifetime": ("lifetime", "set")},
                          ({}, "bonjour")),
    "unknownFieldOnTry": ([{"try": {"do": [s("r", "fine")], "catch": [s("e", "{{$error}}")], "retry": 2}}],
                          {"do[0].try.retry": ("retry", "try")}, None),
    "unknownFieldOnWait": ([{"wait": {"timeout": 30, "triggers": ["thing.done"], "output": "w"}}],
                           {"do[0].wait.triggers": ("triggers", "wait")}, None),
}
# What a run of the cases that are run answers (their automation's output).
OUTPUTS = {"invalidInstruction": "{{kept}}", "unknownFieldOnBreak": {"after": "{{after}}"},
           "unknownFieldOnDelete": {"after": "{{tmp}}"}, "unknownFieldOnRepeat": "{{seen}}",
           "unknownFieldOnSet": "{{greeting}}"}


# The fields each instruction has in the reference (linter/instructions.json): the warning's list of
# what the instruction has must name only these (Tideway adds `output` to some instructions).
REFERENCE_FIELDS = {
    "set": {"name", "value", "type", "interface", "clone"}, "delete": {"name"}, "break": {"scope", "payload"},
    "emit": {"event", "payload", "target", "options", "private", "autocomplete"},
    "fetch": {"url", "method", "headers", "prismeaiApiKey", "query", "body", "emitErrors", "multipart",
              "allowSelfSignedCert", "output", "stream", "outputMode", "auth"},
    "repeat": {"on", "do", "until", "batch"}, "try": {"do", "catch", "finally"}, "wait": {"oneOf", "timeout", "output"},
}


def unknown_field_doc(fixture: str, **index: Any) -> dict[str, Any]:
    do = UNKNOWN[fixture][0]
    mine = hook(do, OUTPUTS[fixture], name=fixture) if fixture in OUTPUTS else automation(do, name=fixture)
    return {"name": "unknown fields", "slug": unique_slug(), **index, "automations": {"mine": mine}}


@pytest.mark.parametrize("fixture", list(UNKNOWN))
async def test_unknown_field_is_a_warning_naming_it(sqlite_stack: Stack, fixture: str) -> None:
    _, fields, run = UNKNOWN[fixture]
    status, body = await import_document(sqlite_stack, unknown_field_doc(fixture))
    assert status == 200, body
    warnings = {w["path"]: w["message"] for w in body.get("warnings", [])}
    assert set(warnings) == {f"document: automations.mine.{path}" for path in fields}, warnings
    for path, (field, keyword) in fields.items():
        message = warnings[f"document: automations.mine.{path}"]
        assert f"'{field}' is not a field of `{keyword}`" in message
        listed = re.search(r"\(it has: ([^)]*)\)", message)
        assert listed and set(listed.group(1).split(", ")) - REFERENCE_FIELDS[keyword] <= {"output"}, message
    if run is not None:
        ws = Workspace(sqlite_stack, body["workspace"]["id"], body["workspace"]["slug"])
        given, expected = run
        assert await ws.run("mine", given) == expected


@pytest.mark.parametrize("fixture", list(UNKNOWN))
async def test_unknown_field_is_an_error_under_strict(sqlite_stack: Stack, fixture: str) -> None:
    status, body = await import_document(sqlite_stack, unknown_field_doc(fixture, strict=True))
    assert status == 400 and body.get("error") == "InvalidWorkspaceError", body
    paths = {d["path"] for d in body["details"]}
    assert paths == {f"document: automations.mine.{path}" for path in UNKNOWN[fixture][1]}, body["details"]


def test_every_fixture_has_its_case() -> None:
    """30 fixtures: 5 correct, 7 incorrect-expressions, 18 incorrect (7 refused, 11 unknown fields)."""
    correct = {"buildPrompt", "callLLMWithTools", "deep-nesting", "genericQuery", "try-catch-finally"}
    assert len(correct) + len(EXPRESSIONS) + len(REFUSED) + len(UNKNOWN) == 30
    assert not set(REFUSED) & set(UNKNOWN) and not set(EXPRESSIONS) & (set(REFUSED) | set(UNKNOWN) | correct)
