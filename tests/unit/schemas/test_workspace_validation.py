"""Import-time validation of whole workspaces (``validate_workspace``) and single automations."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidSlugError, InvalidWorkspaceError
from schemas.validation import (
    check_slug,
    check_workspace_slug,
    validate_automation,
    validate_workspace,
    workspace_problems,
)


def ws(*automations: tuple[str, dict[str, Any]], **kwargs: Any) -> WorkspaceSource:
    index = kwargs.pop("index", {"name": "Demo", "slug": "demo"})
    return WorkspaceSource(index=index, automations=dict(automations), **kwargs)


def auto(*do: Any, **fields: Any) -> dict[str, Any]:
    return {"name": "a", "do": list(do), **fields}


def details(source: WorkspaceSource, **kwargs: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidWorkspaceError) as info:
        validate_workspace(source, **kwargs)
    assert info.value.name == "InvalidWorkspaceError"
    assert isinstance(info.value.details, list) and info.value.details
    assert all(set(d) == {"path", "message"} for d in info.value.details)
    return info.value.details


def paths(source: WorkspaceSource, **kwargs: Any) -> list[str]:
    return [d["path"] for d in details(source, **kwargs)]


def test_valid_workspace_passes() -> None:
    source = ws(
        (
            "hello",
            auto(
                {"comment": "hi"},
                {"set": {"name": "a", "value": {"x": 1}, "type": "merge"}},
                {"delete": {"name": "a"}},
                {"emit": {"event": "done", "payload": {"a": "{{a}}"}}},
                {
                    "wait": {
                        "oneOf": [{"event": "x", "filters": {"payload.a": "1"}}],
                        "timeout": "{{t}}",
                    }
                },
                {"conditions": {"{{a}} == 1": [{"break": {}}], "default": []}},
                {"conditions": {"{{a}}": [{"break": {"scope": "all"}}]}},  # default is optional
                {"repeat": {"on": [1, 2], "until": 1, "do": [{"all": [{"other": {}}]}]}},
                {"repeat": {"on": 3, "do": []}},
                {"repeat": {"until": "{{n}}", "do": []}},
                {"fetch": {"url": "https://x", "method": "POST", "query": {"t": ["a", "b"]}}},
                {"createUserTopic": {"topic": "t"}},
                {"joinUserTopic": {"topic": "t", "create": False}},
                {"other": {"x": 1, "output": "y"}},
                {"other": "{{args}}"},
                when={"endpoint": True, "events": ["x"], "schedules": ["*/15 * * * *"]},
                arguments={
                    "body": {"type": "object", "properties": {"t": {"type": "localized:string"}}},
                    "token": {"type": "string", "secret": True, "ui:widget": "password"},
                },
                validateArguments=True,
                output="{{a}}",
            ),
        ),
        imports={"Custom Code": {"appSlug": "Custom Code", "config": {"a": 1}}},
        pages={"home": {"name": "Home"}},
        security={"authorizations": {"roles": {"editor": {}}, "rules": []}},
    )
    validate_workspace(source)
    assert workspace_problems(source) == []


def test_unknown_instruction_multi_key_object() -> None:
    found = details(ws(("hello", auto({"set": {"name": "a", "value": 1}, "emit": {"event": "x"}}))))
    assert found[0]["path"] == "automations/hello.yml: do[0]"
    assert "unknown instruction" in found[0]["message"]
    assert '"set"' in found[0]["message"] and '"emit"' in found[0]["message"]


@pytest.mark.parametrize("bad", [{}, "just text", 3, ["set"]])
def test_instruction_must_be_one_key_object(bad: Any) -> None:
    found = details(ws(("hello", auto({"comment": "ok"}, bad))))
    assert [d["path"] for d in found] == ["automations/hello.yml: do[1]"]
    assert "unknown instruction" in found[0]["message"]


def test_wrong_types_name_the_field() -> None:
    found = details(
        ws(("hello", auto({"set": {"name": 3, "value": 1}}, {"repeat": {"until": 2, "do": "x"}})))
    )
    assert {
        "path": "automations/hello.yml: do[0].set.name",
        "message": "must be a string",
    } in found
    assert any(d["path"] == "automations/hello.yml: do[1].repeat.do" for d in found)


def test_null_instruction_value() -> None:
    found = details(ws(("hello", auto({"myAutomation": None}))))
    assert found[0]["path"] == "automations/hello.yml: do[0].myAutomation"
    assert "InvalidInstructionError" in found[0]["message"]


def test_nested_paths_in_conditions_repeat_and_all() -> None:
    inner = {"set": {"name": "x"}}  # value missing
    source = ws(
        (
            "hello",
            auto(
                {"comment": "first"},
                {"conditions": {"{{a}} == 1": [{"comment": "ok"}, inner], "default": [inner]}},
                {"repeat": {"on": "{{l}}", "do": [{"all": [{"comment": "x"}, inner]}]}},
            ),
        )
    )
    assert paths(source) == [
        'automations/hello.yml: do[1].conditions["{{a}} == 1"][1].set.value',
        "automations/hello.yml: do[1].conditions.default[0].set.value",
        "automations/hello.yml: do[2].repeat.do[0].all[1].set.value",
    ]


def test_conditions_branch_must_be_a_list() -> None:
    found = details(ws(("hello", auto({"conditions": {"{{a}}": {"set": {}}, "default": []}}))))
    assert found[0]["path"] == 'automations/hello.yml: do[0].conditions["{{a}}"]'


def test_template_strings_stand_for_any_type_but_literals_do_not() -> None:
    ok = ws(
        ("a", auto({"wait": {"oneOf": "{{events}}", "timeout": "{{t}}"}}, {"set": "{{instr}}"}))
    )
    validate_workspace(ok)
    found = details(ws(("a", auto({"wait": {"oneOf": [{"event": "x"}], "timeout": "soon"}}))))
    assert found[0]["path"] == "automations/a.yml: do[0].wait.timeout"


def test_duplicate_endpoints_name_both_automations() -> None:
    source = ws(
        ("first", auto(when={"endpoint": "hook"})),
        ("hook", auto(when={"endpoint": True})),
        ("third", auto(when={"endpoint": False})),
    )
    found = details(source)
    assert len(found) == 1
    assert found[0]["path"] == "automations/hook.yml: when.endpoint"
    assert "'first'" in found[0]["message"] and "'hook'" in found[0]["message"]


def test_automation_slug_with_a_dot_and_mismatched_slug_field() -> None:
    found = details(ws(("my.auto", auto()), ("b", auto(slug="c"))))
    by_path = {d["path"]: d["message"] for d in found}
    assert "no dots" in by_path["automations/my.auto.yml"]
    assert {
        "path": "automations/b.yml: slug",
        "message": "slug 'c' differs from the automation key 'b'",
    } in found


def test_automation_fields() -> None:
    source = ws(
        ("a", {"do": [], "name": 3, "unknownField": 1, "when": {"schedules": [5]}}),
        ("b", {"name": "b"}),
        ("c", {"name": "c", "do": [], "when": {}}),
    )
    found = details(source)
    by_path = {d["path"]: d["message"] for d in found}
    assert by_path["automations/a.yml: unknownField"] == "is not a known field"
    assert "automations/a.yml: name" in by_path
    assert "automations/a.yml: when.schedules[0]" in by_path
    assert by_path["automations/b.yml: do"] == "is required"
    assert "at least one of" in by_path["automations/c.yml: when"]


def test_index_root_fields() -> None:
    found = details(ws(index={"slug": "Bad.Slug", "colour": "red"}))
    messages = " | ".join(f"{d['path']}: {d['message']}" for d in found)
    assert "index.yml: name: is required" in messages
    assert "colour" in messages
    assert "index.yml: slug" in messages
    assert paths(ws(index={"name": "   "})) == ["index.yml: name"]
    validate_workspace(ws(index={}), require_index=False)


def test_imports_and_pages() -> None:
    source = ws(
        imports={"ok": {"appSlug": "x"}, "bad": {"config": {}}, "a.b": {"appSlug": "x"}},
        pages={"p.q": {}},
    )
    found = paths(source)
    assert found == ["imports/a.b.yml", "imports/bad.yml: appSlug", "pages/p.q.yml"]


def test_arguments_schemas() -> None:
    source = ws(("a", auto(arguments={"x": {"type": "nope"}, "y": 3, "z": {"properties": []}})))
    found = paths(source)
    assert "automations/a.yml: arguments.x.type" in found
    assert "automations/a.yml: arguments.y" in found
    assert "automations/a.yml: arguments.z.properties" in found


def test_document_paths() -> None:
    source = WorkspaceSource.from_document(
        {
            "name": "Demo",
            "automations": {
                "hello": auto({"comment": "x"}, {"comment": "y"}, {"set": {"name": 1, "value": 1}})
            },
        }
    )
    assert paths(source) == ["document: automations.hello.do[2].set.name"]


def test_validate_automation_alone() -> None:
    validate_automation(
        "a", auto(when={"endpoint": True}), others={"a": auto(when={"endpoint": True})}
    )
    with pytest.raises(InvalidWorkspaceError) as info:
        validate_automation(
            "a", auto(when={"endpoint": "x"}), others={"b": auto(when={"endpoint": "x"})}
        )
    assert info.value.details[0]["path"] == "automations/a.yml: when.endpoint"
    assert "'b'" in info.value.details[0]["message"]
    with pytest.raises(InvalidWorkspaceError):
        validate_automation("a", auto({"a": 1, "b": 2}))


def test_slug_helpers() -> None:
    check_slug("My auto_1/x-y")
    check_workspace_slug("my-ws/1")
    with pytest.raises(InvalidSlugError):
        check_slug("a.b")
    with pytest.raises(InvalidSlugError):
        check_workspace_slug("My WS")


def test_deep_nesting_is_reported_not_crashing() -> None:
    instr: dict[str, Any] = {"comment": "x"}
    for _ in range(150):
        instr = {"repeat": {"until": 1, "do": [instr]}}
    found = details(ws(("a", auto(instr))))
    assert "nested deeper" in found[0]["message"]
