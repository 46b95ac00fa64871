"""The function library and the array/object literals inside real runs (issue 17 item 7): values
built in workflow code, ``uuid``/``rand`` drawn from the workflow's random source, the documented
streaming pattern ``deepmerge(acc, chunk, {concatStrings: true})`` in a ``repeat``, and a wrong
argument failing the run at its instruction with a message naming the function."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.engine.helpers import Workspace, hook
from tests.stack import Stack

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def s(name: str, value: Any) -> dict[str, Any]:
    return {"set": {"name": name, "value": value}}


AUTOMATIONS = {
    "literals": hook([s("pair", "{% ['a', {{body.n}}] %}"), s("record", '{% {"k": 1, "v": {{body.n}}} %}')],
                     {"pair": "{{pair}}", "record": "{{record}}", "joined": "{% join(['a', 'b'], '-') %}",
                      "query": '{% URLSearchParams({q: {{body.q}}}).asString %}'}, name="literals"),
    "ids": hook([s("first", "{% uuid() %}"), s("second", "{% uuid() %}")],
                {"first": "{{first}}", "second": "{{second}}", "dice": "{% rand(1, 7) %}"}, name="ids"),
    "stream": hook([{"repeat": {"on": "{{body.chunks}}", "do": [
        s("answer", "{% deepmerge({{answer}}, {{item}}, {concatStrings: true}) %}")]}}], "{{answer}}", name="stream"),
    "text": hook([], {
        "title": "{% truncate(upper({{body.title}}), 5, '…') %}", "safe": "{% sanitize({{body.html}}) %}",
        "host": "{% URL({{body.link}}).hostname %}", "params": "{% URL({{body.link}}).searchParams %}",
        "parsed": "{% unsafejson({{body.llm}}) %}", "kind": "{% typeof({{body.missing}}) %}",
        "keys": "{% keys({{body}}) %}", "n": "{% max(parseInt({{body.count}}), 3) %}",
    }, name="text"),
    "wrong-argument": hook([s("ok", 1), s("lowered", "{% lower({{body.n}}) %}")], "{{lowered}}", name="wrong-argument"),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, AUTOMATIONS)


async def test_array_and_object_literals_build_values(ws: Workspace) -> None:
    assert await ws.run("literals", {"n": 2, "q": "tea & cake"}) == {
        "pair": ["a", 2], "record": {"k": 1, "v": 2}, "joined": "a-b", "query": "q=tea+%26+cake"}


async def test_uuid_and_rand_come_from_the_workflow_random_source(ws: Workspace) -> None:
    one, two = await ws.run("ids"), await ws.run("ids")
    for out in (one, two):
        assert UUID4.match(out["first"]) and UUID4.match(out["second"]) and out["first"] != out["second"]
        assert out["dice"] in range(1, 7)
    assert one["first"] != two["first"]  # each run has its own seed


async def test_deepmerge_accumulates_streamed_chunks(ws: Workspace) -> None:
    chunks = [{"delta": {"content": "Hel"}, "n": 1}, {"delta": {"content": "lo"}, "n": 2}, {"done": True}]
    assert await ws.run("stream", {"chunks": chunks}) == {"delta": {"content": "Hello"}, "n": 2, "done": True}


async def test_text_url_and_json_functions(ws: Workspace) -> None:
    body = {"title": "welcome home", "html": "<i>x</i> \U0001f600", "link": "https://api.example.com/v1?a=1&b=2",
            "llm": 'Answer: {"score": 0.9}', "count": "12 items"}
    assert await ws.run("text", body) == {
        "title": "WELCO…", "safe": "&lt;i&gt;x&lt;/i&gt; ", "host": "api.example.com", "params": {"a": "1", "b": "2"},
        "parsed": {"score": 0.9}, "kind": "undefined", "keys": ["title", "html", "link", "llm", "count"], "n": 12}


async def test_a_wrong_argument_fails_the_run_at_its_instruction(ws: Workspace) -> None:
    call = await ws.call("wrong-argument", {"n": 5})
    body = call.error("InvalidExpressionSyntax")
    assert "lower(): expects a string as first argument, got a number" in body["message"]
    assert body["at"] == {"automation": "wrong-argument", "instruction": "do[1]"}
    errors = await call.events(types="error")
    assert [e["payload"]["error"] for e in errors] == ["InvalidExpressionSyntax"]
