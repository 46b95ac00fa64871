"""Our own case for each *correct* fixture of the reference linter (prismeai/prismeai-mcp,
``linter/__tests__/sampleAutomations/correct/``, issue 17): each exercises the same constructs with
automations written here, imports without a warning and runs (calls to apps go to small apps this
module publishes, fetches to a local HTTP server). The incorrect fixtures are in
test_linter_incorrect.py; docs/compatibility.md, "The reference linter's fixtures", maps each
fixture to its test."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.api.helpers import unique_slug, workspace_doc
from tests.conformance.http_stub import HttpStub, free_port
from tests.engine.helpers import Workspace, automation, executed, hook, of_type
from tests.engine.linter_helpers import b64, import_document, loop, s, when
from tests.stack import Stack

FILES = {"chart.png": b"\x89PNG\r\n\x1a\n-not-really-a-chart", "notes.txt": b"low tide at 06:42", "empty.bin": b""}
CALLBACKS: list[dict[str, Any]] = []


async def serve_file(request: Request) -> Response:
    return Response(FILES[request.path_params["name"]], media_type="application/octet-stream")


async def callback(request: Request) -> JSONResponse:
    CALLBACKS.append({"headers": dict(request.headers), "body": await request.json()})
    return JSONResponse({"received": True})


APP = Starlette(routes=[Route("/files/{name}", serve_file), Route("/callback", callback, methods=["POST"])])


async def clean_workspace(stack: Stack, automations: dict[str, Any], **index: Any) -> Workspace:
    """Imports a correct workspace, which must draw no warning (every call resolves)."""
    status, body = await import_document(stack, workspace_doc(automations, **index))
    assert status == 200, body
    assert body.get("warnings", []) == [], body["warnings"]
    return Workspace(stack, body["workspace"]["id"], body["workspace"]["slug"])


async def publish(stack: Stack, automations: dict[str, Any]) -> str:
    slug = unique_slug("stub-app")
    source = await Workspace.create(stack, automations, name=slug)
    published = await stack.http.post("/v2/apps", json={"workspaceId": source.id, "slug": slug}, headers=stack.auth)
    assert published.status_code == 200, published.text
    return slug


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[HttpStub]:
    async with HttpStub([], app=APP) as stub:
        yield stub


# Stand-ins for the apps the fixtures call: a code runner that echoes what it was given, and a
# language model that asks for one tool call, then answers from the tool's result.
CODE_RUNNER = {"run": automation([], {"function": "{{function}}", "received": "{{parameters}}"}, name="run",
                                 arguments={"function": {"type": "string"}, "parameters": {"type": "object"}})}
MODEL = {"complete": automation([when("{{messages.length}} > 1", s("reply", {"choices": [
    {"message": {"content": "High tide: {{messages[2].content}}"}}]}), default=[s("reply", {"choices": [
        {"message": {"tool_calls": [{"id": "call-1", "function": {"name": "lookupTide",
                                                                   "arguments": '{"port": "Brest"}'}}]}}]})])],
    "{{reply}}", name="complete")}


@pytest.fixture(scope="module")
async def apps(sqlite_stack: Stack) -> dict[str, dict[str, str]]:
    return {"Custom Code": {"appSlug": await publish(sqlite_stack, CODE_RUNNER)},
            "llm": {"appSlug": await publish(sqlite_stack, MODEL)}}


# --- correct/buildPrompt.yml: budgets from dynamic config paths, nested conditions, `in`, batched
# loops that edit `item` and push, fetch in base64 into an indexed path, break all with a payload,
# delete of an indexed path, a call to an app's code runner, output into a nested path.
DIGEST = {
    "compose-digest": automation([
        {"comment": "budget: the model's window minus what the answer needs"},
        s("budget", 4000), s("reserve", 300),
        {"conditions": {"{{model}} && {{config.windows[{{model}}].size}}": [
            s("budget", "{{config.windows[{{model}}].size}}")],
            "{{overrides.budget}}": [s("budget", "{{overrides.budget}}")]}},
        when("{{overrides.reserve}}", s("reserve", "{{overrides.reserve}}")),
        s("budget", "{% {{budget}} - {{reserve}} %}"),
        when("{{withNotes}}", {"conditions": {"{{notes.items}}": [s("notes", "{{notes.items}}")],
                                              "!{{notes}}": [{"loadNotes": {"topic": "{{topic}}", "output": "notes"}}]}}),
        when("{{style.tone.length}} == 0 || {{style.tone}}", s("tone", "{{style.tone}}"),
             default=[s("tone", "{{config.defaultTone}}")]),
        s("wantsCharts", '{% "charts" in {{extras}} %}'),
        when("{{layout.charts}} || ({{layout.allowed}} && {{wantsCharts}})",
             {"addChartHint": {"tone": "{{tone}}", "force": "{{wantsCharts}}", "output": "tone"}}),
        s("files", []),
        loop("{{attachments.local}}", s("item.origin", "local"), s("files", "{{item}}", type="push"), batch={"size": 2}),
        loop("{{attachments.remote}}", s("item.origin", "remote"), s("files", "{{item}}", type="push"),
             batch={"size": 2}),
        loop("{{files}}", when('{{item.url}} and ({{item.origin}} = "remote" or {{item.kind}} = "image")',
                               {"fetch": {"url": "{{item.url}}", "outputMode": "base64",
                                          "prismeaiApiKey": {"name": "workspace"},
                                          "output": "files[{{$index}}].encoded"}},
                               when("!{{files[{{$index}}].encoded}}", {"break": {"scope": "all", "payload": {
                                   "errorKey": "unreadableAttachment", "url": "{{item.url}}"}}})),
             batch={"size": 2}),
        loop("{{history}}", s("turn", "{{$index}}"), s("msg", "{{item}}"),
             loop("{{msg.files}}", when("{{item.broken}}", {"delete": {"name": "history[{{turn}}].files[{{$index}}]"}}))),
        {"Custom Code.run": {"function": "assembleDigest", "output": "output", "parameters": {
            "notes": "{{notes}}", "tone": "{{tone}}", "files": "{{files}}", "budget": "{{budget}}",
            "history": "{{history}}"}}},
        when("{{output.error}}", {"break": {"scope": "all", "payload": {"errorKey": "assembleFailed"}}}),
        {"orderTurns": {"turns": "{{history}}", "output": "output.turns"}},
        s("output.reserve", "{{reserve}}"),
    ], "{{output}}", name="Digest/Compose", arguments={
        "model": {"type": "string"}, "withNotes": {"type": "boolean"}, "topic": {"type": "string"},
        "notes": {"type": "object", "description": "notes the caller already has",
                  "properties": {"items": {"type": "array"}}},
        "style": {"type": "object", "description": "tone and layout wishes"},
        "extras": {"type": "array", "items": {"type": "string"}},
        "attachments": {"type": "object", "properties": {
            side: {"type": "array", "items": {"type": "object", "properties": {"url": {"type": "string"}}}}
            for side in ("local", "remote")}},
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "text": {"type": "string", "description": "what was said"}, "files": {"type": "array"}}}}}),
    "loadNotes": automation([], ["note about {{topic}}"], name="loadNotes", arguments={"topic": {"type": "string"}}),
    "addChartHint": automation([], "{{tone}} (with charts)", name="addChartHint"),
    "orderTurns": automation([], {"count": "{{turns.length}}", "turns": "{{turns}}"}, name="orderTurns"),
}


@pytest.fixture(scope="module")
async def digest(sqlite_stack: Stack, apps: dict[str, Any]) -> Workspace:
    return await clean_workspace(sqlite_stack, DIGEST, imports=apps, config={"value": {
        "windows": {"small": {"size": 1200}}, "defaultTone": "plain"}})


async def test_correct_build_prompt(digest: Workspace, server: HttpStub) -> None:
    history = [{"text": "hi", "files": [{"name": "ok.txt"}, {"name": "torn.bin", "broken": True}]}]
    response = await digest.test("compose-digest", {
        "model": "small", "withNotes": True, "topic": "tides", "style": {"tone": "dry"},
        "extras": ["charts", "tables"], "layout": {"allowed": True}, "history": history,
        "attachments": {"local": [{"url": f"{server.url}/files/chart.png", "kind": "image"}],
                        "remote": [{"url": f"{server.url}/files/notes.txt", "kind": "text"}]}})
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["function"] == "assembleDigest" and out["reserve"] == 300
    got = out["received"]
    assert got["budget"] == 900 and got["notes"] == ["note about tides"] and got["tone"] == "dry (with charts)"
    assert [(f["origin"], f["encoded"]) for f in got["files"]] == [
        ("local", b64(FILES["chart.png"])), ("remote", b64(FILES["notes.txt"]))]
    assert got["history"][0]["files"] == [{"name": "ok.txt"}]
    assert out["turns"]["count"] == 1
    # An attachment that reads as nothing stops every caller with the payload.
    stopped = await digest.test("compose-digest", {"attachments": {"remote": [{"url": f"{server.url}/files/empty.bin"}]}})
    assert stopped.status_code == 200 and stopped.json() is None, stopped.text
    assert executed(await digest.events(), "compose-digest")[-1]["payload"]["break"] is True


# --- correct/callLLMWithTools.yml: a bounded loop (`until`) left by `break: {scope: repeat}`,
# tool definitions normalised while iterating an object, `name[]` appends, merge, delete, a call
# to a language-model app, tool calls parsed with unsafejson, counters under dynamic keys guarded
# by isNumber, date().ts timing, `in` on a comma list; localized, secret, enum and oneOf argument
# schemas with validateArguments: false.
AGENT = {
    "agent-loop": automation([
        {"comment": "1. describe the tools 2. ask the model 3. run the tools it asks for, or stop with its answer"},
        s("toolResults", []), s("counters", {}), s("calls", 0),
        when("!{{toolChoice}}", s("toolChoice", [])),
        s("maxCalls", "{% {{limits.maxCalls}} + ({{toolChoice.length}}) %}"),
        when("!{{maxCalls}}", s("maxCalls", 3)),
        s("maxRounds", "{% {{maxCalls}} + 1 %}"),
        {"repeat": {"until": "{{maxRounds}}", "do": [
            s("round", "{{$index}}"),
            when("{{calls}} >= {{maxRounds}}", {"break": {"scope": "repeat"}}),
            {"describeTools": {"output": "catalog"}},
            s("catalog.definitions", "{{extraTools}}", type="merge"),
            s("tools", []),
            loop("{{catalog.definitions}}",
                 when("!{{item.value.arguments.type}}", s("item.value.arguments", {
                     "type": "object", "properties": "{{item.value.arguments}}"})),
                 when("!{{item.value.arguments.properties}}", s("item.value.arguments.properties", {})),
                 s("tools[]", {"type": "function", "function": {
                     "name": "{{item.key}}", "parameters": "{{item.value.arguments}}",
                     "description": "{% {{item.value.description}} || {{item.value.prompt_detail}} %}"}})),
            when("{{toolChoice.length}} > 0", s("forced", {"type": "function", "function": {"name": "{{toolChoice[0]}}"}}),
                 default=[{"delete": {"name": "forced"}}]),
            s("started", "{% date({{run.date}}).ts %}"),
            {"llm.complete": {"messages": "{{messages}}", "tools": "{{tools}}", "forced": "{{forced}}",
                              "output": "result"}},
            s("toolCalls", []),
            loop("{{result.choices}}", when("{{item.message.tool_calls.length}} > 0",
                                            loop("{{item.message.tool_calls}}", s("toolCalls", "{{item}}", type="push")))),
            when("!{{toolCalls.length}}", s("output", {
                "answer": "{{result.choices[0].message.content}}", "rounds": "{% {{round}} + 1 %}",
                "toolResults": "{{toolResults}}", "counters": "{{counters}}", "tools": "{{tools}}",
                "timed": "{% date({{run.date}}).ts >= {{started}} %}"}), {"break": {"scope": "repeat"}}),
            loop("{{toolCalls}}",
                 s("calls", "{% {{calls}} + 1 %}"),
                 s("call", {"id": "{{item.function.name}}", "arguments": "{% unsafejson({{item.function.arguments}}) %}"}),
                 when("! isNumber({{counters[{{call.id}}]}})", s("counters[{{call.id}}]", 0)),
                 s("counters[{{call.id}}]", "{% {{counters[{{call.id}}]}} + 1 %}"),
                 {"runTool": {"tool": "{{call}}", "output": "toolOut"}},
                 s("toolResults", {"id": "{{call.id}}", "arguments": "{{call.arguments}}", "output": "{{toolOut}}"},
                   type="push"),
                 s("messages", {"role": "assistant", "tool_calls": ["{{item}}"]}, type="push"),
                 s("messages", {"role": "tool", "tool_call_id": "{{item.id}}", "content": "{{toolOut}}"}, type="push")),
        ]}},
        loop("{{toolResults}}", when('{{item.id}} in "lookupTide,lookupMoon"', s("usedLookup", True))),
        s("output.usedLookup", "{{usedLookup}}"),
    ], "{{output}}", name="Agent/Loop", validateArguments=False, arguments={
        "messages": {"type": "array", "items": {"type": "object", "properties": {
            "role": {"type": "string"}, "content": {"type": "string"}}}},
        "toolChoice": {},
        "limits": {"type": "object", "title": {"en": "Limits", "fr": "Limites"},
                   "description": {"en": "How many tools a request may call", "fr": "Combien d'outils appeler"},
                   "properties": {"maxCalls": {"type": "number", "title": {"en": "Max calls", "fr": "Appels max"}}}},
        "extraTools": {"type": "object", "additionalProperties": True},
        "credentials": {"type": "object", "additionalProperties": True, "properties": {
            "apiKey": {"type": "string", "secret": True}}},
        "mode": {"type": "string", "enum": ["fast", "careful"]},
        "scope": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}),
    "describeTools": automation([], {"definitions": {"lookupTide": {
        "description": "Tide times of a port", "arguments": {"port": {"type": "string"}}}}}, name="describeTools"),
    "runTool": automation([], "06:42 at {{tool.arguments.port}}", name="runTool"),
}


@pytest.fixture(scope="module")
async def agent(sqlite_stack: Stack, apps: dict[str, Any]) -> Workspace:
    return await clean_workspace(sqlite_stack, AGENT, imports=apps)


async def test_correct_call_llm_with_tools(agent: Workspace) -> None:
    response = await agent.test("agent-loop", {
        "messages": [{"role": "user", "content": "When is high tide in Brest?"}], "limits": {"maxCalls": 2},
        "mode": "fast", "scope": ["ports"], "credentials": {"apiKey": "sk-not-a-real-key"},
        "extraTools": {"moonPhase": {"prompt_detail": "Phase of the moon", "arguments": {
            "type": "object", "properties": {"day": {"type": "string"}}}},
            "sayHi": {"description": "Greets", "arguments": {"type": "object"}}}})
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["answer"] == "High tide: 06:42 at Brest" and out["rounds"] == 2 and out["timed"] is True
    assert out["toolResults"] == [{"id": "lookupTide", "arguments": {"port": "Brest"}, "output": "06:42 at Brest"}]
    assert out["counters"] == {"lookupTide": 1} and out["usedLookup"] is True
    assert [(t["function"]["name"], t["function"]["description"], t["function"]["parameters"]) for t in out["tools"]] == [
        ("lookupTide", "Tide times of a port", {"type": "object", "properties": {"port": {"type": "string"}}}),
        ("moonPhase", "Phase of the moon", {"type": "object", "properties": {"day": {"type": "string"}}}),
        ("sayHi", "Greets", {"type": "object", "properties": {}})]


# --- correct/deep-nesting.yml: conditions > repeat > all > (set, conditions > emit | default).
ROUTING = {
    "route-parcels": hook([
        s("handled", 0),
        when("{{body.enabled}}", loop("{{body.parcels}}", {"all": [
            s("handled", "{% {{handled}} + 1 %}"),
            when('{{item.kind}} == "fragile"', {"emit": {"event": "parcel.fragile", "payload": {"parcel": "{{item}}"}}},
                 default=[{"emit": {"event": "parcel.regular", "payload": {"parcel": "{{item}}"}}}])]}),
             default=[{"comment": "routing is switched off"}]),
    ], {"handled": "{{handled}}"}, name="Routing/Parcels"),
}


@pytest.fixture(scope="module")
async def routing(sqlite_stack: Stack) -> Workspace:
    return await clean_workspace(sqlite_stack, ROUTING)


async def test_correct_deep_nesting(routing: Workspace) -> None:
    parcels = [{"id": 1, "kind": "fragile"}, {"id": 2, "kind": "box"}, {"id": 3, "kind": "box"}]
    call = await routing.call("route-parcels", {"enabled": True, "parcels": parcels})
    assert call.ok() == {"handled": 3}
    events = await call.events()
    assert [e["payload"]["parcel"]["id"] for e in of_type(events, "parcel.fragile")] == [1]
    assert [e["payload"]["parcel"]["id"] for e in of_type(events, "parcel.regular")] == [2, 3]
    off = await routing.call("route-parcels", {"enabled": False, "parcels": parcels})
    assert off.ok() == {"handled": 0}
    assert of_type(await off.events(), "parcel.regular") == []


# --- correct/genericQuery.yml: writes under `run`, variables named from a list (`set name:
# '{{item}}'`, `body[{{item}}]`), break all with a payload, uuid(), sanitize(), try around a call
# to an automation whose slug has spaces with catch + break, isArray() and parenthesised
# conditions, merges, a call to the code runner into a nested output, `$http` status, a sleep
# (`wait: {timeout}`), then an emit or a POST callback; a callee with empty trigger lists.
TICKETS = {
    "answer-ticket": hook([
        s("run.marks.begin", "{{run.date}}"),
        s("fields", ["ticketId", "question", "tags", "callback", "requestId"]),
        loop("{{fields}}", when("{{body[{{item}}]}}", s("{{item}}", "{{body[{{item}}]}}"))),
        when("!{{ticketId}}", {"break": {"scope": "all", "payload": {
            "errorKey": "missingArgument", "values": {"argument": "ticketId"}}}}),
        when("!{{requestId}}", s("rid", "{% uuid() %}"), s("requestId", "req_{{rid}}")),
        s("question", "{% sanitize({{question}}) %}"),
        {"try": {"do": [{"Find Ticket": {"id": "{{ticketId}}", "output": "ticket"}}],
                 "catch": [s("output", {"error": "{{$error.error}}", "why": "{{$error.message}}"}), {"break": {}}]}},
        {"conditions": {"isArray({{tags}}) and {{ticket.tags}}": [s("tags", "{{ticket.tags}}", type="merge")],
                        "{{ticket.tags}}": [s("tags", "{{ticket.tags}}")]}},
        s("limits", {"perMinute": 5}), s("limits", "{{ticket.limits}}", type="merge"),
        when("({{limits.perMinute}} || {{limits.perHour}})",
             {"checkQuota": {"limits": "{{limits}}", "output": "quota"}},
             when("{{quota.error}} || !{{quota.ok}}", {"break": {"scope": "all", "payload": {"errorKey": "tooMany"}}})),
        when("(!{{ticket.priority}} and {{config.defaultPriority}}) or ({{ticket.priority}} > {{config.maxPriority}})",
             s("ticket.priority", "{{config.defaultPriority}}")),
        {"Custom Code.run": {"function": "countWords", "parameters": {"text": "{{question}}"}, "output": "stats.words"}},
        s("answers[]", "Ticket {{ticket.id}}: {{question}}"),
        s("output", {"requestId": "{{requestId}}", "tags": "{{tags}}", "priority": "{{ticket.priority}}",
                     "answers": "{{answers}}", "words": "{{stats.words}}", "quota": "{{quota}}"}),
        when("{{ticket.closed}}", s("$http", {"status": 409}), s("output.error", "Closed:{{ticket.id}}")),
        when('{{callback.url}} && {{callback.mode}} != "sse"', {"wait": {"timeout": 1}},
             when("{{callback.event}}", {"emit": {"event": "{{callback.event}}", "payload": {
                 "requestId": "{{requestId}}", "body": "{{output}}"}}},
                  default=[{"fetch": {"url": "{{callback.url}}", "method": "POST", "body": "{{output}}",
                                      "headers": {"x-callback-key": "{{callback.key}}"}}}])),
        s("run.marks.end", "{{run.date}}"),
        s("output.marks", "{{run.marks}}"),
    ], "{{output}}", name="Tickets/Answer"),
    "Find Ticket": automation([
        when("!{{config.tickets[{{id}}]}}", {"break": {"scope": "all", "payload": {
            "error": "TicketNotFound", "message": "no ticket {{id}}"}}}),
    ], "{{config.tickets[{{id}}]}}", name="Find Ticket", when={"events": [], "endpoint": False, "schedules": []},
        arguments={"id": {"type": "string", "title": {"en": "Ticket", "fr": "Ticket"},
                          "description": {"en": "Its id", "fr": "Son identifiant"}}}, validateArguments=False),
    "checkQuota": automation([], {"ok": True, "left": "{{limits.perHour}}"}, name="checkQuota"),
}


@pytest.fixture(scope="module")
async def tickets(sqlite_stack: Stack, apps: dict[str, Any]) -> Workspace:
    return await clean_workspace(sqlite_stack, TICKETS, imports=apps, config={"value": {
        "defaultPriority": 3, "maxPriority": 5,
        "tickets": {"T-1": {"id": "T-1", "tags": ["billing"], "priority": 9, "limits": {"perHour": 10}},
                    "T-2": {"id": "T-2", "closed": True}}}})


async def test_correct_generic_query(tickets: Workspace, server: HttpStub) -> None:
    CALLBACKS.clear()
    started = time.monotonic()
    out = await tickets.run("answer-ticket", {"ticketId": "T-1", "question": "Why was I billed twice", "tags": ["urgent"],
                                              "callback": {"url": f"{server.url}/callback", "key": "k-1"}})
    assert time.monotonic() - started >= 1.0  # the sleep before the callback
    assert re.fullmatch(r"req_[0-9a-f-]{36}", out["requestId"]), out["requestId"]
    assert out["tags"] == ["urgent", "billing"] and out["priority"] == 3 and out["quota"] == {"ok": True, "left": 10}
    assert out["answers"] == ["Ticket T-1: Why was I billed twice"]
    assert out["words"] == {"function": "countWords", "received": {"text": "Why was I billed twice"}}
    assert out["marks"]["begin"] and out["marks"]["end"] >= out["marks"]["begin"]
    [sent] = CALLBACKS
    assert sent["headers"]["x-callback-key"] == "k-1" and sent["body"]["requestId"] == out["requestId"]

    missing = await tickets.call("answer-ticket", {"question": "no ticket given"})
    assert missing.status == 200 and missing.json() is None, missing.response.text
    assert executed(await missing.events(), "answer-ticket")[0]["payload"]["break"] is True
    assert await tickets.run("answer-ticket", {"ticketId": "T-9", "question": "Where is it"}) == {"error": "TicketNotFound",
                                                                      "why": "no ticket T-9"}
    closed = await tickets.call("answer-ticket", {"ticketId": "T-2", "requestId": "r-2", "question": "Still open",
                                                  "callback": {"url": "unused", "event": "ticket.answered"}})
    assert closed.status == 409 and closed.json()["error"] == "Closed:T-2"
    [answered] = of_type(await closed.events(), "ticket.answered")
    assert answered["payload"]["requestId"] == "r-2" and answered["payload"]["body"]["error"] == "Closed:T-2"


# --- correct/try-catch-finally.yml: try { fetch } catch { emit } finally { set }.
def guarded(url: str) -> dict[str, Any]:
    return hook([{"try": {"do": [{"fetch": {"url": url, "output": "fetched"}}],
                          "catch": [{"emit": {"event": "download.failed", "payload": {"reason": "no answer"}}}],
                          "finally": [s("finished", True)]}}],
                {"finished": "{{finished}}", "fetched": "{{fetched}}"}, name="Guarded download")


async def test_correct_try_catch_finally(sqlite_stack: Stack, server: HttpStub) -> None:
    ws = await clean_workspace(sqlite_stack, {"guarded-down": guarded(f"http://127.0.0.1:{free_port()}/gone"),
                                              "guarded-up": guarded(f"{server.url}/files/notes.txt")})
    down = await ws.call("guarded-down", {})
    assert down.ok() == {"finished": True}
    [failed] = of_type(await down.events(), "download.failed")
    assert failed["payload"] == {"reason": "no answer"}
    up = await ws.call("guarded-up", {})
    assert up.ok()["finished"] is True and up.ok()["fetched"]
    assert of_type(await up.events(), "download.failed") == []
