"""``set`` and ``delete`` on local variables (spec §3.1–3.2) and ``comment`` (§3.12): replace, merge, push, the ``[]``
suffix, nested paths, copies, and the errors, each located at its instruction.

One workspace holds every case as its own webhook; contexts and ``$http`` have their own modules.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from tests.engine.helpers import Workspace, hook
from tests.stack import Stack


def s(name: str, value: Any = None, type: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``set`` instruction (``value`` omitted when None and not given explicitly)."""
    arg: dict[str, Any] = {"name": name, **extra}
    if value is not None:
        arg["value"] = value
    if type is not None:
        arg["type"] = type
    return {"set": arg}


def d(name: str) -> dict[str, Any]:
    return {"delete": {"name": name}}


class Case(NamedTuple):
    do: list[Any]
    output: Any
    expected: Any
    body: dict[str, Any] | None = None


CASES: dict[str, Case] = {
    # -- replace ---------------------------------------------------------------------------
    "replace-scalar": Case([s("a", 41), s("a", 42)], "{{a}}", 42),
    "replace-keeps-json-types": Case([s("a", {"l": [1, 2.5, True, None, "t"]})], "{{a}}",
                                     {"l": [1, 2.5, True, None, "t"]}),
    "replace-from-body-keeps-type": Case([s("copy", "{{body.v}}")], "{{copy}}", {"k": [3]}, {"v": {"k": [3]}}),
    "replace-with-expression": Case([s("n", 4), s("n", "{% {{n}} * 10 + 2 %}")], "{{n}}", 42),
    "replace-text-template": Case([s("who", "Ann"), s("msg", "hi {{who}}, {{n}}")], "{{msg}}", "hi Ann, "),
    "nested-path-creates-objects": Case([s("a.b.c", 1)], "{{a}}", {"b": {"c": 1}}),
    "numeric-segment-on-missing-parent-makes-object": Case([s("p.0.x", "v")], "{{p}}", {"0": {"x": "v"}}),
    "bracket-quoted-key-with-dots": Case([s('a["x.y"]', 1), s("a['k z']", 2)], "{{a}}", {"x.y": 1, "k z": 2}),
    "index-into-list-pads-with-null": Case([s("l", ["a", "b"]), s("l[1]", "B"), s("l[3]", "D")], "{{l}}",
                                           ["a", "B", None, "D"]),
    "index-into-nested-list-object": Case([s("l", [{"k": 1}, {"k": 2}]), s("l[1].k", 20)], "{{l}}",
                                          [{"k": 1}, {"k": 20}]),
    "child-of-scalar-replaces-it": Case([s("a", 5), s("a.b", 1)], "{{a}}", {"b": 1}),
    "dynamic-name": Case([s("{{body.key}}", "dyn")], "{{result}}", "dyn", {"key": "result"}),
    "dynamic-segment-in-brackets": Case([s("m", {}), s("m[{{body.key}}]", 7)], "{{m}}", {"kk": 7}, {"key": "kk"}),
    "undefined-value-unsets": Case([s("a", 1), s("a", "{{missing}}")],
                                   {"a": "{{a}}", "exists": "{% {{a}} exists %}"}, {"exists": False}),
    "null-value-is-kept": Case([s("a", 1), {"set": {"name": "a", "value": None}}],
                               {"a": "{{a}}", "exists": "{% {{a}} exists %}"}, {"a": None, "exists": False}),
    "value-is-a-deep-copy": Case([s("a", {"x": {"y": 1}}), s("b", "{{a}}"), s("a.x.y", 2)],
                                 {"a": "{{a}}", "b": "{{b}}"}, {"a": {"x": {"y": 2}}, "b": {"x": {"y": 1}}}),
    "pushed-value-is-a-deep-copy": Case([s("a", {"x": 1}), s("l[]", "{{a}}"), s("a.x", 2)], "{{l}}", [{"x": 1}]),
    "set-has-no-output": Case([{"set": {"name": "a", "value": 1, "output": "o"}}],
                              {"a": "{{a}}", "o": "{% {{o}} exists %}"}, {"a": 1, "o": False}),
    # -- push ------------------------------------------------------------------------------
    "push-type-appends": Case([s("l", 1, "push"), s("l", {"k": 2}, "push"), s("l", [3], "push")], "{{l}}",
                              [1, {"k": 2}, [3]]),
    "push-bracket-suffix": Case([s("l[]", "a"), s("l[]", "b")], "{{l}}", ["a", "b"]),
    "push-suffix-wins-over-type": Case([s("l", ["x"]), s("l[]", ["y"], "merge")], "{{l}}", ["x", ["y"]]),
    "push-onto-non-list-starts-a-list": Case([s("l", "text"), s("l[]", 1)], "{{l}}", [1]),
    "push-on-nested-path": Case([s("a.items[]", 1), s("a.items[]", 2)], "{{a}}", {"items": [1, 2]}),
    # -- merge -----------------------------------------------------------------------------
    "merge-objects-shallow": Case([s("o", {"a": 1, "n": {"x": 1}}), s("o", {"b": 2, "n": {"y": 2}}, "merge")],
                                  "{{o}}", {"a": 1, "n": {"y": 2}, "b": 2}),
    "merge-list-concatenates-or-appends": Case(
        [s("l", [1]), s("l", [2, 3], "merge"), s("l", "four", "merge"), s("l", {"five": 5}, "merge")],
        "{{l}}", [1, 2, 3, "four", {"five": 5}]),
    "merge-non-object-into-object-is-ignored": Case([s("o", {"a": 1}), s("o", "x", "merge"), s("o", [1], "merge")],
                                                    "{{o}}", {"a": 1}),
    "merge-object-into-null": Case([{"set": {"name": "o", "value": None}}, s("o", {"fixed": True}, "merge")],
                                   "{{o}}", {"fixed": True}),
    "merge-into-missing-assigns": Case([s("o", 7, "merge")], "{{o}}", 7),
    "merge-into-scalar-replaces": Case([s("o", "a"), s("o", {"b": 1}, "merge")], "{{o}}", {"b": 1}),
    "merged-value-is-a-deep-copy": Case([s("src", {"k": {"v": 1}}), s("o", {}), s("o", "{{src}}", "merge"),
                                         s("src.k.v", 2)], "{{o}}", {"k": {"v": 1}}),
    # -- comment -------------------------------------------------------------------------------
    "comment-does-nothing": Case([{"comment": "note about {{a}}"}, s("a", 1), {"comment": "{{a}} {% 1 + %}"}],
                                 "{{a}}", 1),
    # -- delete ----------------------------------------------------------------------------
    "delete-key": Case([s("o", {"a": 1, "b": 2}), d("o.a")], "{{o}}", {"b": 2}),
    "delete-list-item-splices": Case([s("l", ["a", "b", "c"]), d("l[1]")], "{{l}}", ["a", "c"]),
    "delete-out-of-range-item-is-noop": Case([s("l", ["a"]), d("l[4]")], "{{l}}", ["a"]),
    "delete-variable": Case([s("a", 1), d("a")], {"a": "{{a}}", "gone": "{% {{a}} not exists %}"}, {"gone": True}),
    "delete-missing-path-creates-parents": Case([d("x.y.z")], "{{x}}", {"y": {}}),
    "delete-dynamic-name": Case([s("o", {"a": 1, "b": 2}), d("o.{{body.k}}")], "{{o}}", {"a": 1}, {"k": "b"}),
}


