"""Emitting and sending events: listeners run as child workflows, in parallel, exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

from schemas.events import MAX_EVENT_TYPE
from tests.api.helpers import workspace_doc
from tests.stack import Stack


async def wait_events(stack: Stack, ws: str, predicate: Any, timeout: float = 10.0, **params: Any) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = await stack.events(ws, limit=500, **params)
        if predicate(events) or asyncio.get_running_loop().time() > deadline:
            return events
        await asyncio.sleep(0.05)


async def test_user_sent_event_triggers_listener(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "onPing": {"name": "onPing", "when": {"events": ["ping"]}, "do": [], "output": "{{payload.n}}"}})))["id"]
    response = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "ping",
                                                                                     "payload": {"n": 7}}]},
                                     headers=stack.auth)
    assert response.status_code == 200, response.text
    sent = response.json()["events"]
    assert sent[0]["id"] and sent[0]["type"] == "ping"
    events = await wait_events(stack, ws, lambda ev: any(e["type"] == "runtime.automations.executed" for e in ev))
    executed = [e for e in events if e["type"] == "runtime.automations.executed"]
    assert executed, [e["type"] for e in events]
    assert executed[0]["payload"]["output"] == 7
    assert executed[0]["payload"]["trigger"] == {"type": "event", "value": "ping", "id": sent[0]["id"]}


async def test_emitted_event_fans_out_to_listeners_in_parallel(sqlite_stack: Stack) -> None:
    """Three listeners each block in a fetch until all three are in flight: only concurrent
    runs can finish (sequential ones would time out), no sleeps involved."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.conformance.http_stub import HttpStub

    arrived: list[float] = []
    all_in = asyncio.Event()

    async def barrier(request: Request) -> JSONResponse:
        arrived.append(asyncio.get_running_loop().time())
        if len(arrived) == 3:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 10)
        return JSONResponse({"ok": True})

    stack = sqlite_stack
    async with HttpStub([], app=Starlette(routes=[Route("/barrier", barrier)])) as server:
        listener = {"when": {"events": ["go"]}, "do": [{"fetch": {"url": f"{server.url}/barrier", "output": "r"}}],
                    "output": "{{r.ok}}"}
        ws = (await stack.import_workspace(workspace_doc({
            "emitter": {"name": "emitter", "when": {"endpoint": True}, "do": [{"emit": {"event": "go"}}]},
            **{f"l{i}": {"name": f"l{i}", **listener} for i in range(3)}})))["id"]
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/emitter", json={})
        assert response.status_code == 200
        events = await wait_events(stack, ws, lambda ev: sum(
            e["type"] == "runtime.automations.executed" and e["source"]["automationSlug"].startswith("l")
            for e in ev) == 3, timeout=20)
    outputs = [e["payload"]["output"] for e in events
               if e["type"] == "runtime.automations.executed" and e["source"]["automationSlug"] != "emitter"]
    assert outputs == [True, True, True]
    assert len(arrived) == 3


async def test_emit_chain_deeper_than_20_stops(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({
        "start": {"name": "start", "when": {"endpoint": True}, "do": [{"emit": {"event": "hop"}}]},
        "hop": {"name": "hop", "when": {"events": ["hop"]}, "do": [{"emit": {"event": "hop"}}]},
    })))["id"]
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/start", json={})
    errors = await wait_events(stack, ws, lambda ev: bool(ev), timeout=30, types="error")
    assert errors and errors[0]["payload"]["error"] == "TooManyCallError"
    assert errors[0]["payload"]["details"]["limit"] == 20
    hops = await stack.events(ws, types="runtime.automations.executed", limit=500)
    assert max(e["source"]["automationDepth"] for e in hops) == 21


async def test_emit_over_100kb_fails_the_run_and_native_events_are_truncated(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    text = "x" * 60_000
    ws = (await stack.import_workspace(workspace_doc({
        "big": {"name": "big", "when": {"endpoint": True},
                "do": [{"emit": {"event": "huge", "payload": {"text": "{{config.t}}{{config.t}}"}}}]},
        "echo": {"name": "echo", "when": {"endpoint": True}, "do": [], "output": "{{config.t}}{{config.t}}"},
    }, config={"value": {"t": text}})))["id"]
    failed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/big", json={})
    assert failed.status_code == 400
    assert failed.json()["error"] == "EventValidationError"
    assert not await stack.events(ws, types="huge")
    errors = await stack.events(ws, types="error")
    assert errors[0]["payload"]["details"]["reason"] == "EventTooLarge"
    # A native event over the limit keeps its place in the log with a marker payload.
    ok = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json={})
    assert ok.json() == text + text
    executed = await stack.events(ws, types="runtime.automations.executed", limit=1)
    assert executed[0]["payload"]["truncated"] is True and executed[0]["payload"]["size"] > 100_000


async def test_fifty_emit_wait_round_trips_never_time_out(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({
        "ask": {"name": "ask", "when": {"endpoint": True}, "do": [{"repeat": {"on": 50, "do": [
            {"emit": {"event": "question", "payload": {"i": "{{item}}"}}},
            {"wait": {"oneOf": [{"event": "answer", "filters": {"payload.i": "{{item}}"}}], "timeout": 10,
                      "output": "reply"}},
            {"set": {"name": "answers[]", "value": "{{reply.payload.i}}"}}]}}], "output": "{{answers}}"},
        "responder": {"name": "responder", "when": {"events": ["question"]},
                      "do": [{"emit": {"event": "answer", "payload": {"i": "{{payload.i}}"}}}]},
    })))["id"]
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/ask", json={})
    assert response.status_code == 200, response.text
    assert response.json() == list(range(50))
    assert not await stack.events(ws, types="runtime.waits.timeout")


