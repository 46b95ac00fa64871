"""Streamed fetch responses against a real local SSE server (spec §3.9, docs/fetch.md): the body
as a list of chunk items for `repeat`, `stream.event` chunk events through the normal emit path
(listeners, waits, app prefixes), concatenation, throttling and the stream caps."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from activities.fetch import SseParser
from tests.api.helpers import workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.stack import Stack, open_stack
from workflows.interpreter.fetch_stream import stream_items, throttled


def _delta(text: str) -> str:
    return json.dumps({"choices": [{"delta": {"content": text}}]})


# Network writes of the /sse route: an event split across two writes, two events in one write,
# a comment-only event, multi-line data and an OpenAI-style sentinel, CRLF line endings.
WRITES = [
    f"data: {_delta('Hel')[:12]}",
    f"{_delta('Hel')[12:]}\n\n",
    f"event: message\nid: 2\ndata: {_delta('lo')}\n\n: keep-alive\n\n",
    "data: line one\r\ndata: line two\r\n\r\n",
    "retry: 1500\ndata: [DONE]\n\n",
]
CHUNKS = [
    {"data": [{"choices": [{"delta": {"content": "Hel"}}]}]},
    {"data": [{"choices": [{"delta": {"content": "lo"}}]}], "event": "message", "id": "2"},
    {"data": [], "comment": "keep-alive"},
    {"data": ["line one", "line two"]},
    {"data": ["[DONE]"], "retry": 1500},
]


async def _sse(request: Request) -> StreamingResponse:
    count = request.query_params.get("n")
    status = int(request.query_params.get("status", "200"))

    pad = "x" * int(request.query_params.get("pad", "0"))
    delay = float(request.query_params.get("delay", "0.02"))

    async def writes() -> AsyncIterator[str]:
        pieces = WRITES if count is None else [
            f"data: {json.dumps({'n': i, 'pad': pad} if pad else {'n': i})}\n\n" for i in range(int(count))]
        for piece in pieces:
            await asyncio.sleep(delay)  # a real stream: the chunks arrive over time
            yield piece

    return StreamingResponse(writes(), media_type="text/event-stream", status_code=status)


async def _json(request: Request) -> JSONResponse:
    return JSONResponse({"choices": [{"delta": {"content": "whole"}}]})


APP = Starlette(routes=[Route("/sse", _sse), Route("/json", _json)])


async def _hook(stack: Stack, ws: str, slug: str) -> Any:
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/{slug}", json={})
    assert response.status_code == 200, response.text
    return response.json()


async def _events(stack: Stack, ws: str, count: int, **params: Any) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        events = await stack.events(ws, limit=500, sort="asc", **params)
        if len(events) >= count or asyncio.get_running_loop().time() > deadline:
            return events
        await asyncio.sleep(0.05)


def test_sse_parser_and_items() -> None:
    parser = SseParser()
    chunks = [c for line in "".join(WRITES).replace("\r", "").split("\n") if (c := parser.line(line))]
    assert chunks == CHUNKS
    items = stream_items(CHUNKS, {"concatenate": {"path": "choices[0].delta.content"}, "payload": {"c": 1}})
    assert [i["concatenated"]["value"] for i in items] == ["Hel", "Hello", "Hello", "Hello", "Hello"]
    assert items[3] == {"index": 3, "chunk": CHUNKS[3], "concatenated": {"value": "Hello"},
                        "additionalPayload": {"c": 1}}
    whole = stream_items([{"data": ["a", "b"]}, {"data": [1]}], {"concatenate": True})
    assert [i["concatenated"]["value"] for i in whole] == ["ab", "ab1"]
    assert stream_items(CHUNKS[:1], None) == [{"index": 0, "chunk": CHUNKS[0]}]
    # leading + trailing throttle over the arrival offsets (ms); the last chunk is always sent
    assert throttled([0, 10, 20, 150, 160, 400], 100) == [0, 2, 4, 5]
    assert throttled([0, 5, 9], 1000) == [0, 2]


async def test_sse_body_is_iterated_chunk_by_chunk(sqlite_stack: Stack) -> None:
    async with HttpStub([], app=APP) as server:
        collect = {"name": "collect", "when": {"endpoint": True}, "do": [
            {"fetch": {"url": f"{server.url}/sse", "output": "r"}},
            {"repeat": {"on": "{{r.body}}", "do": [
                {"set": {"name": "chunks", "type": "push", "value": "{{item.chunk}}"}},
                {"set": {"name": "indexes", "type": "push", "value": "{{item.index}}"}}]}}],
            "output": {"status": "{{r.status}}", "stream": "{{r.stream}}", "type": "{{r.headers['content-type']}}",
                       "chunks": "{{chunks}}", "indexes": "{{indexes}}"}}
        plain = {"name": "plain", "when": {"endpoint": True}, "do": [
            {"fetch": {"url": f"{server.url}/json", "stream": {
                "event": "plain.chunk", "concatenate": {"path": "choices[0].delta.content"}},
                       "output": "r"}}], "output": "{{r}}"}
        failing = {"name": "failing", "when": {"endpoint": True}, "do": [
            {"fetch": {"url": f"{server.url}/sse?n=2", "query": {"status": 503}, "output": "r"}}],
            "output": "{{r.status}}"}
        ws = (await sqlite_stack.import_workspace(workspace_doc(
            {"collect": collect, "plain": plain, "failing": failing})))["id"]
        result = await _hook(sqlite_stack, ws, "collect")
        assert result["status"] == 200 and result["stream"] is True
        assert result["type"].startswith("text/event-stream")
        assert result["chunks"] == CHUNKS and result["indexes"] == [0, 1, 2, 3, 4]
        # `stream` on a plain JSON response: one chunk holding the parsed body, detailed output
        whole = await _hook(sqlite_stack, ws, "plain")
        assert whole["stream"] is True and whole["status"] == 200
        assert whole["body"] == [{"index": 0, "chunk": {"data": [{"choices": [{"delta": {"content": "whole"}}]}]},
                                  "concatenated": {"value": "whole"}}]
        plain_events = await _events(sqlite_stack, ws, 1, types="plain.chunk")
        assert [e["payload"] for e in plain_events] == whole["body"]
        # a failing SSE response (`query` added to the URL's own query string): runtime.fetch.failed
        # carries the items, no exception
        assert await _hook(sqlite_stack, ws, "failing") == 503
        failed = await _events(sqlite_stack, ws, 1, types="runtime.fetch.failed")
        assert [i["chunk"]["data"] for i in failed[0]["payload"]["response"]["body"]] == [[{"n": 0}], [{"n": 1}]]


async def test_stream_chunks_become_events_for_listeners_and_waits(sqlite_stack: Stack) -> None:
    async with HttpStub([], app=APP) as server:
        stream = {"event": "llm.chunk", "payload": {"conversation": "c1"},
                  "concatenate": {"path": "choices[0].delta.content"}}
        ws = (await sqlite_stack.import_workspace(workspace_doc({
            "start": {"name": "start", "when": {"endpoint": True}, "do": [
                {"emit": {"event": "go"}},
                {"wait": {"oneOf": [{"event": "llm.chunk", "filters": {"payload.index": "4"}}], "timeout": 15,
                          "output": "last"}}], "output": "{{last.payload}}"},
            "streamer": {"name": "streamer", "when": {"events": ["go"]}, "do": [
                {"fetch": {"url": f"{server.url}/sse", "stream": stream, "output": "r"}}],
                "output": {"count": "{{r.body.length}}", "stream": "{{r.stream}}"}},
            "counter": {"name": "counter", "when": {"events": ["llm.chunk"]}, "do": [
                {"emit": {"event": "llm.counted", "payload": {"index": "{{payload.index}}",
                                                              "text": "{{payload.concatenated.value}}"}}}]},
        })))["id"]
        last = await _hook(sqlite_stack, ws, "start")
        assert last == {"index": 4, "chunk": CHUNKS[4], "concatenated": {"value": "Hello"},
                        "additionalPayload": {"conversation": "c1"}}
        counted = await _events(sqlite_stack, ws, 5, types="llm.counted")
        assert sorted((e["payload"]["index"], e["payload"]["text"]) for e in counted) == [
            (0, "Hel"), (1, "Hello"), (2, "Hello"), (3, "Hello"), (4, "Hello")]
        chunks = await _events(sqlite_stack, ws, 5, types="llm.chunk")
        assert [e["payload"]["index"] for e in chunks] == [0, 1, 2, 3, 4]  # emitted in stream order
        assert {e["source"]["automationSlug"] for e in chunks} == {"streamer"}
        done = await _events(sqlite_stack, ws, 1, types="runtime.automations.executed",
                             **{"source.automationSlug": "streamer"})
        assert done[0]["payload"]["output"] == {"count": 5, "stream": True}


async def test_stream_events_are_prefixed_in_app_instances_and_throttled(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    suffix = uuid.uuid4().hex[:6]
    async with HttpStub([], app=APP) as server:
        fetch = {"url": f"{server.url}/sse?n=6", "output": "r",
                 "stream": {"event": "chunk", "concatenate": {"throttle": 60_000}}}
        response = await stack.http.post("/v2/workspaces/import", headers=stack.auth, json={
            "name": "LLM", "slug": f"llm-{suffix}", "description": "Streams", "photo": "https://example.org/app.png",
            "automations": {"ask": {"name": "ask", "do": [{"fetch": fetch}], "output": "{{r.body.length}}"}}})
        assert response.status_code == 200, response.text
        published = await stack.http.post("/v2/apps", headers=stack.auth, json={
            "workspaceId": response.json()["workspace"]["id"], "slug": f"llm{suffix}"})
        assert published.status_code == 200, published.text
        ws = (await stack.import_workspace(workspace_doc({
            "ask": {"name": "ask", "when": {"endpoint": True}, "do": [{"llm.ask": {"output": "n"}}],
                    "output": "{{n}}"},
            "onChunk": {"name": "onChunk", "when": {"events": ["llm.chunk"]}, "do": [],
                        "output": "{{payload.index}}"}}, imports={"llm": {"appSlug": f"llm{suffix}"}})))["id"]
        assert await _hook(stack, ws, "ask") == 6
        # a throttle longer than the stream: the first chunk, then the last one (the flush)
        heard = await _events(stack, ws, 2, types="runtime.automations.executed",
                              **{"source.automationSlug": "onChunk"})
        assert sorted(e["payload"]["output"] for e in heard) == [0, 5]
        emitted = await _events(stack, ws, 2, types="llm.chunk")
        assert [e["payload"]["chunk"]["data"] for e in emitted] == [[{"n": 0}], [{"n": 5}]]
        assert {e["source"]["appInstanceFullSlug"] for e in emitted} == {"llm"}


async def test_stream_caps_fail_the_fetch(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with open_stack(temporal_env.client, f"sqlite:///{tmp_path / 'caps.db'}", "sqlite",
                          fetch_stream_max_chunks=3, fetch_stream_max_bytes=400_000) as stack, HttpStub([], app=APP) as server:
        ws = (await stack.import_workspace(workspace_doc({
            "small": {"name": "small", "when": {"endpoint": True}, "do": [
                {"fetch": {"url": f"{server.url}/sse?n=3", "output": "r"}}], "output": "{{r.body.length}}"},
            "large": {"name": "large", "when": {"endpoint": True}, "do": [
                {"fetch": {"url": f"{server.url}/sse?n=3&pad=100000&delay=0", "output": "r"}}],
                "output": {"count": "{{r.body.length}}", "last": "{{r.body[2].chunk.data[0].n}}",
                           "size": "{{r.body[2].chunk.data[0].pad.length}}"}},
            "huge": {"name": "huge", "when": {"endpoint": True}, "do": [
                {"fetch": {"url": f"{server.url}/sse?n=2&pad=250000&delay=0", "output": "r"}}]},
            "big": {"name": "big", "when": {"endpoint": True}, "do": [
                {"fetch": {"url": f"{server.url}/sse?n=4", "output": "r"}}], "output": "{{r.body.length}}"},
        })))["id"]
        assert await _hook(stack, ws, "small") == 3
        # ~300 KB of chunks: above INLINE_VALUE_BYTES, the chunks travel by reference
        assert await _hook(stack, ws, "large") == {"count": 3, "last": 2, "size": 100_000}
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/big", json={})
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["error"] == "FetchError" and "FETCH_STREAM_MAX_CHUNKS" in error["message"]
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/huge", json={})
        assert response.status_code == 400 and "FETCH_STREAM_MAX_BYTES" in response.json()["message"]
