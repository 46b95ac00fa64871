"""Webhooks in and out (spec §2.3, docs/decisions.md "HTTP"): what an endpoint automation receives,
how endpoints are named, ``$http`` status/headers/chunks and where it applies, and ``/test``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine.helpers import Workspace, automation, hook
from tests.stack import Stack


def http(value: Any, name: str = "$http") -> dict[str, Any]:
    return {"set": {"name": name, "value": value}}


# Keeps a streaming run open a moment after its chunks, so the API's first poll reaches it (see
# test_engine_bug_a_fast_streaming_run_loses_its_chunks for what happens otherwise).
LINGER = {"wait": {"oneOf": [{"event": "never.sent"}], "timeout": 2}}


AUTOMATIONS: dict[str, dict[str, Any]] = {
    "inputs": hook([], {"method": "{{method}}", "query": "{{query}}", "headers": "{{headers}}", "body": "{{body}}",
                        "workspaceId": "{{workspaceId}}", "automationSlug": "{{automationSlug}}"}),
    "renamed": {"name": "renamed", "when": {"endpoint": "custom/path name"}, "do": [], "output": "renamed ran"},
    "no-endpoint": automation([], "not reachable by webhook"),
    "status-and-headers": hook([http({"status": 201, "headers": {"x-one": "1", "x-num": 2}}),
                                http({"x-two": "two"}, "$http.headers"), http(202, "$http.status")],
                               {"created": True}),
    "bad-status": hook([http("{{body.status}}", "$http.status")]),
    "bad-keepalive": hook([http("{{body.ms}}", "$http.sseKeepAlive")]),
    "bad-http-value": hook([http("{{body.v}}")]),
    "callee-sets-http": hook([{"sets-http": {}}], {"outer": True}),
    "sets-http": automation([http({"status": 500, "headers": {"x-inner": "yes"}}), http("c", "$http.chunk")]),
    "chunks": hook([http({"headers": {"x-stream": "on"}, "status": 206}),
                    http({"n": 1, "who": "{{body.who}}"}, "$http.chunk"), http("plain text", "$http.chunk"),
                    http([1, 2], "$http.chunk"), LINGER], "{{body.output}}"),
    "fast-chunks": hook([http({"n": 1}, "$http.chunk"), http({"n": 2}, "$http.chunk")], {"done": True}),
    "chunk-then-error": hook([http({"n": 1}, "$http.chunk"), LINGER, {"set": {"name": "", "value": 1}}]),
    "streamer-without-chunk": hook([{"conditions": {"{{body.chunk}}": [http(1, "$http.chunk")]}}],
                                   {"plain": True}),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {"name": slug, **a} for slug, a in AUTOMATIONS.items()})


def sse_data(text: str) -> list[Any]:
    return [json.loads(line[len("data: "):]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_every_method_reaches_the_endpoint(ws: Workspace, method: str) -> None:
    result = (await ws.call("inputs", {"k": 1}, method=method, params={"q": "v"})).ok()
    assert result["method"] == method and result["query"] == {"q": "v"}
    assert result["workspaceId"] == ws.id and result["automationSlug"] == "inputs"


async def test_inputs_of_an_endpoint_automation(ws: Workspace) -> None:
    call = await ws.call("inputs", {"k": [1, {"x": None}]}, params={"a": "1", "b": "two words"},
                         headers={"x-secret-internal": "dropped", "x-prismeai-workspace-id": "kept",
                                  "authorization": "Bearer whatever", "accept-language": "fr"})
    result = call.ok()
    assert result["body"] == {"k": [1, {"x": None}]}
    assert result["query"] == {"a": "1", "b": "two words"}
    headers = result["headers"]
    # x-* headers are dropped but x-prismeai-workspace-id; the Authorization header is data
    assert "x-secret-internal" not in headers and "x-correlation-id" not in headers
    assert headers["x-prismeai-workspace-id"] == "kept" and headers["accept-language"] == "fr"
    assert headers["authorization"] == "Bearer whatever" and "host" not in headers


async def test_a_json_array_body_is_spread_into_an_object(ws: Workspace) -> None:
    assert (await ws.run("inputs", ["a", {"b": 1}]))["body"] == {"0": "a", "1": {"b": 1}}


async def test_endpoint_names(ws: Workspace) -> None:
    assert await ws.run("custom%2Fpath%20name") == "renamed ran"  # the path segment is URL-decoded
    for unknown in ("renamed", "no-endpoint", "nothing-here"):
        body = (await ws.call(unknown)).error("ObjectNotFoundError", status=404)
        assert unknown in body["message"]


async def test_http_status_and_headers(ws: Workspace) -> None:
    call = await ws.call("status-and-headers")
    assert call.status == 202 and call.json() == {"created": True}
    assert call.response.headers["x-one"] == "1" and call.response.headers["x-num"] == "2"
    assert call.response.headers["x-two"] == "two"


@pytest.mark.parametrize(("slug", "body", "message"), [
    ("bad-status", {"status": 99}, "$http.status must be an HTTP status code"),
    ("bad-status", {"status": 600}, "$http.status must be an HTTP status code"),
    ("bad-status", {"status": "200"}, "$http.status must be an HTTP status code"),
    ("bad-status", {"status": True}, "$http.status must be an HTTP status code"),
    ("bad-keepalive", {"ms": 0}, "$http.sseKeepAlive must be a number of milliseconds"),
    ("bad-keepalive", {"ms": "soon"}, "$http.sseKeepAlive must be a number of milliseconds"),
    ("bad-http-value", {"v": "text"}, "$http expects an object"),
])
async def test_invalid_http_values(ws: Workspace, slug: str, body: dict[str, Any], message: str) -> None:
    error = (await ws.call(slug, body)).error("InvalidInstructionError")
    assert message in error["message"] and error["at"]["instruction"] == "do[0]"


async def test_http_is_ignored_outside_the_webhook_automation(ws: Workspace) -> None:
    call = await ws.call("callee-sets-http")
    assert call.status == 200 and call.json() == {"outer": True}
    assert "x-inner" not in call.response.headers
    assert call.response.headers["content-type"].startswith("application/json")


async def test_chunks_answer_server_sent_events_ending_with_the_output(ws: Workspace) -> None:
    call = await ws.call("chunks", {"who": "ann", "output": {"done": True}})
    assert call.status == 206
    assert call.response.headers["content-type"].startswith("text/event-stream")
    assert call.response.headers["x-stream"] == "on"
    assert sse_data(call.response.text) == [{"n": 1, "who": "ann"}, "plain text", [1, 2], {"done": True}]
    # an empty output is not sent as a last event
    call = await ws.call("chunks", {"who": "bob", "output": {}})
    assert sse_data(call.response.text) == [{"n": 1, "who": "bob"}, "plain text", [1, 2]]


async def test_an_error_after_the_first_chunk_is_the_last_event(ws: Workspace) -> None:
    call = await ws.call("chunk-then-error")
    data = sse_data(call.response.text)
    assert data[0] == {"n": 1}
    assert data[-1]["error"] == "InvalidInstructionError" and data[-1]["at"]["instruction"] == "do[2]"


async def test_a_streaming_automation_without_chunks_answers_plain_json(ws: Workspace) -> None:
    call = await ws.call("streamer-without-chunk", {"chunk": False})
    assert call.response.headers["content-type"].startswith("application/json")
    assert call.ok() == {"plain": True}


async def test_the_test_route_runs_any_automation_with_its_payload(ws: Workspace) -> None:
    response = await ws.test("no-endpoint")
    assert response.status_code == 200 and response.json() == "not reachable by webhook"
    response = await ws.test("inputs", {"method": "given", "body": {"b": 1}})
    assert response.json() == {"method": "given", "body": {"b": 1}}
    # $http does not apply outside a webhook
    response = await ws.test("status-and-headers")
    assert response.status_code == 200 and response.json() == {"created": True}
    assert "x-one" not in response.headers
    missing = await ws.test("nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "ObjectNotFoundError"


async def test_engine_bug_a_fast_streaming_run_loses_its_chunks(ws: Workspace) -> None:
    """A run that sets `$http.chunk` and ends at once often closes before the API's first
    `http_chunks` update reaches it; `StreamedRun.poll` (core/runs.py) then takes the refused
    update for "nothing more to stream" and the caller gets the plain JSON output: every chunk is
    lost, with the status and headers of a stream. Each of these calls must answer the stream."""
    answers = []
    for _ in range(8):
        call = await ws.call("fast-chunks")
        answers.append((call.response.headers["content-type"].split(";")[0], sse_data(call.response.text)))
    assert answers == [("text/event-stream", [{"n": 1}, {"n": 2}, {"done": True}])] * 8
