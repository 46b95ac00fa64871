"""Import checks that catch what cannot run (issue 17 item 10): unknown instruction fields are
warnings (errors under ``strict: true``), an automation named like a native instruction is a
warning, ``arguments: null`` is a warning, localized argument texts are accepted, schedules and
pages are reported with every other problem at once, and automations left at an archive's root
are refused saying where Tideway looks."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import make_zip, unique_slug
from tests.stack import Stack

ROUTE = "/v2/workspaces/import"


async def imported(stack: Stack, automations: dict[str, Any], **index: Any) -> dict[str, Any]:
    document = {"name": "checks", "slug": unique_slug("checks"), **index, "automations": automations}
    response = await stack.http.post(ROUTE, json=document, headers=stack.auth)
    body: dict[str, Any] = response.json()
    body["status"] = response.status_code
    return body


def warnings_by_path(body: dict[str, Any]) -> dict[str, str]:
    return {w["path"]: w["message"] for w in body.get("warnings", [])}


UNKNOWN_FIELDS = {"a": {"name": "a", "do": [
    {"set": {"name": "x", "value": 1, "colour": "red"}},
    {"fetch": {"url": "https://example.test", "retries": 3, "output": "r"}},
    {"repeat": {"on": [1], "do": [{"emit": {"event": "e", "urgent": True}}], "parallel": True}},
    {"try": {"do": [], "otherwise": []}},
]}}


async def test_unknown_instruction_fields_are_warnings_naming_the_field(sqlite_stack: Stack) -> None:
    body = await imported(sqlite_stack, UNKNOWN_FIELDS)
    assert body["status"] == 200, body
    found = warnings_by_path(body)
    base = "document: automations.a.do"
    assert set(found) == {f"{base}[0].set.colour", f"{base}[1].fetch.retries", f"{base}[2].repeat.parallel",
                          f"{base}[2].repeat.do[0].emit.urgent", f"{base}[3].try.otherwise"}
    assert "'colour' is not a field of `set`" in found[f"{base}[0].set.colour"]
    assert "name, value" in found[f"{base}[0].set.colour"]


async def test_unknown_fields_are_errors_under_strict(sqlite_stack: Stack) -> None:
    body = await imported(sqlite_stack, UNKNOWN_FIELDS, strict=True)
    assert body["status"] == 400 and body["error"] == "InvalidWorkspaceError"
    assert len(body["details"]) == 5  # every one at once


async def test_native_names_arguments_null_and_localized_texts(sqlite_stack: Stack) -> None:
    body = await imported(sqlite_stack, {
        "rateLimit": {"name": "rateLimit", "do": []},
        "empty-args": {"name": "empty", "arguments": None, "do": []},
        "localized": {"name": {"en": "Localized", "fr": "Localisé"}, "arguments": {
            "city": {"type": "string", "title": {"en": "City", "fr": "Ville"},
                     "description": {"en": "Where", "fr": "Où"}, "format": "uri"}}, "do": []},
    })
    assert body["status"] == 200, body
    found = warnings_by_path(body)
    assert "native instruction `rateLimit`" in found["document: automations.rateLimit"]
    assert "arguments is empty" in found["document: automations.empty-args.arguments"]
    assert not [path for path in found if "localized" in path]


async def test_schedules_pages_and_instructions_are_reported_in_one_answer(sqlite_stack: Stack) -> None:
    archive = make_zip({
        "index.yml": {"name": "Many problems", "slug": unique_slug()},
        "automations/tick.yml": {"name": "tick", "when": {"schedules": ["not a cron"]}, "do": []},
        "automations/bad.yml": {"name": "bad", "do": [{"set": {"value": 1}}]},
        "pages/broken.yml": {"name": "Broken", "template": "{{ 1 + }}"},
    })
    response = await sqlite_stack.http.post(ROUTE, content=archive,
                                            headers={**sqlite_stack.auth, "content-type": "application/zip"})
    assert response.status_code == 400, response.text
    paths = {d["path"] for d in response.json()["details"]}
    assert paths == {"automations/tick.yml: when.schedules[0]", "automations/bad.yml: do[0].set.name",
                     "pages/broken.yml: template"}


async def test_automations_at_the_archive_root_are_refused_saying_where_tideway_looks(sqlite_stack: Stack) -> None:
    archive = make_zip({"index.yml": {"name": "Flat", "slug": unique_slug()},
                        "hello.yml": {"name": "hello", "do": [{"set": {"name": "a", "value": 1}}]},
                        "README.yml": {"notes": "not an automation: ignored"}})
    response = await sqlite_stack.http.post(ROUTE, content=archive,
                                            headers={**sqlite_stack.auth, "content-type": "application/zip"})
    assert response.status_code == 400, response.text
    [detail] = response.json()["details"]
    assert detail["path"] == "hello.yml" and "move it to automations/hello.yml" in detail["message"]


async def test_invalid_expressions_are_errors_with_path_and_column(sqlite_stack: Stack) -> None:
    body = await imported(sqlite_stack, {"calc": {"name": "calc", "do": [
        {"set": {"name": "a", "value": "{% {{x}} +++ {{y}} %}"}},
        {"set": {"name": "b", "value": "{% myVar + 1 %}"}},
        {"set": {"name": "c", "value": "Hello {{name"}},
        {"set": {"name": "d", "value": "{% lowerr({{name}}) %}"}},
        {"conditions": {"{{a}} +++ 1": [], "default": []}},
    ], "output": "{% unclosed"}})
    assert body["status"] == 400 and body["error"] == "InvalidWorkspaceError", body
    found = {d["path"]: d["message"] for d in body["details"]}
    base = "document: automations.calc"
    assert set(found) == {f"{base}.do[0].set.value", f"{base}.do[1].set.value", f"{base}.do[2].set.value",
                          f"{base}.do[3].set.value", f'{base}.do[4].conditions["{{{{a}}}} +++ 1"]',
                          f"{base}.output"}, found
    assert all("(column " in message for message in found.values())
    assert "lower" in found[f"{base}.do[3].set.value"]  # the nearest known function


async def test_valid_templates_import(sqlite_stack: Stack) -> None:
    body = await imported(sqlite_stack, {"fine": {"name": "fine", "do": [
        {"set": {"name": "a", "value": "{% {{x}} + 1 %}"}},
        {"set": {"name": "b", "value": "Hello {{user.name}}, {% join(['a', 'b'], '-') %}"}},
        {"conditions": {"{{a}} > 1 and {{b}} matches 'x'": [], "bonjour": [], "default": []}},
    ], "output": "{{a}}"}})
    assert body["status"] == 200, body
