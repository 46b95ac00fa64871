"""Calling automations (spec §2.2, §2.4, §3.13): arguments and outputs, local scopes, the call
depth limit, unknown or disabled names, ``validateArguments``, ``authorizations.action``, the
trigger of a call, ``runtime.automations.executed`` and outputs answered by webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import make_user, workspace_with_editor
from tests.engine.helpers import Workspace, automation, executed, hook, of_type
from tests.stack import Stack

AUTOMATIONS: dict[str, dict[str, Any]] = {
    "caller": hook([{"set": {"name": "mine", "value": "caller-local"}},
                    {"set": {"name": "shared", "value": {"list": [1]}}},
                    {"callee": {"a": "{{body.a}}", "obj": "{{shared}}", "gone": "{{missing}}", "output": "res"}}],
                   {"res": "{{res}}", "shared": "{{shared}}", "slug": "{{run.automationSlug}}",
                    "depth": "{{run.depth}}"}),
    "callee": automation([{"set": {"name": "obj.list[]", "value": 2}}], {
        "a": "{{a}}", "obj": "{{obj}}", "sawCallerLocal": "{% {{mine}} exists %}",
        "trigger": "{{run.trigger}}", "depth": "{{run.depth}}", "slug": "{{run.automationSlug}}",
        "output": "{{output}}"}),
    "outputs": hook([{"no-output": {"output": "none"}}, {"null-output": {"output": "nul"}},
                     {"falsy-output": {"v": 0, "output": "zero"}}, {"falsy-output": {"v": "", "output": "empty"}},
                     {"falsy-output": {"v": False, "output": "no"}}],
                    {"none": "{{none}}", "nul": "{{nul}}", "zero": "{{zero}}", "empty": "{{empty}}", "no": "{{no}}",
                     "nulExists": "{% {{nul}} exists %}"}),
    "no-output": automation([]),
    "null-output": {"name": "null-output", "do": [], "output": None},
    "falsy-output": automation([], "{{v}}"),
    "answer-falsy": hook([], "{{body.v}}"),
    "answer-without-output": hook([{"set": {"name": "x", "value": 1}}]),
    "call-unknown": hook([{"set": {"name": "a", "value": 1}}, {"does-not-exist": {"x": 1}}]),
    "call-disabled": hook([{"disabled-one": {}}]),
    "disabled-one": {"name": "disabled-one", "disabled": True, "do": [], "output": "should not run"},
    "call-with-non-object": hook([{"callee": "{{body.args}}"}]),
    "recursive": hook([{"recurse": {"n": 0}}]),
    "recurse": automation([{"recurse": {"n": "{% {{n}} + 1 %}"}}]),
    "deep-but-allowed": hook([{"countdown": {"n": 18, "output": "r"}}], "{{r}}"),
    "countdown": automation([{"conditions": {"{{n}} > 0": [{"countdown": {"n": "{% {{n}} - 1 %}", "output": "r"}}],
                                             "default": [{"set": {"name": "r", "value": "{{run.depth}}"}}]}}],
                            "{{r}}"),
    # validateArguments
    "validated-hook": {"name": "validated-hook", "when": {"endpoint": True}, "validateArguments": True,
                       "arguments": {"body": {"type": "object", "required": ["age"], "properties": {
                           "age": {"type": "number", "minimum": 0, "ui:widget": "slider"}}}},
                       "do": [], "output": "{{body.age}}"},
    "calls-validated": hook([{"set": {"name": "before", "value": 1}}, {"validated": {"name": "{{body.name}}",
                                                                                    "label": "{{body.label}}"}},
                             {"set": {"name": "after", "value": 1}}], {"after": "{{after}}"}),
    "validated": {"name": "validated", "validateArguments": True, "do": [], "output": "ok",
                  "arguments": {"name": {"type": "string", "secret": False, "event": False, "ui:widget": "text"},
                                "label": {"type": "localized:string"}}},
    "not-validated": {"name": "not-validated", "when": {"endpoint": True}, "do": [], "output": "{{body.age}}",
                      "arguments": {"body": {"type": "object", "properties": {"age": {"type": "number"}}}}},
    # secrets in arguments
    "pass-secret": hook([{"uses-secret": {"token": "{{body.token}}", "public": "{{body.public}}"}}], {"ok": True}),
    "uses-secret": {"name": "uses-secret", "do": [], "output": {"echo": "{{public}}"},
                    "arguments": {"token": {"type": "string", "secret": True}, "public": {"type": "string"}}},
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {"name": slug, **a} for slug, a in AUTOMATIONS.items()})


async def test_arguments_become_the_callees_locals_and_output_comes_back(ws: Workspace) -> None:
    call = await ws.call("caller", {"a": {"deep": [1]}})
    result = call.ok()
    res = result["res"]
    assert res["a"] == {"deep": [1]}
    assert res["obj"] == {"list": [1, 2]}
    assert result["shared"] == {"list": [1]}  # the callee changed its copy, not the caller's variable
    assert res["sawCallerLocal"] is False  # locals are per automation
    assert res["trigger"] == {"type": "automation", "value": "caller"}
    assert (res["depth"], res["slug"]) == (2, "callee")
    assert res["output"] == "res"  # spec §3.13: `output` is one of the callee's arguments too
    # the run context is restored when the call returns
    assert (result["depth"], result["slug"]) == (1, "caller")
    events = executed(await call.events())
    assert [e["payload"]["slug"] for e in events] == ["callee", "caller"]
    assert "gone" not in events[0]["payload"]["payload"]  # an undefined argument is left out
    assert events[0]["payload"]["trigger"] == {"type": "automation", "value": "caller"}
    assert events[0]["source"]["automationDepth"] == 2 and events[1]["source"]["automationDepth"] == 1


async def test_outputs_absent_null_and_falsy(ws: Workspace) -> None:
    assert await ws.run("outputs") == {"none": {}, "nul": None, "zero": 0, "empty": "", "no": False,
                                       "nulExists": False}


@pytest.mark.parametrize("value", [0, "", False, None, [], "text"])
async def test_webhook_answers_the_output_whatever_it_is(ws: Workspace, value: Any) -> None:
    # DECISIONS 12: a falsy output is answered as it is, not as {}.
    assert await ws.run("answer-falsy", {"v": value}) == value


async def test_webhook_without_output_answers_an_empty_object(ws: Workspace) -> None:
    assert await ws.run("answer-without-output") == {}


@pytest.mark.parametrize(("slug", "name"), [("call-unknown", "does-not-exist"), ("call-disabled", "disabled-one")])
async def test_unknown_or_disabled_automation_is_not_found(ws: Workspace, slug: str, name: str) -> None:
    call = await ws.call(slug)
    body = call.error("ObjectNotFoundError", status=404)
    assert f"'{name}' not found" in body["message"] and body["details"]["slug"] == name
    instruction = "do[1]" if slug == "call-unknown" else "do[0]"
    assert body["at"] == {"automation": slug, "instruction": instruction}
    [error] = of_type(await call.events(), "error")
    assert error["payload"]["error"] == "ObjectNotFoundError"


async def test_call_arguments_must_be_an_object(ws: Workspace) -> None:
    body = (await ws.call("call-with-non-object", {"args": "text"})).error("InvalidInstructionError")
    assert "Arguments of the call to 'callee' must be an object" in body["message"]


async def test_call_depth_is_limited(ws: Workspace) -> None:
    call = await ws.call("recursive")
    body = call.error("TooManyCallError")
    assert body["details"]["limit"] == 20
    assert body["at"]["automation"] == "recurse"
    assert await ws.run("deep-but-allowed") == 20  # 1 + 19 nested calls


async def test_validate_arguments_on_a_webhook(ws: Workspace) -> None:
    assert await ws.run("validated-hook", {"age": 3}) == 3
    call = await ws.call("validated-hook", {"age": -1})
    body = call.error("InvalidArgumentsError")
    assert body["message"] == "Invalid arguments"
    assert body["details"] == [{"instancePath": "/body/age", "keyword": "minimum",
                                "message": "-1 is less than the minimum of 0"}]
    missing = (await ws.call("validated-hook", {})).error("InvalidArgumentsError")
    assert missing["details"][0]["keyword"] == "required"
    # without validateArguments the arguments are documentation only (DECISIONS 8)
    assert await ws.run("not-validated", {"age": "not a number"}) == "not a number"


@pytest.mark.parametrize(("body", "ok"), [
    ({"name": "ann", "label": "plain"}, True),
    ({"name": "ann", "label": {"fr": "bonjour", "en": "hello"}}, True),  # localized:string
    ({"name": 5}, False),
    ({"name": "ann", "label": {"fr": 1}}, False),
])
async def test_validate_arguments_on_a_direct_call_aborts_the_caller(ws: Workspace, body: dict[str, Any],
                                                                     ok: bool) -> None:
    call = await ws.call("calls-validated", body)
    if ok:
        assert call.ok() == {"after": 1}
        return
    error = call.error("InvalidArgumentsError")
    assert error["at"] == {"automation": "calls-validated", "instruction": "do[1]"}


async def test_secret_arguments_are_redacted_from_native_events(ws: Workspace) -> None:
    call = await ws.call("pass-secret", {"token": "s3cr3t-value-123", "public": "visible"})
    assert call.ok() == {"ok": True}
    events = await call.events()
    [inner] = executed(events, "uses-secret")
    assert inner["payload"]["payload"] == {"token": "REDACTED", "public": "visible"}
    assert all("s3cr3t-value-123" not in str(e) for e in events)


async def test_authorizations_action_restricts_who_may_execute(sqlite_stack: Stack) -> None:
    protected = {"name": "protected", "authorizations": {"action": "run-protected"}, "do": [], "output": "secret ok"}
    automations = {
        "protected": {**protected, "when": {"endpoint": True}},
        "calls-protected": {"name": "calls-protected", "when": {"endpoint": True}, "do": [
            {"protected-inner": {"output": "r"}}], "output": "{{r}}"},
        "protected-inner": {**protected, "name": "protected-inner"},
    }
    ws_id, owner, editor = await workspace_with_editor(sqlite_stack, automations)
    ws = Workspace(sqlite_stack, ws_id, "")
    stranger = await make_user(sqlite_stack, "stranger")
    for endpoint in ("protected", "calls-protected"):
        anonymous = (await ws.call(endpoint)).error("ForbiddenError", status=403)
        assert "run-protected" in anonymous["message"]
        (await ws.call(endpoint, headers={"authorization": stranger["authorization"]})).error(
            "ForbiddenError", status=403)
        for member in (owner, editor):
            assert (await ws.call(endpoint, headers=member)).ok() == "secret ok"


async def test_engine_bug_executed_event_payload_is_the_input_not_the_final_locals(ws: Workspace) -> None:
    """Spec §2.3–2.4: the input payload becomes the automation's locals (a copy) and
    `runtime.automations.executed` reports that payload. Tideway reports the locals as they are at
    the end of the run, so every variable the automation set (`mine`, `shared`, `res`) and every
    change it made to an argument (`obj.list` pushed to) show up in the event, as if they had been
    inputs."""
    call = await ws.call("caller", {"a": 1})
    call.ok()
    events = executed(await call.events())
    [callee] = [e for e in events if e["payload"]["slug"] == "callee"]
    [caller] = [e for e in events if e["payload"]["slug"] == "caller"]
    assert callee["payload"]["payload"] == {"a": 1, "obj": {"list": [1]}, "output": "res"}
    assert {"mine", "shared", "res"}.isdisjoint(caller["payload"]["payload"])
