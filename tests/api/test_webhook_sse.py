"""``$http.chunk``: a webhook answer streamed as Server-Sent Events while the run goes on (issue 8).

The chunks travel from the workflow to the API through a Temporal workflow update (no shared
memory), so what is tested here holds when the API and the worker are separate processes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from api.app import create_app
from tests.api.helpers import workspace_doc
from tests.api.test_events_read import StreamingASGITransport
from tests.stack import Stack

STREAMER = {
    "name": "streamer", "when": {"endpoint": True},
    "do": [
        {"set": {"name": "$http", "value": {"headers": {"x-mode": "stream"}, "sseKeepAlive": 5000}}},
        {"set": {"name": "$http.chunk", "value": {"n": 1, "who": "{{body.who}}"}}},
        {"wait": {"oneOf": [{"event": "go.on"}], "timeout": 30}},
        {"set": {"name": "$http.chunk", "value": {"n": 2}}},
        {"set": {"name": "$http.chunk", "value": "plain text"}},
    ],
    "output": {"done": True},
}
FAILING = {"name": "failing", "when": {"endpoint": True},
           "do": [{"set": {"name": "$http.chunk", "value": {"n": 1}}},
                  {"fetch": {"url": "http://127.0.0.1:9/unreachable"}}]}
QUIET = {"name": "quiet", "when": {"endpoint": True},
         "do": [{"conditions": {"{{body.never}}": [{"set": {"name": "$http.chunk", "value": 1}}]}}],
         "output": {"plain": True}}


def _events(buffer: str) -> tuple[list[Any], str]:
    out = []
    while "\n\n" in buffer:
        block, buffer = buffer.split("\n\n", 1)
        for line in block.splitlines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out, buffer


async def test_chunks_reach_the_client_while_the_run_goes_on(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"streamer": STREAMER, "failing": FAILING,
                                                      "quiet": QUIET})))["id"]
    transport = StreamingASGITransport(create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60) as client:
        received: list[Any] = []
        arrivals: list[float] = []
        async with client.stream("POST", f"/v2/workspaces/{ws}/webhooks/streamer", json={"who": "ann"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-mode"] == "stream" and response.headers["cache-control"] == "no-cache"
            buffer = ""
            async for text in response.aiter_text():
                events, buffer = _events(buffer + text)
                for event in events:
                    received.append(event)
                    arrivals.append(time.monotonic())
                    if event == {"n": 1, "who": "ann"}:
                        # The run is parked in `wait`: the first chunk arrived before it ended.
                        executed = await stack.events(ws, types="runtime.automations.executed")
                        assert executed == []
                    if event == {"keepAlive": True} and received.count(event) == 1:
                        sent = await stack.http.post(f"/v2/workspaces/{ws}/events",
                                                     json={"events": [{"type": "go.on"}]}, headers=stack.auth)
                        assert sent.status_code == 200
        assert received == [{"n": 1, "who": "ann"}, {"keepAlive": True}, {"n": 2}, "plain text", {"done": True}]
        assert arrivals[1] - arrivals[0] >= 4.5  # sseKeepAlive: 5000 ms

        # An error after the first chunk is the stream's last event.
        async with client.stream("POST", f"/v2/workspaces/{ws}/webhooks/failing", json={}) as response:
            assert response.status_code == 200
            events, _ = _events((await response.aread()).decode())
        assert events[0] == {"n": 1} and events[-1]["error"] == "FetchError", events

    # An automation that could stream but sets no chunk answers plain JSON.
    quiet = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/quiet", json={})
    assert quiet.status_code == 200 and quiet.json() == {"plain": True}
    assert quiet.headers["content-type"].startswith("application/json")


async def test_a_client_that_leaves_does_not_stop_the_run(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"streamer": STREAMER})))["id"]
    transport = StreamingASGITransport(create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60) as client:
        async with client.stream("POST", f"/v2/workspaces/{ws}/webhooks/streamer", json={"who": "bo"}) as response:
            async for text in response.aiter_text():
                if "data:" in text:
                    break  # hang up after the first chunk
    await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "go.on"}]}, headers=stack.auth)
    for _ in range(100):
        executed = await stack.events(ws, types="runtime.automations.executed")
        if executed:
            break
        await asyncio.sleep(0.1)
    assert executed and executed[0]["payload"]["output"] == {"done": True}
