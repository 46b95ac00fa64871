"""Emitting and sending events: listeners run as child workflows, in parallel, exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

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
