"""``repeat`` (spec §3.4, DECISIONS 14) and ``break`` (spec §3.6): what is iterated, ``until``,
``item``/``$index`` and their restoration, nested loops, and how far a break reaches."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.helpers import Workspace, automation, executed, hook
from tests.stack import Stack


def push(name: str, value: Any) -> dict[str, Any]:
    return {"set": {"name": f"{name}[]", "value": value}}


def repeat(do: list[Any], **arg: Any) -> dict[str, Any]:
    return {"repeat": {**arg, "do": do}}


def collect(**arg: Any) -> dict[str, Any]:
    """A webhook that runs ``repeat`` with ``arg`` and answers the ``item:$index`` it saw."""
    return hook([{"set": {"name": "seen", "value": []}}, repeat([push("seen", "{{item}}:{{$index}}")], **arg)],
                "{{seen}}")


AUTOMATIONS: dict[str, dict[str, Any]] = {
    "on-list": collect(on=["a", "b", "c"]),
    "on-body": collect(on="{{body.on}}"),
    "on-number": collect(on=3),
    "until-only": collect(until=2),
    "until-shorter-than-list": collect(on=["a", "b", "c", "d"], until=2),
    "until-longer-than-list": collect(on=["a", "b"], until=5),
    "until-from-body": collect(on="{{body.on}}", until="{{body.until}}"),
    "on-object": hook([{"set": {"name": "seen", "value": []}}, repeat([
        push("seen", {"k": "{{item.key}}", "v": "{{item.value}}", "i": "{{$index}}"})], on={"x": 1, "y": [2]})],
        "{{seen}}"),
    "items-keep-types": hook([repeat([push("types", "{% isObject({{item}}) %}")], on=[{"a": 1}, [1], 1])],
                             "{{types}}"),
    "nested-restores-outer-item": hook([repeat([
        repeat([push("seen", "{{item}}{{$index}}")], on=["x", "y"]),
        push("seen", "outer {{item}}{{$index}}"),
    ], on=["A", "B"])], "{{seen}}"),
    "restores-variables-after-loop": hook([
        {"set": {"name": "item", "value": "mine"}},
        repeat([push("seen", "{{item}}")], on=[1, 2]),
    ], {"item": "{{item}}", "index": "{{$index}}", "seen": "{{seen}}"}),
    "conditions-inside": hook([repeat([{"conditions": {
        "{{item}} % 2 == 0": [push("even", "{{item}}")], "default": [push("odd", "{{item}}")]}}], on=5)],
        {"even": "{{even}}", "odd": "{{odd}}"}),
    "accumulates-across-iterations": hook([{"set": {"name": "total", "value": 0}}, repeat([
        {"set": {"name": "total", "value": "{% {{total}} + {{item.price}} * {{item.qty}} %}"}}],
        on="{{body.cart}}")], "{{total}}"),
    "body-is-interpolated-per-iteration": hook([repeat([
        {"set": {"name": "last", "value": "{{item}}"}}, push("trail", "{{last}}")], on=["p", "q"])],
        "{{trail}}"),
    "calls-inside-loop": hook([repeat([{"double": {"n": "{{item}}", "output": "d"}}, push("out", "{{d}}")],
                                      on=[1, 2, 3])], "{{out}}"),
    "double": automation([], "{% {{n}} * 2 %}"),
    "on-string-is-an-error": hook([repeat([], on="{{body.s}}")]),
    "on-boolean-is-an-error": hook([repeat([], on="{{body.b}}")]),
    "until-not-a-number": hook([repeat([], until="{{body.u}}")]),
    # -- break ---------------------------------------------------------------------------------
    "break-stops-automation": hook([
        {"set": {"name": "a", "value": 1}}, {"break": {}}, {"set": {"name": "a", "value": 2}}],
        {"a": "{{a}}", "computed": True}),
    "break-inside-loop": hook([repeat([
        {"conditions": {"{{item}} == 2": [{"break": {}}]}}, push("seen", "{{item}}")], on=5),
        push("seen", "after loop")], "{{seen}}"),
    "caller-of-breaker": hook([
        {"breaker": {"output": "b"}}, {"set": {"name": "after", "value": True}}],
        {"b": "{{b}}", "after": "{{after}}"}),
    "breaker": automation([{"set": {"name": "x", "value": "set before break"}}, {"break": {"scope": "automation"}},
                           {"set": {"name": "x", "value": "not reached"}}], "{{x}}"),
    "caller-of-break-all": hook([
        {"set": {"name": "a", "value": 1}}, {"middle": {}}, {"set": {"name": "a", "value": 2}}],
        {"a": "{{a}}"}),
    "middle": automation([{"break-all": {}}, {"set": {"name": "run.middle", "value": "not reached"}}], "middle out"),
    "break-all": automation([{"break": {"scope": "all"}}], "break-all out"),
    "break-all-at-root": hook([{"set": {"name": "a", "value": 1}}, {"break": {"scope": "all"}},
                               {"set": {"name": "a", "value": 2}}], {"a": "{{a}}"}),
    "bad-break-scope": hook([{"break": {"scope": "{{body.scope}}"}}]),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()})


@pytest.mark.parametrize(("slug", "body", "expected"), [
    ("on-list", {}, ["a:0", "b:1", "c:2"]),
    ("on-body", {"on": [True, None, 2.5]}, ["true:0", ":1", "2.5:2"]),
    ("on-body", {"on": []}, []),
    ("on-body", {"on": None}, []),
    ("on-body", {}, []),  # undefined: no iteration
    ("on-body", {"on": 2}, ["0:0", "1:1"]),  # DECISIONS 14: a number runs that many times
    ("on-body", {"on": 0}, []),
    ("on-number", {}, ["0:0", "1:1", "2:2"]),
    ("until-only", {}, ["0:0", "1:1"]),
    ("until-shorter-than-list", {}, ["a:0", "b:1"]),
    ("until-longer-than-list", {}, ["a:0", "b:1"]),
    ("until-from-body", {"on": ["a"], "until": 3}, ["a:0"]),
    ("until-from-body", {"on": [], "until": 2}, ["0:0", "1:1"]),  # an empty `on` lets `until` count
    ("until-from-body", {"on": ["a", "b"], "until": 0}, []),
])
async def test_repeat_iterations(ws: Workspace, slug: str, body: dict[str, Any], expected: list[str]) -> None:
    assert await ws.run(slug, body) == expected


async def test_repeat_on_object_iterates_key_value_pairs(ws: Workspace) -> None:
    assert await ws.run("on-object") == [{"k": "x", "v": 1, "i": 0}, {"k": "y", "v": [2], "i": 1}]


async def test_items_keep_their_types(ws: Workspace) -> None:
    assert await ws.run("items-keep-types") == [True, False, False]


async def test_nested_loops_restore_the_outer_item_and_index(ws: Workspace) -> None:
    assert await ws.run("nested-restores-outer-item") == [
        "x0", "y1", "outer A0", "x0", "y1", "outer B1"]


async def test_variables_are_restored_after_the_loop(ws: Workspace) -> None:
    # DECISIONS 14: a local `item` survives the loop; `$index` did not exist before, so is gone.
    assert await ws.run("restores-variables-after-loop") == {"item": "mine", "seen": [1, 2]}


async def test_loop_bodies(ws: Workspace) -> None:
    assert await ws.run("conditions-inside") == {"even": [0, 2, 4], "odd": [1, 3]}
    cart = [{"price": 2.5, "qty": 2}, {"price": 10, "qty": 1}]
    assert await ws.run("accumulates-across-iterations", {"cart": cart}) == 15
    assert await ws.run("body-is-interpolated-per-iteration") == ["p", "q"]
    assert await ws.run("calls-inside-loop") == [2, 4, 6]


@pytest.mark.parametrize(("slug", "body", "message"), [
    ("on-string-is-an-error", {"s": "abc"}, "repeat.on is a string"),
    ("on-boolean-is-an-error", {"b": True}, "repeat.on must be a list, an object or a number"),
    ("until-not-a-number", {"u": "x"}, "repeat.until must be a number"),
])
async def test_repeat_errors(ws: Workspace, slug: str, body: dict[str, Any], message: str) -> None:
    error = (await ws.call(slug, body)).error("InvalidInstructionError")
    assert message in error["message"]
    assert error["at"] == {"automation": slug, "instruction": "do[0]"}


async def test_break_stops_the_automation_and_output_is_still_computed(ws: Workspace) -> None:
    call = await ws.call("break-stops-automation")
    assert call.ok() == {"a": 1, "computed": True}
    [event] = executed(await call.events(), "break-stops-automation")
    assert event["payload"]["break"] is True and event["payload"]["output"] == {"a": 1, "computed": True}


async def test_break_inside_a_loop_stops_the_whole_automation(ws: Workspace) -> None:
    assert await ws.run("break-inside-loop") == [0, 1]


async def test_default_break_stops_only_the_called_automation(ws: Workspace) -> None:
    call = await ws.call("caller-of-breaker")
    assert call.ok() == {"b": "set before break", "after": True}
    events = await call.events()
    assert [e["payload"]["break"] for e in executed(events, "breaker")] == [True]
    assert [e["payload"]["break"] for e in executed(events, "caller-of-breaker")] == [False]


async def test_break_scope_all_stops_every_caller_up_to_the_root(ws: Workspace) -> None:
    call = await ws.call("caller-of-break-all")
    assert call.ok() == {"a": 1}  # the root stops quietly and still computes its output
    events = executed(await call.events())
    assert [(e["payload"]["slug"], e["payload"]["break"], e["payload"]["output"]) for e in events] == [
        ("break-all", True, "break-all out"), ("middle", True, "middle out"), ("caller-of-break-all", True, {"a": 1})]


async def test_break_scope_all_in_the_root_answers_its_output(ws: Workspace) -> None:
    assert await ws.run("break-all-at-root") == {"a": 1}


async def test_break_with_an_unknown_scope_is_an_error(ws: Workspace) -> None:
    error = (await ws.call("bad-break-scope", {"scope": "loop"})).error("InvalidInstructionError")
    assert "break scope must be 'automation', 'all' or 'repeat'" in error["message"]
    assert error["at"]["instruction"] == "do[0]"
