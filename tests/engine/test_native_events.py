"""The native events a run records (spec §2.3–2.4, §6.1, DECISIONS 1): ``runtime.interactions.triggered``
for webhooks, ``/test`` and user-sent events (not for automation emits),
``runtime.automations.executed`` and its fields, ``error`` located at the failing instruction,
and whose user each carries."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import make_user
from tests.engine.helpers import Workspace, executed, hook, listener, of_type
from tests.stack import Stack

AUTOMATIONS: dict[str, dict[str, Any]] = {
    "hello": hook([{"set": {"name": "greeting", "value": "hi {{body.who}}"}}], "{{greeting}}"),
    "announce": hook([{"emit": {"event": "announced", "payload": {"who": "{{body.who}}"}}}], {"ok": True}),
    "on-announced": listener(["announced"], [], "heard {{payload.who}}"),
    "failing": hook([{"set": {"name": "ok", "value": 1}}, {"fails": {}}]),
    "fails": {"name": "fails", "do": [{"repeat": {"on": 2, "do": [{"conditions": {
        "{{item}} == 1": [{"set": {"name": "", "value": 0}}]}}]}}]},
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {"name": slug, **a} for slug, a in AUTOMATIONS.items()})


async def test_a_webhook_records_its_interaction_and_execution(sqlite_stack: Stack, ws: Workspace) -> None:
    user = await make_user(sqlite_stack, "native")
    call = await ws.call("hello", {"who": "ann"}, headers={"authorization": user["authorization"]},
                         params={"lang": "en"})
    assert call.ok() == "hi ann"
    events = await call.events()
    assert [e["type"] for e in events] == ["runtime.interactions.triggered", "runtime.automations.executed"]
    interaction, run = events
    assert interaction["payload"]["workspaceId"] == ws.id and interaction["payload"]["automation"] == "hello"
    assert interaction["payload"]["trigger"] == {"type": "endpoint", "value": "hello"}
    assert interaction["source"]["userId"] == user["id"]
    payload = run["payload"]
    assert payload["slug"] == "hello" and payload["output"] == "hi ann" and payload["break"] is False
    assert payload["trigger"] == {"type": "endpoint", "value": "hello"}
    assert isinstance(payload["duration"], int) and payload["duration"] >= 0
    assert payload["startedAt"].endswith("Z")
    assert payload["payload"]["body"] == {"who": "ann"} and payload["payload"]["query"] == {"lang": "en"}
    assert payload["payload"]["method"] == "POST"
    assert "authorization" not in payload["payload"]["headers"]  # removed from the recorded payload
    assert user["token"] not in str(events)
    source = run["source"]
    assert source["userId"] == user["id"] and source["sessionId"] == user["sessionId"]
    assert source["workflowId"].startswith(f"{ws.id}/hello/") and source["runId"]
    assert source["automationSlug"] == "hello" and source["automationDepth"] == 1


async def test_the_test_route_records_a_test_interaction(ws: Workspace) -> None:
    response = await ws.test("hello", {"body": {"who": "tester"}})
    assert response.status_code == 200 and response.json() == "hi tester"
    events = await ws.wait_events(lambda ev: any(e["payload"]["trigger"] == {"type": "test", "value": "hello"}
                                                 for e in ev), types="runtime.interactions.triggered")
    assert any(e["payload"]["trigger"] == {"type": "test", "value": "hello"} for e in events)


async def test_listeners_act_for_the_emitting_user_though_the_event_carries_none(sqlite_stack: Stack,
                                                                                ws: Workspace) -> None:
    user = await make_user(sqlite_stack, "emitter")
    call = await ws.call("announce", {"who": "bob"}, headers={"authorization": user["authorization"]})
    call.ok()
    events = await call.wait_events(lambda ev: bool(executed(ev, "on-announced")))
    [announced] = of_type(events, "announced")
    assert "userId" not in announced["source"]
    [heard] = executed(events, "on-announced")
    assert heard["payload"]["output"] == "heard bob" and heard["source"]["userId"] == user["id"]
    assert heard["payload"]["trigger"] == {"type": "event", "value": "announced", "id": announced["id"]}
    # an automation's emit starts listeners without a new interaction
    assert len(of_type(events, "runtime.interactions.triggered")) == 1


async def test_a_user_sent_event_records_an_interaction(ws: Workspace) -> None:
    sent = await ws.send("announced", {"who": "api"})
    events = await ws.wait_events(lambda ev: bool(executed(ev, "on-announced")),
                                  **{"source.correlationId": sent["source"]["correlationId"]})
    [interaction] = of_type(events, "runtime.interactions.triggered")
    assert interaction["payload"]["trigger"] == {"type": "event", "value": "announced", "id": sent["id"]}
    assert interaction["payload"]["automation"] == "on-announced"


async def test_the_error_event_names_the_failing_automation_and_instruction(ws: Workspace) -> None:
    call = await ws.call("failing")
    body = call.error("InvalidInstructionError")
    assert body["at"] == {"automation": "fails",
                          "instruction": "do[0].repeat.do[0].conditions['{{item}} == 1'][0]"}
    events = await call.events()
    [error] = of_type(events, "error")
    assert error["payload"] == body
    assert error["source"]["automationSlug"] == "fails" and error["source"]["automationDepth"] == 2
    # Both frames failed, and each is recorded as an execution with the error (issue 16), in the
    # failing run's workflow, as the error event is.
    failed = executed(events)
    assert sorted(e["payload"]["slug"] for e in failed) == ["failing", "fails"]
    for event in failed:
        assert event["payload"]["error"] == {"error": "InvalidInstructionError", "message": body["message"]}
        assert "output" not in event["payload"] and "break" not in event["payload"]
        assert event["source"]["workflowId"] == error["source"]["workflowId"] is not None
