"""``wait`` (spec §3.8, docs/events.md "Waits"): ``oneOf``, filters over the whole event, timeouts
recorded as ``runtime.waits.timeout``, ``cancelTriggers``, replies persisted before the wait
registered, contexts re-read after a wait."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from tests.engine.helpers import Call, Workspace, executed, hook, listener, of_type
from tests.stack import Stack


def wait(one_of: Any, timeout: Any = 20, output: str = "got") -> dict[str, Any]:
    return {"wait": {"oneOf": one_of, "timeout": timeout, "output": output}}


AUTOMATIONS: dict[str, dict[str, Any]] = {
    "wait-one": hook([wait([{"event": "go", "filters": "{{body.filters}}"}])], "{{got}}"),
    "wait-one-of": hook([wait([{"event": "first.kind"}, {"event": "second.kind", "filters": {"payload.status": "ok"}}])],
                        {"type": "{{got.type}}", "payload": "{{got.payload}}"}),
    "wait-timeout": hook([wait([{"event": "never.comes"}], timeout=1), {"set": {"name": "after", "value": True}}],
                         {"got": "{{got}}", "exists": "{% {{got}} exists %}", "after": "{{after}}"}),
    "wait-cancel-triggers": hook([wait([{"event": "reply", "cancelTriggers": "{{body.cancel}}",
                                         "filters": {"payload.key": "{{body.key}}"}}])], {"key": "{{got.payload.key}}"}),
    "on-reply": listener(["reply"], [], {"key": "{{payload.key}}"}),
    # request/reply: the reply is usually persisted before the requester's wait is registered.
    "ask": hook([{"emit": {"event": "question", "payload": {"q": "{{body.q}}"}}},
                 wait([{"event": "answer", "filters": {"source.correlationId": "{{run.correlationId}}"}}])],
                "{{got.payload.a}}"),
    "answerer": listener(["question"], [{"emit": {"event": "answer", "payload": {"a": "re: {{payload.q}}"}}}]),
    # the documented pattern: wait for the run of the listener started by one's own event
    "delegate": hook([{"emit": {"event": "work.requested", "payload": {"n": "{{body.n}}"}, "output": "sent"}},
                      wait([{"event": "runtime.automations.executed", "filters": {"payload.trigger.id": "{{sent.id}}"}}])],
                     "{{got.payload.output}}"),
    "worker": listener(["work.requested"], [], {"square": "{% {{payload.n}} * {{payload.n}} %}"}),
    # contexts are re-read after a wait: the replier's global write is seen
    "wait-then-read-global": hook([{"set": {"name": "global.flag", "value": "before"}},
                                   wait([{"event": "flag.changed"}]), ], "{{global.flag}}"),
    "flag-changer": listener(["flag.change"], [{"set": {"name": "global.flag", "value": "after"}},
                                               {"emit": {"event": "flag.changed"}}]),
    "wait-bad-one-of": hook([{"wait": {"oneOf": "{{body.oneOf}}"}}]),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()})


async def pending_call(ws: Workspace, endpoint: str, body: dict[str, Any]) -> tuple[asyncio.Task[Call], dict[str, Any]]:
    """Start a webhook call that waits; return it once its wait is registered, with the pending event."""
    correlation_id = uuid.uuid4().hex
    task = asyncio.ensure_future(ws.call(endpoint, body, correlation_id=correlation_id))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert not task.done(), task.result().response.text
        pending = await ws.events(types="runtime.waits.pending", **{"source.correlationId": correlation_id})
        if pending:
            return task, pending[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{endpoint} never registered its wait")


@pytest.mark.parametrize(("filters", "sent", "matched"), [
    ({"payload.i": 2}, [{"i": 1}, {"i": 2}], {"i": 2}),
    ({"payload.i": "2"}, [{"i": 3}, {"i": 2}], {"i": 2}),  # loose ==
    ({"payload.user.name": "ann"}, [{"user": {"name": "bob"}}, {"user": {"name": "ann"}, "x": 1}],
     {"user": {"name": "ann"}, "x": 1}),
    ({"payload.a": 1, "payload.b": "x"}, [{"a": 1, "b": "y"}, {"a": 1, "b": "x"}], {"a": 1, "b": "x"}),
    (None, [{"any": True}], {"any": True}),
])
async def test_wait_returns_the_first_event_matching_its_filters(
        ws: Workspace, filters: Any, sent: list[dict[str, Any]], matched: dict[str, Any]) -> None:
    task, pending = await pending_call(ws, "wait-one", {"filters": filters})
    assert pending["payload"]["wait"]["oneOf"][0]["event"] == "go"
    for payload in sent:
        await ws.send("go", payload)
    call = await task
    event = call.ok()
    assert event["type"] == "go" and event["payload"] == matched
    [fulfilled] = of_type(await call.events(), "runtime.waits.fulfilled")
    assert fulfilled["payload"]["id"] == pending["payload"]["id"]
    assert fulfilled["payload"]["event"]["id"] == event["id"]


async def test_one_of_several_events(ws: Workspace) -> None:
    task, _ = await pending_call(ws, "wait-one-of", {})
    await ws.send("second.kind", {"status": "ko"})  # filtered out
    await ws.send("second.kind", {"status": "ok"})
    assert (await task).ok() == {"type": "second.kind", "payload": {"status": "ok"}}
    task, _ = await pending_call(ws, "wait-one-of", {})
    await ws.send("first.kind", {"n": 1})
    assert (await task).ok() == {"type": "first.kind", "payload": {"n": 1}}


async def test_timeout_gives_undefined_and_records_the_timeout(ws: Workspace) -> None:
    started = time.monotonic()
    call = await ws.call("wait-timeout")
    assert call.ok() == {"exists": False, "after": True}
    assert time.monotonic() - started >= 1
    events = await call.events()
    [pending] = of_type(events, "runtime.waits.pending")
    [timeout] = of_type(events, "runtime.waits.timeout")
    assert pending["payload"]["wait"]["timeout"] == 1
    assert timeout["payload"]["wait"] == {"oneOf": [{"event": "never.comes"}], "timeout": 1}
    assert of_type(events, "runtime.waits.fulfilled") == []


@pytest.mark.parametrize("cancel", [True, False])
async def test_cancel_triggers_stops_the_regular_listeners(ws: Workspace, cancel: bool) -> None:
    key = f"k-{cancel}"
    task, _ = await pending_call(ws, "wait-cancel-triggers", {"cancel": cancel, "key": key})
    sent = await ws.send("reply", {"key": key})
    assert (await task).ok() == {"key": key}

    def listener_ran(events: list[dict[str, Any]]) -> bool:
        return any(e["payload"]["trigger"].get("id") == sent["id"] for e in executed(events, "on-reply"))

    events = await ws.wait_events(listener_ran, timeout=3 if cancel else 20, types="runtime.automations.executed")
    assert listener_ran(events) is not cancel


async def test_a_reply_persisted_before_the_wait_registers_is_found(ws: Workspace) -> None:
    for q in ("one", "two", "three"):
        assert await ws.run("ask", {"q": q}) == f"re: {q}"


async def test_waiting_for_the_run_started_by_ones_own_event(ws: Workspace) -> None:
    assert await ws.run("delegate", {"n": 7}) == {"square": 49}


async def test_contexts_are_read_again_after_a_wait(ws: Workspace) -> None:
    task, _ = await pending_call(ws, "wait-then-read-global", {})
    await ws.send("flag.change")
    assert (await task).ok() == "after"


@pytest.mark.parametrize("one_of", [[], "x", [{"filters": {}}], [{"event": ""}]])
async def test_invalid_one_of_is_an_error(ws: Workspace, one_of: Any) -> None:
    body = (await ws.call("wait-bad-one-of", {"oneOf": one_of})).error("InvalidInstructionError")
    assert "wait.oneOf" in body["message"] and body["at"]["instruction"] == "do[0]"