async def test_wait_timeout_is_recorded(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "lonely": {"name": "lonely", "when": {"endpoint": True},
                   "do": [{"wait": {"oneOf": [{"event": "never"}], "timeout": 1, "output": "w"}}],
                   "output": {"w": "{{w}}", "done": True}}})))["id"]
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/lonely", json={})
    assert response.json() == {"done": True}
    timeouts = await stack.events(ws, types="runtime.waits.timeout")
    assert timeouts and timeouts[0]["payload"]["wait"]["oneOf"] == [{"event": "never"}]


async def test_reply_persisted_before_the_wait_registers_is_found(sqlite_stack: Stack) -> None:
    """The responder answers before the asker even reaches its wait: the registration scan
    from the run's watermark finds the reply."""
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({
        "ask": {"name": "ask", "when": {"endpoint": True}, "do": [
            {"emit": {"event": "q"}},
            {"fetch": {"url": "{{body.slow}}", "output": "ignored"}},
            {"wait": {"oneOf": [{"event": "a"}], "timeout": 10, "output": "reply"}}],
                "output": "{{reply.payload.ok}}"},
        "responder": {"name": "responder", "when": {"events": ["q"]}, "do": [{"emit": {"event": "a",
                                                                                         "payload": {"ok": 1}}}]},
    })))["id"]
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.conformance.http_stub import HttpStub

    async def slow(request: Any) -> JSONResponse:
        for _ in range(200):  # hold the asker until the reply is in the log
            if await stack.events(ws, types="a"):
                break
            await asyncio.sleep(0.02)
        return JSONResponse({})

    async with HttpStub([], app=Starlette(routes=[Route("/slow", slow)])) as server:
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/ask", json={"slow": f"{server.url}/slow"})
    assert response.json() == 1, [(e["type"], e["source"].get("automationSlug"), e["payload"].get("wait"), e["payload"].get("id"), e["payload"].get("event", {}).get("type"))  for e in await stack.events(ws)]


async def test_parallel_branches_and_child_runs_lose_no_context_update(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "writer": {"name": "writer", "when": {"endpoint": True}, "do": [
            {"all": [{"set": {"name": "global.marks[]", "value": f"b{i}"}} for i in range(5)]},
            {"repeat": {"on": 5, "do": [{"emit": {"event": "mark", "payload": {"i": "{{item}}"}}}]}}]},
        "marker": {"name": "marker", "when": {"events": ["mark"]},
                   "do": [{"set": {"name": "global.marks[]", "value": "c{{payload.i}}"}}]},
        "reader": {"name": "reader", "when": {"endpoint": True}, "do": [], "output": "{{global.marks}}"},
    })))["id"]
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/writer", json={})
    await wait_events(stack, ws, lambda ev: len(ev) >= 6, types="runtime.automations.executed", timeout=20)
    marks = (await stack.http.post(f"/v2/workspaces/{ws}/webhooks/reader", json={})).json()
    assert sorted(marks) == sorted([f"b{i}" for i in range(5)] + [f"c{i}" for i in range(5)])


async def test_native_workspaces_configured_triggers_listeners(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "onConfigured": {"name": "onConfigured", "when": {"events": ["workspaces.configured"]}, "do": [],
                         "output": "{{payload.config.value.k}}"}}, config={"value": {"k": 1}})))["id"]
    response = await stack.http.patch(f"/v2/workspaces/{ws}", json={"config": {"value": {"k": 2}}},
                                      headers=stack.auth)
    assert response.status_code == 200
    events = await wait_events(stack, ws, lambda ev: bool(ev), types="runtime.automations.executed")
    assert events and events[0]["payload"]["output"] == 2
    configured = await stack.events(ws, types="workspaces.configured")
    assert configured[0]["payload"]["oldConfig"] == {"value": {"k": 1}}


async def test_user_cannot_send_native_or_invalid_events(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    bad_name = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "a/b"}]},
                                     headers=stack.auth)
    assert bad_name.status_code == 400 and bad_name.json()["error"] == "InvalidEventError"
    too_long = await stack.http.post(f"/v2/workspaces/{ws}/events", headers=stack.auth, json={"events": [
        {"type": "fine"}, {"type": "t" * (MAX_EVENT_TYPE + 1)}, {"type": "a/b"}]})
    assert too_long.status_code == 400, too_long.text  # every problem at once, nothing sent
    assert [d["path"] for d in too_long.json()["details"]] == ["body.events[1].type", "body.events[2].type"]
    assert f"at most {MAX_EVENT_TYPE}" in too_long.json()["details"][0]["message"]
    assert await stack.events(ws, types="fine") == []
    bad_payload = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "x",
                                                                                          "payload": [1]}]},
                                        headers=stack.auth)
    assert bad_payload.status_code == 400
    empty = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": []}, headers=stack.auth)
    assert empty.status_code == 400
    too_big = await stack.http.post(f"/v2/workspaces/{ws}/events",
                                    json={"events": [{"type": "x", "payload": {"t": "y" * 100_001}}]},
                                    headers=stack.auth)
    assert too_big.status_code == 413
