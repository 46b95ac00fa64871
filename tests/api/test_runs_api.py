"""Running automations over HTTP: webhooks, the test route, errors, events and Temporal visibility."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from schemas.search_attributes import AUTOMATION_SLUG, WORKSPACE_ID
from tests.api.helpers import ECHO, workspace_doc
from tests.stack import Stack, open_stack

CALLS = {
    "echo": ECHO,
    "status": {"name": "status", "when": {"endpoint": True},
               "do": [{"set": {"name": "$http", "value": {"status": 201, "headers": {"x-made-by": "tideway"}}}}],
               "output": 0},
    "callsMissing": {"name": "callsMissing", "when": {"endpoint": True}, "do": [{"comment": "x"}, {"ghost": {}}]},
    "typed": {"name": "typed", "validateArguments": True, "arguments": {"n": {"type": "number"}}, "do": [],
              "output": "{{n}}"},
    "callsTyped": {"name": "callsTyped", "when": {"endpoint": True},
                   "do": [{"typed": {"n": "{{body.n}}", "output": "r"}}], "output": "{{r}}"},
    "recurse": {"name": "recurse", "when": {"endpoint": True}, "do": [{"recurse": {}}]},
    "greet": {"name": "greet", "do": [{"emit": {"event": "greeted", "payload": {"who": "{{who}}"}}}],
              "output": "hi {{who}}"},
}


async def _workspace(stack: Stack) -> str:
    ws = await stack.import_workspace(workspace_doc(CALLS))
    return str(ws["id"])


async def test_webhook_runs_and_returns_the_output(stack: Stack) -> None:
    ws = await _workspace(stack)
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo?x=1", json={"a": [1, 2]},
                                     headers={"authorization": "Bearer foreign-token"})
    assert response.status_code == 200, response.text
    assert response.json() == {"body": {"a": [1, 2]}, "method": "POST", "query": {"x": "1"},
                               "auth": "Bearer foreign-token"}
    form = await stack.http.put(f"/v2/workspaces/{ws}/webhooks/echo", data={"f": "v"})
    assert form.json()["body"] == {"f": "v"} and form.json()["method"] == "PUT"


async def test_webhook_status_headers_and_falsy_output(stack: Stack) -> None:
    ws = await _workspace(stack)
    response = await stack.http.get(f"/v2/workspaces/{ws}/webhooks/status")
    assert response.status_code == 201
    assert response.headers["x-made-by"] == "tideway"
    assert response.json() == 0  # DECISIONS 12: falsy outputs are returned as they are


async def test_webhook_body_over_100kb_is_413(stack: Stack) -> None:
    ws = await _workspace(stack)
    big = {"blob": "x" * (101 * 1024)}
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json=big)
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLargeError"


async def test_malformed_json_body_is_400(stack: Stack) -> None:
    ws = await _workspace(stack)
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", content=b"{not json",
                                     headers={"content-type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.json()["message"]


async def test_unknown_endpoint_and_call_target_are_not_found(stack: Stack) -> None:
    ws = await _workspace(stack)
    unknown = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/nothing", json={})
    assert unknown.status_code == 404 and unknown.json()["error"] == "ObjectNotFoundError"
    missing = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/callsMissing", json={})
    body = missing.json()
    assert missing.status_code == 404 and body["error"] == "ObjectNotFoundError"
    assert "ghost" in body["message"] and "do[1]" in body["message"]
    assert body["details"]["slug"] == "ghost" and body["details"]["instruction"] == "do[1]"
    errors = await stack.events(ws, types="error")
    assert errors and errors[0]["payload"]["error"] == "ObjectNotFoundError"
    assert errors[0]["source"]["automationSlug"] == "callsMissing"


async def test_invalid_arguments_stop_the_chain(stack: Stack) -> None:
    ws = await _workspace(stack)
    bad = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/callsTyped", json={"n": "abc"})
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidArgumentsError"
    assert bad.json()["details"][0]["instancePath"] == "/n"
    good = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/callsTyped", json={"n": 3})
    assert good.json() == 3


async def test_call_depth_limit(stack: Stack) -> None:
    ws = await _workspace(stack)
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/recurse", json={})
    assert response.status_code == 400
    assert response.json()["error"] == "TooManyCallError" and response.json()["details"]["limit"] == 20


async def test_test_route_runs_with_payload_and_records_events(stack: Stack) -> None:
    ws = await _workspace(stack)
    response = await stack.http.post(f"/v2/workspaces/{ws}/test/greet", json={"payload": {"who": "Ada"}},
                                     headers=stack.auth)
    assert response.status_code == 200 and response.json() == "hi Ada"
    unauth = await stack.http.post(f"/v2/workspaces/{ws}/test/greet", json={"payload": {}})
    assert unauth.status_code == 401
    events = await stack.events(ws)
    types = [e["type"] for e in events]
    assert types[:3] == ["runtime.automations.executed", "greeted", "runtime.interactions.triggered"]
    executed = events[0]
    assert executed["payload"]["trigger"] == {"type": "test", "value": "greet"}
    assert executed["source"]["workflowId"].startswith(f"{ws}/greet/") and executed["source"]["runId"]
    correlation = executed["source"]["correlationId"]
    same_run = await stack.events(ws, **{"source.correlationId": correlation})
    assert {e["type"] for e in same_run} == {"runtime.automations.executed", "greeted",
                                             "runtime.interactions.triggered"}
    only = await stack.events(ws, types="greeted,error", limit=1)
    assert [e["type"] for e in only] == ["greeted"]


async def _listed(stack: Stack, query: str, expect: bool = True) -> list[str]:
    found: list[str] = []
    for _ in range(50 if expect else 10):  # visibility is eventually consistent
        found = [w.id async for w in stack.services.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    return found


async def test_runs_are_findable_by_workflow_id_prefix(stack: Stack) -> None:
    ws = await _workspace(stack)
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json={})
    found = await _listed(stack, f'WorkflowId STARTS_WITH "{ws}/echo/"')
    assert found and found[0].startswith(f"{ws}/echo/")
    # Search attributes are off unless RUN_SEARCH_ATTRIBUTES is set (core/infra/settings.py).
    assert await _listed(stack, f'{WORKSPACE_ID.name}="{ws}"', expect=False) == []


async def test_search_attributes_when_enabled(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with open_stack(temporal_env.client, f"sqlite:///{tmp_path / 'sa.db'}", "sqlite",
                          run_search_attributes=True) as stack:
        ws = str((await stack.import_workspace(workspace_doc({**CALLS, "onGreeted": {
            "name": "onGreeted", "when": {"events": ["greeted"]}, "do": []}})))["id"])
        response = await stack.http.post(f"/v2/workspaces/{ws}/test/greet", json={"payload": {"who": "Ada"}},
                                         headers=stack.auth)
        assert response.status_code == 200, response.text
        run = await _listed(stack, f'{WORKSPACE_ID.name}="{ws}" AND {AUTOMATION_SLUG.name}="greet"')
        assert run and run[0].startswith(f"{ws}/greet/")
        # A listener run started by the dispatch workflow carries them too.
        listener = await _listed(stack, f'{WORKSPACE_ID.name}="{ws}" AND {AUTOMATION_SLUG.name}="onGreeted"')
        assert listener and listener[0].startswith(f"{ws}/onGreeted/evt-")


async def test_expression_errors_fail_the_run_naming_the_instruction(stack: Stack) -> None:
    ws = await stack.import_workspace(workspace_doc({
        "broken": {"name": "broken", "when": {"endpoint": True},
                   # valid at import, failing when run: lower() of a number
                   "do": [{"set": {"name": "ok", "value": 1}}, {"set": {"name": "x", "value": "{% lower({{ok}}) %}"}}]}}))
    response = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/broken", json={})
    body = response.json()
    assert response.status_code == 400 and body["error"] == "InvalidExpressionSyntax"
    assert body["at"] == {"automation": "broken", "instruction": "do[1]"}
    errors = await stack.events(ws["id"], types="error")
    assert errors[0]["payload"]["error"] == "InvalidExpressionSyntax"
    assert errors[0]["payload"]["at"]["instruction"] == "do[1]"
