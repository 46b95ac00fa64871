"""``emit`` (spec §3.7, docs/events.md) and the listeners it starts: payload, target, options,
persistence, invalid payloads reported and not thrown, event size, source fields, the variables a
listener gets, native trigger events."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.events import MAX_EVENT_TYPE
from tests.engine.helpers import Workspace, executed, hook, listener, of_type
from tests.stack import Stack


def emit(event: str, payload: Any = None, **extra: Any) -> dict[str, Any]:
    arg: dict[str, Any] = {"event": event, **extra}
    if payload is not None:
        arg["payload"] = payload
    return {"emit": arg}


AUTOMATIONS: dict[str, dict[str, Any]] = {
    "emit-output": hook([emit("order.created", {"n": "{{body.n}}"}, output="sent")], "{{sent}}"),
    "emit-without-payload": hook([emit("bare.event"), {"emit": {"event": "null.payload", "payload": None}}]),
    "emit-target-options": hook([emit("targeted", {"k": 1}, target={"userId": "u1", "sessionId": "s1"},
                                      options={"persist": True})]),
    "emit-invalid-payload": hook([emit("bad.payload", "{{body.payload}}"), {"set": {"name": "after", "value": True}}],
                                 {"after": "{{after}}"}),
    "emit-bad-name": hook([emit("{{body.name}}")]),
    "emit-too-large": hook([emit("big", {"a": "{{body.s}}", "b": "{{body.s}}"})]),
    "emit-not-persisted": hook([emit("ephemeral", {"k": 1}, options={"persist": False})]),
    "emit-dynamic-name": hook([emit("{{body.kind}}.happened", {"k": "{{body.kind}}"})]),
    # listeners
    "cascade-start": hook([{"set": {"name": "run.token", "value": "tok-{{body.n}}"}},
                           emit("cascade.one", {"n": "{{body.n}}"})]),
    "on-cascade-one": listener(["cascade.one"], [emit("cascade.two", {"n": "{% {{payload.n}} + 1 %}"})],
                               {"n": "{{payload.n}}", "token": "{{run.token}}", "depth": "{{run.depth}}"}),
    "on-cascade-two-a": listener(["cascade.two"], [], {"n": "{{payload.n}}", "from": "{{source.automationSlug}}"}),
    "on-cascade-two-b": listener(["cascade.two", "other.event"], [], {"trigger": "{{run.trigger}}"}),
    "on-ephemeral": listener(["ephemeral"], [], {"k": "{{payload.k}}"}),
    "listener-vars": listener(["vars.check"], [], {
        "id": "{{id}}", "type": "{{source.serviceTopic}}", "payload": "{{payload}}", "trigger": "{{run.trigger}}",
        "user": "{% {{user.id}} exists %}"}),
    "emit-vars-check": hook([emit("vars.check", {"x": [1, 2]})]),
    "on-webhook-interaction": listener(["runtime.webhooks.triggered"], [],
                                       {"endpoint": "{{payload.trigger.value}}"}),
    "interaction-probe": hook([], {"ok": True}, name="interaction-probe"),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()})


async def test_emit_records_the_event_and_returns_it(ws: Workspace) -> None:
    call = await ws.call("emit-output", {"n": 3})
    sent = call.ok()
    [event] = of_type(await call.events(), "order.created")
    assert sent["id"] == event["id"] and sent["type"] == "order.created" and sent["payload"] == {"n": 3}
    assert event["payload"] == {"n": 3}
    source = event["source"]
    assert source["workspaceId"] == ws.id and source["correlationId"] == call.correlation_id
    assert source["automationSlug"] == "emit-output" and source["automationDepth"] == 1
    assert source["serviceTopic"] == "topic:runtime:emit"
    assert "userId" not in source  # custom events never carry the user (spec §6.1)


async def test_absent_or_null_payload_is_an_empty_object(ws: Workspace) -> None:
    call = await ws.call("emit-without-payload")
    call.ok()
    events = await call.events()
    assert [e["payload"] for e in of_type(events, "bare.event") + of_type(events, "null.payload")] == [{}, {}]


async def test_target_and_options_are_copied_onto_the_event(ws: Workspace) -> None:
    call = await ws.call("emit-target-options")
    call.ok()
    [event] = of_type(await call.events(), "targeted")
    assert event["target"] == {"userId": "u1", "sessionId": "s1"}
    assert event["options"] == {"persist": True}


@pytest.mark.parametrize(("payload", "kind"), [("text", "String"), ([1, 2], "Array"), (5, "Number"),
                                                (True, "Boolean")])
async def test_non_object_payload_is_reported_and_the_run_goes_on(ws: Workspace, payload: Any, kind: str) -> None:
    call = await ws.call("emit-invalid-payload", {"payload": payload})
    assert call.ok() == {"after": True}
    events = await call.events()
    assert of_type(events, "bad.payload") == []
    [error] = of_type(events, "error")
    assert error["payload"]["error"] == "InvalidEventError"
    assert error["payload"]["message"] == f"Event payload must be an object, received {kind}"
    assert error["payload"]["details"] == {"event": "bad.payload", "payload": payload}


@pytest.mark.parametrize("name", ["has/slash", "", "emoji-😀", "semi;colon", "x" * (MAX_EVENT_TYPE + 1)])
async def test_invalid_event_name_fails_the_run(ws: Workspace, name: str) -> None:
    body = (await ws.call("emit-bad-name", {"name": name})).error("InvalidEventError")
    assert body["at"] == {"automation": "emit-bad-name", "instruction": "do[0]"}


async def test_the_longest_event_name_is_emitted(ws: Workspace) -> None:
    name = "y" * MAX_EVENT_TYPE  # the events.type column's length: stored whole on either database
    call = await ws.call("emit-bad-name", {"name": name})
    call.ok()
    assert [e["type"] for e in of_type(await call.events(), name)] == [name]


async def test_event_over_the_size_limit_fails_the_run(ws: Workspace) -> None:
    call = await ws.call("emit-too-large", {"s": "x" * 60_000})
    body = call.error("EventValidationError")
    assert body["details"]["reason"] == "EventTooLarge" and body["details"]["limit"] == 100_000
    assert of_type(await call.events(), "big") == []


async def test_event_names_may_be_built_from_variables(ws: Workspace) -> None:
    call = await ws.call("emit-dynamic-name", {"kind": "invoice"})
    call.ok()
    assert [e["payload"] for e in of_type(await call.events(), "invoice.happened")] == [{"k": "invoice"}]


async def test_listeners_cascade_and_share_the_run_context(ws: Workspace) -> None:
    call = await ws.call("cascade-start", {"n": 1})
    call.ok()
    cascade = {"cascade-start", "on-cascade-one", "on-cascade-two-a", "on-cascade-two-b"}
    events = await call.wait_events(lambda ev: cascade <= {e["payload"]["slug"] for e in executed(ev)})
    outputs = {e["payload"]["slug"]: e["payload"]["output"] for e in executed(events)}
    # The run context (keyed by the correlation id) is shared with listener runs; a listener runs
    # one level below the automation that emitted its event (what bounds emit chains).
    assert outputs["on-cascade-one"] == {"n": 1, "token": "tok-1", "depth": 2}
    assert outputs["on-cascade-two-a"] == {"n": 2, "from": "on-cascade-one"}
    [two] = of_type(events, "cascade.two")
    assert outputs["on-cascade-two-b"] == {"trigger": {"type": "event", "value": "cascade.two", "id": two["id"]}}
    # Every listener of an event runs once (the webhook's interaction has its own listener).
    assert sorted(e["payload"]["slug"] for e in executed(events) if e["payload"]["slug"] in cascade) == sorted(cascade)


async def test_listener_gets_the_event_as_its_variables(ws: Workspace) -> None:
    call = await ws.call("emit-vars-check")
    call.ok()
    events = await call.wait_events(lambda ev: bool(executed(ev, "listener-vars")))
    [sent] = of_type(events, "vars.check")
    [run] = executed(events, "listener-vars")
    assert run["payload"]["output"] == {
        "id": sent["id"], "type": "topic:runtime:emit", "payload": {"x": [1, 2]},
        "trigger": {"type": "event", "value": "vars.check", "id": sent["id"]}, "user": False}
    assert run["payload"]["trigger"] == {"type": "event", "value": "vars.check", "id": sent["id"]}


async def test_unpersisted_event_starts_listeners_but_is_not_stored(ws: Workspace) -> None:
    call = await ws.call("emit-not-persisted")
    call.ok()
    events = await call.wait_events(lambda ev: bool(executed(ev, "on-ephemeral")))
    assert [e["payload"]["output"] for e in executed(events, "on-ephemeral")] == [{"k": 1}]
    assert of_type(events, "ephemeral") == []


async def test_webhook_records_an_interaction_that_starts_webhook_listeners(ws: Workspace) -> None:
    call = await ws.call("interaction-probe")
    assert call.ok() == {"ok": True}
    events = await call.wait_events(lambda ev: bool(executed(ev, "on-webhook-interaction")))
    [interaction] = of_type(events, "runtime.interactions.triggered")
    assert interaction["payload"]["trigger"] == {"type": "endpoint", "value": "interaction-probe"}
    assert interaction["payload"]["automation"] == "interaction-probe"
    # DECISIONS 1: `runtime.webhooks.triggered` listeners run on interactions of type endpoint.
    outputs = [e["payload"]["output"] for e in executed(events, "on-webhook-interaction")]
    assert {"endpoint": "interaction-probe"} in outputs


async def test_user_sent_event_starts_listeners_with_its_payload(ws: Workspace) -> None:
    sent = await ws.send("cascade.two", {"n": 40})
    events = await ws.wait_events(lambda ev: any(
        e["payload"]["trigger"].get("id") == sent["id"] for e in executed(ev, "on-cascade-two-a")),
        types="runtime.automations.executed")
    [run] = [e for e in executed(events, "on-cascade-two-a") if e["payload"]["trigger"].get("id") == sent["id"]]
    assert run["payload"]["output"]["n"] == 40
