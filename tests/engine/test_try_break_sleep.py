"""``try`` / ``catch`` / ``finally``, ``break`` with ``scope: repeat`` and a ``payload``, and
``wait`` with only a ``timeout`` (a durable sleep) — today's language (issue 17, docs/language.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.engine.helpers import Workspace, automation, executed, hook, of_type
from tests.stack import Stack


def push(name: str, value: Any) -> dict[str, Any]:
    return {"set": {"name": f"{name}[]", "value": value}}


def attempt(do: list[Any], catch: list[Any] | None = None, final: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"do": do}
    if catch is not None:
        body["catch"] = catch
    if final is not None:
        body["finally"] = final
    return {"try": body}


FAIL = {"noSuchAutomation": {}}  # a call that fails at run time (ObjectNotFoundError)

AUTOMATIONS: dict[str, dict[str, Any]] = {
    "caught": hook([attempt([push("trail", "before"), FAIL, push("trail", "never")],
                            [push("trail", "catch {{$error.error}}")], [push("trail", "finally")])],
                   {"trail": "{{trail}}", "error": "{{$error}}"}),
    "no-error": hook([attempt([push("trail", "do")], [push("trail", "catch")], [push("trail", "finally")])],
                     {"trail": "{{trail}}", "error": "{{$error}}"}),
    "callee-fails": hook([attempt([{"failing": {"n": 1}}], [{"set": {"name": "e", "value": "{{$error}}"}}])],
                         "{{e}}"),
    "failing": automation([{"fetch": {"url": "http://169.254.169.254/x"}}]),
    "expression-error": hook([attempt([{"set": {"name": "x", "value": "{% lower({{body.n}}) %}"}}],
                                      [{"set": {"name": "e", "value": "{{$error.error}}"}}])], "{{e}}"),
    "catch-rethrows": hook([attempt([FAIL], [FAIL], [push("trail", "finally")])]),
    "nested": hook([attempt([attempt([FAIL], [push("trail", "inner {{$error.error}}"), FAIL]), push("trail", "x")],
                            [push("trail", "outer {{$error.error}}")])], "{{trail}}"),
    "break-all-caught": hook([attempt([{"stopper": {}}], [{"set": {"name": "e", "value": "{{$error}}"}}])],
                             "{{e}}"),
    "stopper": automation([{"break": {"scope": "all", "payload": {"error": "UserNotFound",
                                                                   "message": "no such user", "details": {"id": 7}}}},
                           {"set": {"name": "never", "value": 1}}]),
    "break-all-plain-payload": hook([attempt([{"plain-stopper": {}}], [{"set": {"name": "e", "value": "{{$error}}"}}])],
                                    "{{e}}"),
    "plain-stopper": automation([{"break": {"scope": "all", "payload": {"reason": "cancelled"}}}]),
    "break-automation-in-try": hook([attempt([{"break": {}}], [push("trail", "catch")], [push("trail", "finally")]),
                                     push("trail", "after")], {"done": True}),
    "break-repeat": hook([{"repeat": {"on": [1, 2, 3, 4], "do": [
        {"conditions": {"{{item}} == 3": [{"break": {"scope": "repeat"}}]}}, push("seen", "{{item}}")]}},
        push("seen", "after")], "{{seen}}"),
    "break-repeat-inner-only": hook([{"repeat": {"on": ["a", "b"], "do": [
        {"repeat": {"on": [1, 2, 3], "do": [{"conditions": {"{{item}} == 2": [{"break": {"scope": "repeat"}}]}},
                                            push("seen", "{{item}}")]}}, push("seen", "{{item}}")]}}], "{{seen}}"),
    "break-with-payload": hook([{"stopping": {"output": "r"}}, {"set": {"name": "went", "value": "on"}}],
                               {"went": "{{went}}", "r": "{{r}}"}),
    "stopping": automation([{"break": {"payload": {"why": "enough"}}}], {"partial": True}),
    "sleep": hook([{"set": {"name": "t0", "value": "{{run.date}}"}}, {"wait": {"timeout": 1}},
                   {"set": {"name": "t1", "value": "{{run.date}}"}}], {"t0": "{{t0}}", "t1": "{{t1}}"}),
    "sleep-templated": hook([{"wait": {"timeout": "{{body.seconds}}"}}], {"slept": True}),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()})


async def test_an_error_in_do_runs_catch_with_error_then_finally(ws: Workspace) -> None:
    call = await ws.call("caught", {})
    out = call.ok()
    assert out["trail"] == ["before", "catch ObjectNotFoundError", "finally"]
    assert out["error"]["error"] == "ObjectNotFoundError" and "noSuchAutomation" in out["error"]["message"]
    # A caught error is no error of the run: no `error` event.
    assert of_type(await call.events(), "error") == []


async def test_without_an_error_catch_is_skipped_and_finally_runs(ws: Workspace) -> None:
    assert await ws.run("no-error") == {"trail": ["do", "finally"]}


async def test_a_failed_call_and_an_expression_error_are_caught(ws: Workspace) -> None:
    error = await ws.run("callee-fails")
    assert error["error"] == "FetchError"
    assert await ws.run("expression-error") == "InvalidExpressionSyntax"


async def test_an_error_in_catch_goes_on_up_after_finally(ws: Workspace) -> None:
    call = await ws.call("catch-rethrows", {})
    call.error("ObjectNotFoundError", status=404)
    [error] = of_type(await call.events(), "error")
    assert error["payload"]["error"] == "ObjectNotFoundError"


async def test_nested_tries(ws: Workspace) -> None:
    assert await ws.run("nested") == ["inner ObjectNotFoundError", "outer ObjectNotFoundError"]


async def test_break_all_with_an_error_payload_is_caught_by_a_callers_try(ws: Workspace) -> None:
    assert await ws.run("break-all-caught") == {"error": "UserNotFound", "message": "no such user",
                                                "details": {"id": 7}}
    plain = await ws.run("break-all-plain-payload")
    assert plain["error"] == "Break" and plain["details"] == {"reason": "cancelled"}


async def test_break_of_the_automation_inside_try_runs_finally_and_stops(ws: Workspace) -> None:
    call = await ws.call("break-automation-in-try", {})
    assert call.ok() == {"done": True}
    [run] = executed(await call.events(), "break-automation-in-try")
    assert run["payload"]["break"] is True


async def test_break_scope_repeat_leaves_the_nearest_loop_only(ws: Workspace) -> None:
    assert await ws.run("break-repeat") == [1, 2, "after"]
    assert await ws.run("break-repeat-inner-only") == [1, "a", 1, "b"]


async def test_break_payload_is_recorded_and_the_caller_goes_on(ws: Workspace) -> None:
    call = await ws.call("break-with-payload", {})
    assert call.ok() == {"went": "on", "r": {"partial": True}}
    [stopped] = executed(await call.events(), "stopping")
    assert stopped["payload"]["break"] is True


async def test_a_wait_with_only_a_timeout_sleeps(ws: Workspace) -> None:
    started = time.monotonic()
    out = await ws.run("sleep")
    assert time.monotonic() - started >= 1.0
    assert out["t1"] > out["t0"]
    assert await ws.run("sleep-templated", {"seconds": 0.2}) == {"slept": True}
    bad = await ws.call("sleep-templated", {"seconds": -1})
    assert "positive number of seconds" in bad.error("InvalidInstructionError")["message"]


async def test_import_accepts_the_new_shapes_and_refuses_a_wait_without_either(ws: Workspace) -> None:
    response = await ws.stack.http.post("/v2/workspaces/import", headers=ws.stack.auth, json={
        "name": "bad", "slug": "bad-wait-" + ws.slug[-6:], "automations": {
            "w": {"name": "w", "do": [{"wait": {"output": "x"}}, {"try": {"catch": []}},
                                      {"break": {"scope": "loop"}}]}}})
    assert response.status_code == 400, response.text
    messages = " | ".join(d["message"] for d in response.json()["details"])
    assert "oneOf" in messages and "timeout" in messages
    assert "needs 'do'" in messages and "repeat" in messages