class ErrorCase(NamedTuple):
    do: list[Any]
    error: str
    instruction: str
    message: str  # a part of the message
    body: dict[str, Any] | None = None


ERRORS: dict[str, ErrorCase] = {
    "set-empty-name": ErrorCase([s("ok", 1), s("", 1)], "InvalidInstructionError", "do[1]", "Invalid variable name"),
    "set-name-undefined": ErrorCase([s("{{body.nope}}", 1)], "InvalidInstructionError", "do[0]",
                                    "Invalid variable name"),
    "set-invalid-path": ErrorCase([s("a..b", 1)], "InvalidInstructionError", "do[0]", "a..b"),
    "set-unknown-type": ErrorCase([s("a", 1, "{{body.t}}")], "InvalidInstructionError", "do[0]", "split",
                                  {"t": "split"}),
    "set-workspace-is-read-only": ErrorCase([s("$workspace.x", 1)], "InvalidInstructionError", "do[0]",
                                            "read-only"),
    "set-context-to-non-object": ErrorCase([s("session", 3)], "InvalidInstructionError", "do[0]", "non-object"),
    "set-not-an-object": ErrorCase([{"set": "{{body.v}}"}], "InvalidInstructionError", "do[0]", "expects an object",
                                   {"v": "text"}),
    "delete-empty-name": ErrorCase([{"delete": {"name": "{{body.nope}}"}}], "InvalidInstructionError", "do[0]",
                                   "Invalid variable name"),
    "error-inside-nested-list-is-located": ErrorCase(
        [{"conditions": {"1 == 1": [s("ok", 1), s("", 1)]}}], "InvalidInstructionError",
        "do[0].conditions['1 == 1'][1]", "Invalid variable name"),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    automations = {slug: hook(case.do, case.output, name=slug) for slug, case in CASES.items()}
    automations.update({slug: hook(case.do, {"unreachable": True}, name=slug) for slug, case in ERRORS.items()})
    return await Workspace.create(sqlite_stack, automations)


@pytest.mark.parametrize("slug", list(CASES))
async def test_set_and_delete(ws: Workspace, slug: str) -> None:
    case = CASES[slug]
    assert await ws.run(slug, case.body or {}) == case.expected


@pytest.mark.parametrize("slug", list(ERRORS))
async def test_set_and_delete_errors(ws: Workspace, slug: str) -> None:
    case = ERRORS[slug]
    call = await ws.call(slug, case.body or {})
    body = call.error(case.error)
    assert case.message in body["message"], body
    assert body["at"] == {"automation": slug, "instruction": case.instruction}, body
    events = await call.events(types="error")
    assert [e["payload"]["error"] for e in events] == [case.error]
    assert events[0]["payload"]["at"]["instruction"] == case.instruction
    assert events[0]["source"]["automationSlug"] == slug
