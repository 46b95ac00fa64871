"""Runs you can see, search, re-run and cancel (issue 19, docs/runs.md) on the real stack: the step
trace of a 20-step run with a nested call, a loop and a failing fetch; the runs routes and their
filters; re-run after a fix; cancelling a waiting run (its ``finally`` runs); secrets kept out."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.api.helpers import workspace_doc
from tests.stack import Stack

REFUSED = "http://127.0.0.1:9/refused"  # nothing listens on the discard port: the fetch fails
SECRET = "s3cr3t-token-of-the-workspace"

HELPER = {"name": "helper", "arguments": {"n": {"type": "number"}},
          "do": [{"set": {"name": "doubled", "value": "{% {{n}} * 2 %}"}},
                 {"conditions": {"{{doubled}} > 2": [{"set": {"name": "big", "value": True}}],
                                 "default": [{"set": {"name": "big", "value": False}}]}},
                 {"comment": "two more steps"}, {"comment": "in the called automation"}],
          "output": {"doubled": "{{doubled}}", "big": "{{big}}"}}


def failing(url: str) -> dict[str, Any]:
    """20 steps run: sets, a loop of 3 × 2 steps, a call (5 steps inside), conditions, then the
    fetch that fails (the last instruction never runs)."""
    return {"name": "failing", "when": {"endpoint": True}, "do": [
        {"set": {"name": "a", "value": 1}},
        {"set": {"name": "items", "value": [1, 2, 3]}},
        {"repeat": {"on": "{{items}}", "do": [
            {"set": {"name": "last", "value": "{{item}}"}},
            {"comment": "iteration {{$index}}"}]}},
        {"helper": {"n": 2, "output": "called"}},
        {"conditions": {"{{called.big}}": [{"set": {"name": "ok", "value": True}}], "default": []}},
        {"emit": {"event": "before.fetch", "payload": {"a": "{{a}}"}}},
        {"set": {"name": "headers", "value": {"authorization": "Bearer {{config.token}}"}}},
        {"fetch": {"url": url, "headers": "{{headers}}", "output": "response"}},
        {"set": {"name": "never", "value": True}}],
        "output": "{{response}}"}


def doc(url: str = REFUSED, *, trace: str | None = None) -> dict[str, Any]:
    automation = failing(url)
    if trace is not None:
        automation["trace"] = trace
    waiting = {"name": "waiting", "when": {"endpoint": True}, "do": [
        {"try": {"do": [{"wait": {"oneOf": [{"event": "never.comes"}], "timeout": 600}}],
                 "finally": [{"emit": {"event": "cleanup.done", "payload": {"by": "finally"}}}]}}]}
    document = workspace_doc({"failing": automation, "helper": HELPER, "waiting": waiting},
                             config={"value": {"token": "{{secret.token}}"}})
    return document


async def runs(stack: Stack, ws: str, **params: Any) -> list[dict[str, Any]]:
    response = await stack.http.get(f"/v2/workspaces/{ws}/runs", params=params, headers=stack.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["result"]["runs"]
    return found


async def one_run(stack: Stack, ws: str, run_id: str) -> dict[str, Any]:
    response = await stack.http.get(f"/v2/workspaces/{ws}/runs/{run_id}", headers=stack.auth)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()["result"]["run"]
    return run


async def until(what: str, check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def with_secret(stack: Stack, document: dict[str, Any]) -> str:
    ws = str((await stack.import_workspace(document))["id"])
    response = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", headers=stack.auth,
                                      json={"token": {"value": SECRET}})
    assert response.status_code == 200, response.text
    return ws


async def test_a_failed_webhook_run_shows_every_step_and_is_found_by_status(stack: Stack) -> None:
    ws = await with_secret(stack, doc())
    hook = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/failing", json={"who": "ada"},
                                 headers={"authorization": "Bearer callers-own-token", "cookie": "sid=abc"})
    assert hook.status_code >= 400 and hook.json()["error"] == "FetchError", hook.text
    failed = await until("the failed run", lambda: runs(stack, ws, status="failed"))
    assert len(failed) == 1 and failed[0]["automation"] == "failing"
    assert failed[0]["trigger"] == {"type": "endpoint", "value": "failing"}
    assert failed[0]["error"]["error"] == "FetchError"
    run = await one_run(stack, ws, failed[0]["id"])
    steps = run["trace"]["steps"]
    paths = [(s["path"], s["instruction"], s["depth"], s.get("iteration"), s["outcome"]) for s in steps]
    assert paths == [
        ("do[0]", "set", 1, None, "ok"),
        ("do[1]", "set", 1, None, "ok"),
        ("do[2]", "repeat", 1, None, "ok"),
        *[step for i in range(3) for step in (("do[2].repeat.do[0]", "set", 1, i, "ok"),
                                              ("do[2].repeat.do[1]", "comment", 1, i, "ok"))],
        ("do[3]", "helper", 1, None, "ok"),
        ("do[0]", "set", 2, None, "ok"),
        ("do[1]", "conditions", 2, None, "ok"),
        ("do[1].conditions['{{doubled}} > 2'][0]", "set", 2, None, "ok"),
        ("do[2]", "comment", 2, None, "ok"),
        ("do[3]", "comment", 2, None, "ok"),
        ("do[4]", "conditions", 1, None, "ok"),
        ("do[4].conditions['{{called.big}}'][0]", "set", 1, None, "ok"),
        ("do[5]", "emit", 1, None, "ok"),
        ("do[6]", "set", 1, None, "ok"),
        ("do[7]", "fetch", 1, None, "error"),
    ]
    assert len(steps) == 20
    assert [s["automation"] for s in steps if s["depth"] == 2] == ["helper"] * 5
    fetch = steps[-1]
    assert fetch["error"]["error"] == "FetchError"
    assert all(s["start"] >= 0 and s["duration"] >= 0 for s in steps)
    assert [s["start"] for s in steps] == sorted(s["start"] for s in steps)
    # The input: body, query, headers without the caller's credentials; nothing secret anywhere.
    assert run["input"]["body"] == {"who": "ada"}
    assert "authorization" not in run["input"]["headers"] and "cookie" not in run["input"]["headers"]
    assert SECRET not in json.dumps(run)
    assert run["temporalUrl"].endswith("/history") and run["workflowId"].replace("/", "%2F") in run["temporalUrl"]
    # The error event links to the run.
    errors = await stack.events(ws, types="error")
    assert errors and errors[0]["source"]["workflowId"] == run["workflowId"] and errors[0]["source"]["runId"]


async def test_values_level_records_results_cut_and_redacted(stack: Stack) -> None:
    ws = await with_secret(stack, doc(trace="values"))
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/failing", json={"big": "x" * 5000})
    failed = await until("the failed run", lambda: runs(stack, ws, status="failed"))
    steps = (await one_run(stack, ws, failed[0]["id"]))["trace"]["steps"]
    assert steps[0]["value"] == {"name": "a", "value": 1}
    emitted = next(s for s in steps if s["instruction"] == "emit")
    assert emitted["value"]["type"] == "before.fetch" and emitted["value"]["id"]
    headers = next(s for s in steps if s["path"] == "do[6]")
    assert headers["value"]["value"]["authorization"] == "REDACTED"
    call = next(s for s in steps if s["instruction"] == "helper")
    assert call["value"] == {"doubled": 4, "big": True}


async def test_steps_off_and_run_listing_filters(stack: Stack) -> None:
    ws = await with_secret(stack, doc(trace="off"))
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/failing", json={})
    failed = await until("the failed run", lambda: runs(stack, ws, status="failed"))
    run = await one_run(stack, ws, failed[0]["id"])
    # `trace: off` is the automation's own: the automation it calls keeps its level.
    assert run["trace"]["level"] == "off" and {s["automation"] for s in run["trace"]["steps"]} == {"helper"}
    assert await runs(stack, ws, status="succeeded") == []
    assert await runs(stack, ws, automation="failing", triggerType="endpoint") == failed
    assert await runs(stack, ws, correlationId=failed[0]["correlationId"]) == failed
    assert await runs(stack, ws, afterDate="2999-01-01T00:00:00Z") == []
    bad = await stack.http.get(f"/v2/workspaces/{ws}/runs?status=lost&limit=0", headers=stack.auth)
    assert bad.status_code == 400
    assert "status" in bad.json()["message"] and "limit" in bad.json()["message"]
    missing = await stack.http.get(f"/v2/workspaces/{ws}/runs/{'0' * 32}", headers=stack.auth)
    assert missing.status_code == 404


async def test_rerun_after_fixing_the_automation_succeeds_and_is_linked(stack: Stack) -> None:
    ws = await with_secret(stack, doc())
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/failing", json={"who": "ada"})
    failed = (await until("the failed run", lambda: runs(stack, ws, status="failed")))[0]
    # Fixed: the failing fetch becomes a set.
    fixed = failing(REFUSED)
    fixed["do"][7] = {"set": {"name": "response", "value": {"fixed": "{{body.who}}"}}}
    put = await stack.http.patch(f"/v2/workspaces/{ws}/automations/failing", json=fixed, headers=stack.auth)
    assert put.status_code == 200, put.text
    again = await stack.http.post(f"/v2/workspaces/{ws}/runs/{failed['id']}/rerun", json={}, headers=stack.auth)
    assert again.status_code == 200, again.text
    assert again.json() == {"fixed": "ada"}  # answered like the webhook
    new_id = again.headers["x-tideway-run-id"]
    rerun = await until("the re-run's record", lambda: _ended(stack, ws, new_id))
    assert rerun["status"] == "succeeded" and rerun["rerunOf"] == failed["id"]
    assert rerun["userId"] != failed["userId"] or failed["userId"] is None
    original = await stack.http.post(f"/v2/workspaces/{ws}/runs/{failed['id']}/rerun",
                                     json={"definition": "original"}, headers=stack.auth)
    assert original.status_code >= 400 and original.json()["error"] == "FetchError"  # the old revision
    assert original.headers["x-tideway-run-id"] != new_id  # a failed re-run still names its run
    bad = await stack.http.post(f"/v2/workspaces/{ws}/runs/{failed['id']}/rerun", json={"definition": "latest"},
                                headers=stack.auth)
    assert bad.status_code == 400 and "definition" in bad.json()["message"]
    recorded = await stack.events(ws, types="runtime.runs.rerun")
    assert len(recorded) == 2 and recorded[0]["payload"]["runId"] == failed["id"]


async def _ended(stack: Stack, ws: str, run_id: str) -> dict[str, Any] | None:
    response = await stack.http.get(f"/v2/workspaces/{ws}/runs/{run_id}", headers=stack.auth)
    if response.status_code != 200:
        return None
    run: dict[str, Any] = response.json()["result"]["run"]
    return run if run["status"] in ("succeeded", "failed", "cancelled") else None


async def test_a_waiting_run_is_cancelled_and_its_finally_runs(stack: Stack) -> None:
    ws = await with_secret(stack, doc())
    call = asyncio.create_task(stack.http.post(f"/v2/workspaces/{ws}/webhooks/waiting", json={}))
    waiting = (await until("the waiting run", lambda: runs(stack, ws, status="waiting")))[0]
    live = await one_run(stack, ws, waiting["id"])
    assert [s["instruction"] for s in live["trace"]["steps"]] == ["try", "wait"]
    # The Temporal UI: a summary naming workspace, automation and trigger; the current step.
    handle = stack.services.client.get_workflow_handle(waiting["workflowId"])
    summary = await (await handle.describe()).static_summary()
    assert summary is not None and "waiting" in summary and "endpoint" in summary
    metadata = await handle.query("__temporal_workflow_metadata")
    assert "`do[0].try.do[0]` (wait)" in metadata.current_details
    assert (await handle.query("trace"))["steps"][-1]["path"] == "do[0].try.do[0]"
    cancelled = await stack.http.post(f"/v2/workspaces/{ws}/runs/{waiting['id']}/cancel", headers=stack.auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["result"]["run"]["status"] == "cancelled"
    answer = await asyncio.wait_for(call, 20)
    assert answer.status_code == 409 and answer.json()["error"] == "RunCancelledError"
    cleanup = await until("the finally block's event", lambda: stack.events(ws, types="cleanup.done"))
    assert cleanup[0]["payload"] == {"by": "finally"}
    run = await one_run(stack, ws, waiting["id"])
    assert run["status"] == "cancelled" and run["trace"]["steps"][1]["outcome"] == "cancelled"
    again = await stack.http.post(f"/v2/workspaces/{ws}/runs/{waiting['id']}/cancel", headers=stack.auth)
    assert again.status_code == 409
    assert await stack.events(ws, types="runtime.runs.cancelled")


async def test_reemit_sends_an_event_again_but_never_a_native_one(stack: Stack) -> None:
    listener = {"name": "onPing", "when": {"events": ["ping"]}, "do": [], "output": "{{payload}}"}
    ws = str((await stack.import_workspace(workspace_doc({"onPing": listener})))["id"])
    sent = await stack.http.post(f"/v2/workspaces/{ws}/events", headers=stack.auth,
                                 json={"events": [{"type": "ping", "payload": {"n": 1}}]})
    first = sent.json()["events"][0]
    await until("the listener run", lambda: runs(stack, ws, triggerType="event"))
    again = await stack.http.post(f"/v2/workspaces/{ws}/events/{first['id']}/reemit", headers=stack.auth)
    assert again.status_code == 200, again.text
    event = again.json()["result"]["event"]
    assert event["id"] != first["id"] and event["source"]["reemitOf"] == first["id"]
    assert event["payload"] == {"n": 1}
    listened = await until("two listener runs", lambda: _at_least(runs(stack, ws, triggerType="event"), 2))
    assert {r["status"] for r in listened} == {"succeeded"}
    executed = (await stack.events(ws, types="runtime.automations.executed"))[0]
    native = await stack.http.post(f"/v2/workspaces/{ws}/events/{executed['id']}/reemit", headers=stack.auth)
    assert native.status_code == 403 and "Native" in native.json()["message"]
    unknown = await stack.http.post(f"/v2/workspaces/{ws}/events/nope/reemit", headers=stack.auth)
    assert unknown.status_code == 404
    assert await stack.events(ws, types="runtime.events.reemitted")


async def _at_least(found: Any, count: int) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = await found
    return items if len(items) >= count else None


async def test_roles_on_the_runs_routes_and_no_reading_across_workspaces(stack: Stack) -> None:
    """Who may list, read, re-run and cancel runs: no token, anonymous, stranger (the owner of
    another workspace), editor, owner, superadmin. A run id of one workspace opens nothing
    through another workspace's path."""
    from tests.api.helpers import make_user

    owner, editor, stranger = [await make_user(stack, n) for n in ("owner", "editor", "stranger")]
    created = await stack.http.post("/v2/workspaces/import", json=doc(), headers={"authorization": owner["authorization"]})
    ws = created.json()["workspace"]["id"]
    other = await stack.http.post("/v2/workspaces/import", json=doc(),
                                  headers={"authorization": stranger["authorization"]})
    other_ws = other.json()["workspace"]["id"]
    await stack.http.post(f"/v2/workspaces/{ws}/permissions", json={"target": {"id": editor["id"]},
                          "permissions": {"role": "editor"}}, headers={"authorization": owner["authorization"]})
    await stack.http.post(f"/v2/workspaces/{ws}/webhooks/failing", json={"who": "ada"})
    run_id = (await until("the failed run", lambda: runs(stack, ws, status="failed")))[0]["id"]
    call = asyncio.create_task(stack.http.post(f"/v2/workspaces/{ws}/webhooks/waiting", json={}))
    waiting_id = (await until("the waiting run", lambda: runs(stack, ws, status="waiting")))[0]["id"]
    anonymous = (await stack.http.post("/v2/login/anonymous")).json()
    who = {"none": {}, "anonymous": {"authorization": f"Bearer {anonymous['token']}"},
           "stranger": {"authorization": stranger["authorization"]},
           "editor": {"authorization": editor["authorization"]}, "owner": {"authorization": owner["authorization"]},
           "superadmin": stack.auth}
    callers = ("none", "anonymous", "stranger", "editor", "owner", "superadmin")

    async def seen(caller: str) -> tuple[int, int]:
        listed = await stack.http.get(f"/v2/workspaces/{ws}/runs", headers=who[caller])
        count = len(listed.json()["result"]["runs"]) if listed.status_code == 200 else -1
        return listed.status_code, count

    # The list answers only what the caller may read: strangers and anonymous callers see nothing.
    got = {c: await seen(c) for c in callers}
    assert got == {"none": (401, -1), "anonymous": (200, 0), "stranger": (200, 0), "editor": (200, 2),
                   "owner": (200, 2), "superadmin": (200, 2)}, got
    base = f"/v2/workspaces/{ws}/runs/{run_id}"
    for method, path, body, statuses in (
            ("GET", base, None, (401, 404, 404, 200, 200, 200)),
            ("POST", f"{base}/rerun", {}, (401, 403, 403, 400, 400, 400)),  # it fails again: FetchError
    ):
        result = tuple([(await stack.http.request(method, path, json=body, headers=who[c])).status_code
                        for c in callers])
        assert result == statuses, (method, path, dict(zip(callers, result, strict=True)))
    # The stranger's own workspace path does not open the other workspace's run.
    assert (await stack.http.get(f"/v2/workspaces/{other_ws}/runs/{run_id}", headers=who["stranger"])).status_code == 404
    assert (await stack.http.post(f"/v2/workspaces/{other_ws}/runs/{waiting_id}/cancel",
                                  headers=who["stranger"])).status_code == 404
    for caller in ("none", "anonymous", "stranger"):
        refused = await stack.http.post(f"/v2/workspaces/{ws}/runs/{waiting_id}/cancel", headers=who[caller])
        assert refused.status_code in (401, 403), (caller, refused.text)
    assert (await one_run(stack, ws, waiting_id))["status"] == "waiting"  # a refused cancel changed nothing
    assert (await stack.http.post(f"/v2/workspaces/{ws}/runs/{waiting_id}/cancel",
                                  headers=who["editor"])).status_code == 200
    await asyncio.wait_for(call, 20)
